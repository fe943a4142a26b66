"""Cold start of registry-cli and registry-service against their baselines, in one run.

Run: .venv/bin/python benchmarks/bench_cold_start.py [--rounds 10] [--mb 200]

Whole processes, medians of alternating rounds (wall clock and CPU user+sys):
  - `registry-cli --help` / `--version` against `python -c 'import cyclopts'`
  - `registry-cli hash FILE` (FILE of --mb random bytes, page-cached) against `sha256sum FILE`
  - cold `registry-cli get`, `list`, `delete` against `python -c 'import libp2p'`,
    with a real registry-service (own etcd member) on loopback
  - `registry-service` start to serving (its --addr-file written), fresh data dir each time
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cold_process import Timings, alternate, load_average
from registry_process import VENV_BIN, RegistryProcess

PASSPHRASE = "benchmark passphrase"
NAME = "bench-service"
CLI = str(VENV_BIN / "registry-cli")
PY = sys.executable


def client_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}


def add_entry(daemon: RegistryProcess, name: str) -> None:
    from domain import PerfInd, ServiceInfo, psk_from_passphrase
    from entrypoints import library

    info = ServiceInfo(content_hash="Qm" + "x" * 44, docker_hash="127.0.0.1:5000/b@sha256:"
                       + "a" * 64, network_soft_req=PerfInd.from_millis(100), cpu_req=1,
                       memory_req=64)
    library.add_service_blocking(daemon.addrs, psk_from_passphrase(PASSPHRASE), name, info)


def service_starts(work: Path, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        daemon = RegistryProcess(work / f"start-{i}", passphrase=PASSPHRASE).start()
        times.append(time.perf_counter() - started)
        daemon.stop()
    return times


def line(name: str, t: Timings, base: Timings | None, base_name: str) -> str:
    text = f"{name:<44}{t.wall_median * 1000:>8.0f} ms wall {t.cpu_median * 1000:>7.0f} ms CPU"
    if base is not None:
        wall = t.wall_median / base.wall_median
        cpu = t.cpu_median / base.cpu_median
        text += f"   {wall:5.2f}x / {cpu:5.2f}x {base_name}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--service-starts", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    daemon: RegistryProcess | None = None
    try:
        print(f"load average before: {load_average()}")
        big = work / "big.bin"
        with big.open("wb") as f:
            for _ in range(args.mb):
                f.write(os.urandom(1_000_000))
        big.read_bytes()  # into the page cache
        light = alternate({
            "python -c pass": [PY, "-c", "pass"],
            "python -c 'import cyclopts'": [PY, "-c", "import cyclopts"],
            "registry-cli --help": [CLI, "--help"],
            "registry-cli --version": [CLI, "--version"],
            f"sha256sum ({args.mb} MB)": ["sha256sum", str(big)],
            f"registry-cli hash ({args.mb} MB)": [CLI, "hash", str(big)],
        }, args.rounds)
        starts = service_starts(work, args.service_starts)
        daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE).start()
        add_entry(daemon, NAME)
        flags = [CLI, "--bootstrap", daemon.addrs[0], "--psk", PASSPHRASE]
        victim = "bench-delete-me"
        client = alternate({
            "python -c 'import libp2p'": [PY, "-c", "import libp2p"],
            "registry-cli get": [*flags, "get", NAME],
            "registry-cli list": [*flags, "list"],
            "registry-cli delete": [*flags, "delete", victim],
        }, args.rounds, client_env(), before={"registry-cli delete": lambda: add_entry(
            daemon, victim)})  # type: ignore[arg-type]
        print(f"load average after: {load_average()}")
    finally:
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)

    cy = light["python -c 'import cyclopts'"]
    sha = light[f"sha256sum ({args.mb} MB)"]
    floor = client["python -c 'import libp2p'"]
    print(f"\nmedians of {args.rounds} alternating rounds")
    for name, t in light.items():
        base, base_name = (sha, "sha256sum") if "MB" in name else (cy, "import cyclopts")
        print(line(name, t, base, base_name))
    for name, t in client.items():
        print(line(name, t, floor, "import libp2p"))
    print(f"registry-service start to serving: median {statistics.median(starts):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in starts)})")
    ours = light[f"registry-cli hash ({args.mb} MB)"]
    help_ = light["registry-cli --help"]
    print("\ngoals (wall medians):")
    print(f"  --help <= 1.5x import cyclopts: {help_.wall_median / cy.wall_median:.2f}x "
          f"{'met' if help_.wall_median <= 1.5 * cy.wall_median else 'not met'}")
    speed = sha.wall_median / ours.wall_median
    print(f"  hash >= 1.5x as fast as sha256sum: {speed:.2f}x "
          f"{'met' if speed >= 1.5 else 'not met'}")
    for cmd in ("get", "list", "delete"):
        r = client[f"registry-cli {cmd}"].wall_median / floor.wall_median
        print(f"  cold {cmd} <= 0.6x import libp2p: {r:.2f}x {'met' if r <= 0.6 else 'not met'}")


if __name__ == "__main__":
    main()
