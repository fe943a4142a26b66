"""Put -> all 1000 watchers, quiet and while a js client keeps 32 get streams busy.

Run: .venv/bin/python benchmarks/fanout_under_load.py [--watchers 1000] [--puts 10]

A 3-instance cluster; watch_load.py's clients all watch the first instance; puts one at a
time, each once the one before reached every client (bench_scale.put_latencies), first
with nothing else running, then while tests/integration/interop/get_rate.mjs keeps 32
`/get/0.1` streams busy on the same instance. For the tree before a change, run the same
command with PYTHONPATH=<that tree>. docs/deploy.md ("Capacity") quotes it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "integration"), str(ROOT)]

import bench_scale as bs  # noqa: E402
from watch_load import WatchLoad  # noqa: E402

from domain import ServiceInfo  # noqa: E402
from entrypoints import library  # noqa: E402


def busy_getter(addr: str, seconds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["node", "--import", "./polyfill.mjs", "get_rate.mjs", "--addr", addr, "--name", "svc",
         "--passphrase", bs.PASSPHRASE, "--streams", "32", "--seconds", str(seconds)],
        cwd=bs.INTEROP, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def summary(figures: dict[str, Any]) -> str:
    return (f"p50 {figures['p50']:.0f} / p99 {figures['p99']:.0f} / max {figures['max']:.0f} ms, "
            f"{figures['missing']} missing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--puts", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fanout-under-load-") as workdir:
        cluster = bs.Cluster(Path(workdir))
        try:
            instances = [cluster.add_instance() for _ in range(3)]
            process = instances[0].proc
            assert process.process is not None
            addr, pid = process.addrs[0], process.process.pid
            library.add_service_blocking([addr], bs._psk(), "svc",
                                         ServiceInfo(content_hash="Qm" + "x" * 44, cpu_req=1))
            with WatchLoad(addr, bs.PASSPHRASE, args.watchers) as load:
                time.sleep(2)
                quiet = bs.put_latencies(addr, pid, load, "quiet", puts=args.puts)
                getter = busy_getter(addr, 120)
                time.sleep(3)  # its connection and streams are up
                busy = bs.put_latencies(addr, pid, load, "busy", puts=args.puts)
                still_busy = getter.poll() is None
                getter.kill()
                getter.wait()
            if not still_busy:
                raise SystemExit("the js getter ended before the puts did: no load measured")
            print(f"{args.watchers} watchers, put ack -> event at every client "
                  f"({bs.load_text()}):")
            print(f"  quiet: {summary(quiet)}")
            print(f"  under 32 js get streams: {summary(busy)}")
        finally:
            cluster.stop_all()


if __name__ == "__main__":
    main()
