"""Soak: 100 000 short-lived clients against one registry-service (about 30 minutes).

Each client is a new node with a new peer id that connects, asks /get/0.1 and goes, as
the CLI, the library's ``*_service`` calls and Go proxies do. Every ``--every`` clients
it prints the daemon's RSS and open files, its peerstore and routing-table sizes and
open inbound connections (from its /metrics), and the get latency of that window. A
daemon that ran this should look like one that just started.

    .venv/bin/python benchmarks/soak_clients.py [--clients 100000] [--every 5000]
                                                [--concurrency 4]

Not a test: it takes half an hour. tests/integration/test_endurance.py is the CI-sized
version (2 000 + 200 + 500 clients).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from registry_process import RegistryProcess

from domain.psk import psk_from_passphrase
from entrypoints import library


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def figures(prom_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/metrics", timeout=5).read()
    return {
        name.removeprefix("registry_libp2p_"): float(value)
        for name, value in (line.split() for line in text.decode().splitlines()
                            if line.startswith("registry_libp2p_"))
    }


async def soak(proc: RegistryProcess, clients: int, every: int, concurrency: int) -> None:
    psk = psk_from_passphrase(proc.passphrase or "")
    await library.add_service(proc.addrs, psk, "soak", library.ServiceInfo(content_hash="QmSoak"))
    pid = proc.process.pid if proc.process else 0
    done = failed = 0
    window: list[float] = []
    started = time.monotonic()
    print("| clients | minutes | RSS MB | open files | peerstore | routing table | inbound "
          "| refused | failed | get p50 ms | get p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def report() -> None:
        f = figures(proc.prom_port)
        cuts = statistics.quantiles(window, n=100) if len(window) > 1 else [0.0] * 99
        print(f"| {done} | {(time.monotonic() - started) / 60:.1f} | {rss_mb(pid):.1f} "
              f"| {len(os.listdir(f'/proc/{pid}/fd'))} | {f['peerstore_peers']:.0f} "
              f"| {f['routing_table_peers']:.0f} | {f['inbound_connections']:.0f} "
              f"| {f['refused_connections_total']:.0f} | {failed} "
              f"| {statistics.median(window) * 1000:.1f} | {cuts[98] * 1000:.1f} |", flush=True)

    claimed = 0

    async def worker() -> None:
        nonlocal claimed, done, failed
        while claimed < clients:
            claimed += 1
            t = time.perf_counter()
            try:
                await library.get_service(proc.addrs, psk, "soak")
            except Exception as exc:
                failed += 1
                print(f"client {done} failed: {exc!r}"[:300], file=sys.stderr)
            window.append(time.perf_counter() - t)
            done += 1
            if done % every == 0:
                report()
                window.clear()

    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        proc = RegistryProcess(Path(workdir)).start()
        try:
            pid = proc.process.pid if proc.process else 0
            print(f"fresh daemon: RSS {rss_mb(pid):.1f} MB, "
                  f"{len(os.listdir(f'/proc/{pid}/fd'))} open files", flush=True)
            trio.run(soak, proc, args.clients, args.every, args.concurrency)
        finally:
            proc.stop()


if __name__ == "__main__":
    main()
