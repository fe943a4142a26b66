"""`/list/0.1` requests that come at once to a large registry: the daemon's memory and time.

Run: .venv/bin/python benchmarks/scale_lists.py [--records 100000] [--at-once 1,10,30]
     [--rounds 2] [--before-tree DIR]

One registry-service (its own etcd member) on loopback holds --records records of ~350
bytes (written straight into etcd, as scale_records.py does). One client process with
one connection sends that many `/list/0.1` requests at once and reads every answer (the
whole registry in one JSON object each; the client's request timeout is 10 s, as the
daemon's). Measured: how many were answered; on the daemon: its peak RSS above the
RSS before (psutil, every 20 ms), its RSS 2 s after, its CPU, and the time until the
last answer. The baseline in the same run: with --before-tree (another checkout, first
on PYTHONPATH), the same daemon and data dir run from that tree, alternating rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cold_process import load_average
from registry_process import RegistryProcess
from scale_records import MARKER, PASSPHRASE, fill
from scale_snapshot import wait_for_copy
from tree_rounds import PeakRss, trees_in_turn

from domain import ServiceInfo, psk_from_passphrase
from entrypoints import library


@dataclass
class Burst:
    peak_mb: float
    after_mb: float
    cpu_seconds: float
    seconds: float
    answered: int
    answer_mb: float


async def lists_at_once(addr: str, count: int) -> tuple[list[int], float]:
    async with library.registry_client([addr], psk_from_passphrase(PASSPHRASE)) as client:
        await client.request("/get/0.1", MARKER.encode())  # connected, provider found
        sizes: list[int] = []

        async def one() -> None:
            try:
                sizes.append(len(await client.request("/list/0.1", b"")))
            except Exception as exc:  # counted as not answered: the table says how many
                print(f"  a list failed: {str(exc)[:160]}", flush=True)

        started = time.monotonic()
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(one)
        return sizes, time.monotonic() - started


def burst(daemon: RegistryProcess, count: int) -> Burst:
    assert daemon.process is not None
    process = psutil.Process(daemon.process.pid)
    time.sleep(2)
    cpu_before = process.cpu_times()
    with PeakRss(daemon.process.pid) as rss:
        sizes, seconds = trio.run(lists_at_once, daemon.addrs[0], count)
        time.sleep(2)
    cpu_after = process.cpu_times()
    return Burst(
        peak_mb=rss.peak_mb, after_mb=rss.now_mb(),
        cpu_seconds=cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system,
        seconds=seconds, answered=len(sizes), answer_mb=max(sizes, default=0) / 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--at-once", default="1,10,30")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before-tree", type=Path)
    args = parser.parse_args()
    counts = [int(c) for c in args.at_once.split(",")]
    trees = {"this tree": None} | ({"before": args.before_tree} if args.before_tree else {})
    results: dict[tuple[str, int], list[Burst]] = {}
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="scale-lists-") as work:
        daemon = RegistryProcess(Path(work) / "registry", passphrase=PASSPHRASE)
        try:
            daemon.start()
            json_bytes = fill(daemon, args.records - 1)
            library.add_service_blocking(daemon.addrs, psk_from_passphrase(PASSPHRASE), MARKER,
                                         ServiceInfo(content_hash="Qm1"))
            wait_for_copy(daemon, args.records - 1)
            daemon.stop()
            print(f"{args.records} records, {json_bytes / 1e6:.1f} MB of names and InfoStrs",
                  flush=True)
            for name in trees_in_turn(daemon, trees, args.rounds,
                                      lambda: wait_for_copy(daemon, args.records - 1)):
                for count in counts:
                    result = burst(daemon, count)
                    results.setdefault((name, count), []).append(result)
                    print(f"{name}, {count} at once: {result}", flush=True)
                loads.append(load_average())
        finally:
            daemon.stop()
    print(f"\nload average {loads[0]} before, {loads[-1]} after\n")
    print("| lists at once | tree | answered | peak RSS above before (MB) | 2 s after (MB) "
          "| daemon CPU (s) | until the last answer (s) |")
    print("|---|---|---|---|---|---|---|")
    for count in counts:
        for name in trees:
            runs = results[(name, count)]
            print(f"| {count} | {name} | {min(r.answered for r in runs)} "
                  f"| {statistics.median(r.peak_mb for r in runs):.0f} "
                  f"| {statistics.median(r.after_mb for r in runs):.0f} "
                  f"| {statistics.median(r.cpu_seconds for r in runs):.1f} "
                  f"| {statistics.median(r.seconds for r in runs):.1f} |")


if __name__ == "__main__":
    main()
