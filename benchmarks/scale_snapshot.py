"""Watches opened at once on a large registry: the daemon's memory and CPU for their snapshots.

Run: .venv/bin/python benchmarks/scale_snapshot.py [--records 100000] [--watchers 1,20,100]
     [--rounds 2] [--before-tree DIR] [--resume]

One registry-service (its own etcd member) on loopback holds --records records of ~350
bytes (written straight into etcd, as scale_records.py does). For each count of the
--watchers list, that many `watch_load.py` clients (real py-libp2p hosts, one connection
and one `/watch/0.1` from revision 0 each) connect at once, read their snapshot to
SYNCED, stay 2 s, and leave. Measured on the daemon: its peak RSS above the RSS before
they came (psutil, every 20 ms), its RSS 2 s after they left, its CPU, and the time
until every client had its snapshot. The baseline in the same run: with --before-tree
(another checkout, first on PYTHONPATH), the same daemon and data dir run from that tree,
alternating rounds; without it, the records' own JSON bytes. With --resume, each watch
resumes from the revision before the records were written (`SinceRevision`), as proxies
do after an instance restarts during a bulk update, and counts as served once it has
seen the revision of the last write.
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
from scale_records import PASSPHRASE, fill, record_name
from tree_rounds import PeakRss, trees_in_turn
from watch_load import WatchLoad

from application.client import ServiceNotFound
from domain import psk_from_passphrase
from domain.watch_wire import EventType
from entrypoints import library


@dataclass
class Opening:
    peak_mb: float  # above the RSS before the watchers came
    retained_mb: float  # 2 s after they left
    cpu_seconds: float
    served_seconds: float
    served: int


def open_watches(daemon: RegistryProcess, watchers: int, since: int = 0, until: int = 0
                 ) -> Opening:
    assert daemon.process is not None
    process = psutil.Process(daemon.process.pid)
    time.sleep(2)
    cpu_before, started = process.cpu_times(), time.monotonic()
    with PeakRss(daemon.process.pid) as rss:
        with WatchLoad(daemon.addrs[0], PASSPHRASE, watchers, since=since, until=until) as load:
            served_seconds = time.monotonic() - started
            served = load.start_status.served
            time.sleep(2)
        time.sleep(2)
    cpu_after = process.cpu_times()
    return Opening(
        peak_mb=rss.peak_mb, retained_mb=rss.now_mb(),
        cpu_seconds=cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system,
        served_seconds=served_seconds, served=served,
    )


def synced_revision(daemon: RegistryProcess) -> int:
    """The revision of the registry's state now (the SYNCED of a whole watch)."""

    async def read() -> int:
        async with library.watch_services(daemon.addrs, psk_from_passphrase(PASSPHRASE)) as events:
            async for event in events:
                if event.type is EventType.SYNCED:
                    return int(event.revision or 0)
        raise RuntimeError("the watch ended before SYNCED")

    return trio.run(read)


def wait_for_copy(daemon: RegistryProcess, records: int) -> None:
    """The copy applies changes in order: the last record seen means all of them."""
    psk, deadline = psk_from_passphrase(PASSPHRASE), time.monotonic() + 300
    while True:
        try:
            library.get_service_blocking(daemon.addrs, psk, record_name(records - 1))
            return
        except ServiceNotFound:
            assert time.monotonic() < deadline, "the daemon's copy did not catch up"
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--watchers", default="1,20,100")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before-tree", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    counts = [int(c) for c in args.watchers.split(",")]
    trees = {"this tree": None, "before": args.before_tree} if args.before_tree else {
        "this tree": None}
    results: dict[tuple[str, int], list[Opening]] = {}
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="scale-snapshot-") as work:
        daemon = RegistryProcess(Path(work) / "registry", passphrase=PASSPHRASE)
        try:
            daemon.start()
            since = synced_revision(daemon) if args.resume else 0
            json_bytes = fill(daemon, args.records)
            wait_for_copy(daemon, args.records)
            until = synced_revision(daemon) if args.resume else 0
            daemon.stop()
            print(f"{args.records} records, {json_bytes / 1e6:.1f} MB of names and InfoStrs",
                  flush=True)
            for name in trees_in_turn(daemon, trees, args.rounds,
                                      lambda: wait_for_copy(daemon, args.records)):
                for count in counts:
                    opening = open_watches(daemon, count, since, until)
                    results.setdefault((name, count), []).append(opening)
                    print(f"{name}, {count} watchers: {opening}", flush=True)
                loads.append(load_average())
        finally:
            daemon.stop()
    print(f"\nload average {loads[0]} before, {loads[-1]} after\n")
    print("| watchers at once | tree | peak RSS above before (MB) | retained 2 s after they "
          "left (MB) | daemon CPU per watcher (s) | until all had their snapshot (s) |")
    print("|---|---|---|---|---|---|")
    for count in counts:
        for name in trees:
            runs = results[(name, count)]
            print(f"| {count} | {name} | {_median(r.peak_mb for r in runs):.0f} "
                  f"| {_median(r.retained_mb for r in runs):.0f} "
                  f"| {_median(r.cpu_seconds / max(1, r.served) for r in runs):.2f} "
                  f"| {_median(r.served_seconds for r in runs):.1f} |")
        if args.before_tree:
            this, before = results[("this tree", count)], results[("before", count)]
            print(f"| {count} | this / before | "
                  f"{_median(r.peak_mb for r in this) / _median(r.peak_mb for r in before):.3f}x"
                  f" | | | |")
    print(f"\nrecords' JSON bytes: {json_bytes / 1e6:.1f} MB")


def _median(values: object) -> float:
    return statistics.median(list(values))  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
