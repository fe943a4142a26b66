"""A cold `registry-cli get` on a LAN: found by mDNS (no --bootstrap) against --bootstrap.

Run (as root: it makes network namespaces): .venv/bin/python benchmarks/bench_mdns_cli.py
[--rounds 8]

A registry-service --mdns in one namespace, the CLI in another on the same bridge
(tests/integration/mdns_lab.py). Medians of alternating rounds, wall clock and CPU.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cold_process import alternate, load_average
from mdns_lab import mdns_lab
from partition_cluster import NetnsRegistryProcess
from registry_process import VENV_BIN

PASSPHRASE = "benchmark passphrase"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-mdns-"))
    print(f"load average before: {load_average()}")
    try:
        with mdns_lab(2) as lab:
            server, client = lab.nodes
            daemon = NetnsRegistryProcess(
                work / "a", passphrase=PASSPHRASE, ip=server.ip, listen_port=4001,
                etcd_client_port=2379, etcd_peer_port=2380, prom_port=9102,
                extra_args=["--mdns"], netns=server.netns,
            ).start(timeout=120)
            try:
                cli = client.argv("env", "-i", "PATH=/usr/bin:/bin", "HOME=/tmp",
                                  str(VENV_BIN / "registry-cli"), "--psk", PASSPHRASE)
                timings = alternate({
                    "registry-cli --bootstrap ... list": [
                        *cli, "--bootstrap", daemon.addrs[0], "list"],
                    "registry-cli list (found by mDNS)": [*cli, "list"],
                }, args.rounds)
            finally:
                daemon.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {load_average()}")
    base = timings["registry-cli --bootstrap ... list"]
    print(f"\nmedians of {args.rounds} alternating rounds")
    for name, t in timings.items():
        print(f"{name:<40}{t.wall_median * 1000:>7.0f} ms wall {t.cpu_median * 1000:>6.0f} ms "
              f"CPU   {t.wall_median / base.wall_median:5.2f}x / "
              f"{t.cpu_median / base.cpu_median:5.2f}x --bootstrap")


if __name__ == "__main__":
    main()
