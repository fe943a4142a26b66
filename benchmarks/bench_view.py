"""The registry view: lookup against get, put -> visible in 100 views, RSS of 10 000 records.

Run: .venv/bin/python benchmarks/bench_view.py [--records 10000] [--views 1,100]
     [--processes 1,100] [--adds 200]

Starts, in this run, a registry-service (own etcd member) holding --records records
(written straight into its etcd, 100 per transaction), then:
  1. lookup: ``view.lookup(name)`` of random names, against the baseline of the same
     run, ``get_service`` over a client kept open (one libp2p round trip each);
  2. RSS: a child process opens an empty view (prefix matching nothing: node, connection
     and watch code warm), then a view of the records over the same node; the rise in
     RSS against the records' JSON size (the InfoStr bytes, and with the names);
  3. put -> visible: --views views, each on its own libp2p node (as so many proxies),
     spread over child processes (--processes: one run for each count; 100 for 100 views
     is a process per proxy, as deployed); the parent adds records (add_if, acknowledged
     with their revision) one every --gap s; each view's change callback stamps
     CLOCK_MONOTONIC, which all processes share. Per view and per put (the last of the
     views), the views' CPU per change and their longest pauses of the cyclic GC.
The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_list import etcd_client
from registry_process import RegistryProcess

from application import client as use_cases
from application import conditional_client
from domain import PerfInd, ServiceInfo, encode_service_info, psk_from_passphrase
from entrypoints import library

PASSPHRASE = "benchmark passphrase"
PSK = psk_from_passphrase(PASSPHRASE)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fill_values(daemon: RegistryProcess, count: int) -> tuple[list[str], int]:
    """``count`` records of a typical size (~280 B: a CID, a docker digest, requirements);
    their names and the bytes of their JSON (InfoStr)."""
    client = etcd_client(daemon)
    names = [f"svc-{i:05d}" for i in range(count)]
    values = [encode_service_info(ServiceInfo(
        content_hash=f"QmView{i:06d}" + "y" * 40,
        docker_hash=f"127.0.0.1:5000/svc-{i}@sha256:{i:064x}",
        network_soft_req=PerfInd.from_millis(20 + i % 80),
        network_hard_req=PerfInd.from_millis(300), cpu_req=1 + i % 4,
        memory_req=128 * (1 + i % 8))) for i in range(count)]
    try:
        for start in range(0, count, 100):
            client.transaction(compare=[], success=[
                client.transactions.put(names[i], values[i])
                for i in range(start, min(count, start + 100))], failure=[])
    finally:
        client.close()
    return names, sum(len(v.encode()) for v in values)


# --- 1. lookup against get --------------------------------------------------------------


async def lookups_and_gets(addr: str, names: list[str], lookups: int, gets: int) -> dict:
    async with library.open_registry_view([addr], PSK, prefix="svc-") as view:
        assert len(view) == len(names), len(view)
        picks = [random.choice(names) for _ in range(lookups)]
        clock = time.perf_counter_ns
        times = []
        for name in picks:
            started = clock()
            view.lookup(name)
            times.append(clock() - started)
        started = clock()
        for name in picks:
            view.lookup(name)
        mean_batch = (clock() - started) / len(picks)
    get_times = []
    async with library.registry_client([addr], PSK) as client:
        await use_cases.get_service(client, names[0])  # finds the provider
        for name in random.sample(names, gets):
            started = time.perf_counter_ns()
            await use_cases.get_service(client, name)
            get_times.append(time.perf_counter_ns() - started)
    return {
        "lookup_p50_us": percentile(times, 0.5) / 1000,
        "lookup_p99_us": percentile(times, 0.99) / 1000,
        "lookup_mean_us_in_a_loop": mean_batch / 1000,
        "get_p50_us": percentile(get_times, 0.5) / 1000,
        "get_p99_us": percentile(get_times, 0.99) / 1000,
    }


# --- 2. RSS of a view ----------------------------------------------------------------------


async def rss_child(addr: str) -> None:
    me = psutil.Process()
    async with library.registry_client([addr], PSK) as client:
        host, routing = client.host, client.rendezvous
        async with library.open_registry_view_with_host_routing(
            host, routing, prefix="no-such-prefix-"
        ) as empty:
            assert len(empty) == 0
        gc.collect()
        await trio.sleep(0.5)
        before = me.memory_info().rss
        async with library.open_registry_view_with_host_routing(
            host, routing, prefix="svc-"
        ) as view:
            gc.collect()
            await trio.sleep(0.5)
            after = me.memory_info().rss
            names = view.names()
            held = sys.getsizeof(view._records) + sum(  # what the view's dict holds
                sys.getsizeof(n) + sys.getsizeof(view._records[n]) for n in names)
            print(json.dumps({"records": len(names), "rss_rise": after - before,
                              "name_bytes": sum(len(n.encode()) for n in names),
                              "python_objects": held}), flush=True)


# --- 3. put -> visible in N views ------------------------------------------------------------


def gc_pauses() -> list[float]:
    """The cyclic collector's pauses from now on, in ms (a list that fills in)."""
    pauses: list[float] = []
    started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(on_gc)
    return pauses


async def views_child(addr: str, views: int) -> None:
    """``views`` views, each on its own libp2p node (as ``views`` proxies would be),
    started 10 at a time."""
    arrivals: dict[int, list[float]] = {}

    def stamp(change: library.ViewChange) -> None:
        if change.name.startswith("bench-"):
            arrivals.setdefault(change.revision, []).append(time.monotonic())

    async def one_view(ready: trio.Semaphore) -> None:
        async with library.open_registry_view([addr], PSK, prefix="bench-") as view:
            view.on_change(stamp)
            ready.release()
            await trio.sleep_forever()

    ready = trio.Semaphore(0)
    async with trio.open_nursery() as nursery:
        for n in range(views):
            nursery.start_soon(one_view, ready)
            if n % 10 == 9:
                for _ in range(10):
                    await ready.acquire()
        for _ in range(views % 10):
            await ready.acquire()
        print("ready", flush=True)
        pauses = gc_pauses()
        cpu_start = time.process_time()
        await trio.to_thread.run_sync(sys.stdin.readline)
        quiet_since, seen = time.monotonic(), -1
        while time.monotonic() - quiet_since < 3:
            total = sum(len(v) for v in arrivals.values())
            if total != seen:
                quiet_since, seen = time.monotonic(), total
            await trio.sleep(0.2)
        print(json.dumps({str(k): v for k, v in arrivals.items()}), flush=True)
        print(json.dumps({"cpu_s": time.process_time() - cpu_start,
                          "gc_pauses_ms": sorted(pauses, reverse=True)[:5]}), flush=True)
        nursery.cancel_scope.cancel()


async def write_adds(addr: str, adds: int, gap: float) -> dict[int, float]:
    """revision -> monotonic time the add was acknowledged."""
    acked: dict[int, float] = {}
    async with library.registry_client([addr], PSK) as client:
        for n in range(adds):
            revision = await conditional_client.add_service_if(
                client, f"bench-{n}", ServiceInfo(content_hash=f"Qm{n}"), None)
            acked[revision] = time.monotonic()
            await trio.sleep(gap)
    return acked


def put_to_visible(addr: str, views: int, adds: int, gap: float, processes: int = 1) -> dict:
    """``views`` views spread over ``processes`` child processes (a proxy is a process of
    its own: one process of 100 nodes adds 100-250 ms pauses of the cyclic GC over its
    large heap, which a proxy's small one does not have)."""
    shares = [views // processes + (1 if i < views % processes else 0) for i in range(processes)]
    children = [subprocess.Popen(
        [sys.executable, __file__, "--views-child", addr, str(share)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for share in shares if share]
    arrivals: dict[int, list[float]] = {}
    child_cpu, pauses = 0.0, []
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        time.sleep(2)
        load_before = load()
        acked = trio.run(write_adds, addr, adds, gap)
        load_after = load()
        for child in children:
            assert child.stdout is not None and child.stdin is not None
            child.stdin.write("done\n")
            child.stdin.flush()
        for child in children:
            assert child.stdout is not None
            for k, v in json.loads(child.stdout.readline()).items():
                arrivals.setdefault(int(k), []).extend(v)
            figures = json.loads(child.stdout.readline())
            child_cpu += figures["cpu_s"]
            pauses += figures["gc_pauses_ms"]
    finally:
        for child in children:
            child.kill()
            child.wait(30)
    per_view, per_put, missing = [], [], 0
    for revision, at in acked.items():
        seen = arrivals.get(revision, [])
        missing += views - len(seen)
        per_view += [(t - at) * 1000 for t in seen]
        if len(seen) == views:
            per_put.append((max(seen) - at) * 1000)
    return {
        "per_view_p50_ms": percentile(per_view, 0.5), "per_view_p99_ms": percentile(per_view, 0.99),
        "all_views_p50_ms": percentile(per_put, 0.5), "all_views_p99_ms": percentile(per_put, 0.99),
        "missing": missing, "load_during": f"{load_before} -> {load_after}",
        "child_cpu_us_per_event_per_view": child_cpu * 1e6 / max(1, len(per_view)),
        "gc_pauses_ms": sorted(pauses, reverse=True)[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--views", default="1,100", help="view counts, comma-separated")
    parser.add_argument("--adds", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument("--processes", default="1,100",
                        help="the views' child processes, comma-separated (a run for each)")
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--gets", type=int, default=300)
    parser.add_argument("--rss-child", nargs=1)
    parser.add_argument("--views-child", nargs=2)
    args = parser.parse_args()
    if args.rss_child:
        trio.run(rss_child, args.rss_child[0])
        return
    if args.views_child:
        if os.environ.get("BENCH_VIEW_LOG"):
            import logging

            logging.basicConfig(level=logging.INFO, format="%(relativeCreated)d %(message)s")
            logging.getLogger("libp2p").setLevel(logging.WARNING)
        addr, views = args.views_child
        trio.run(views_child, addr, int(views))
        return
    print(f"load before: {load()}  (cores: {os.cpu_count()})", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-view-"))
    daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE).start()
    try:
        names, json_bytes = fill_values(daemon, args.records)
        addr = daemon.addrs[0]

        r = trio.run(lookups_and_gets, addr, names, args.lookups, args.gets)
        print(f"lookup in a view of {args.records} records: p50 {r['lookup_p50_us']:.2f} µs, "
              f"p99 {r['lookup_p99_us']:.2f} µs (mean in a tight loop "
              f"{r['lookup_mean_us_in_a_loop']:.2f} µs); baseline get over a kept-open client: "
              f"p50 {r['get_p50_us']:.0f} µs, p99 {r['get_p99_us']:.0f} µs; "
              f"x{r['get_p50_us'] / r['lookup_p50_us']:.0f} faster at p50; load {load()}",
              flush=True)

        out = subprocess.run([sys.executable, __file__, "--rss-child", addr],
                             capture_output=True, text=True, check=True, timeout=300)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = m["rss_rise"] / json_bytes
        print(f"RSS of a view of {m['records']} records: +{m['rss_rise'] / 1e6:.2f} MB; their "
              f"JSON (InfoStr) {json_bytes / 1e6:.2f} MB -> x{ratio:.2f}"
              f" (with the names {json_bytes + m['name_bytes']:,} B -> "
              f"x{m['rss_rise'] / (json_bytes + m['name_bytes']):.2f}); the Python objects "
              f"held (dict, names, packed records) {m['python_objects'] / 1e6:.2f} MB; "
              f"load {load()}",
              flush=True)

        for views in [int(v) for v in args.views.split(",")]:
            for processes in sorted({min(views, int(p)) for p in args.processes.split(",")}):
                put_and_report(addr, views, args.adds, args.gap, processes)
    finally:
        daemon.stop()
    print(f"load after: {load()}", flush=True)


def put_and_report(addr: str, views: int, adds: int, gap: float, processes: int) -> None:
    p = put_to_visible(addr, views, adds, gap, processes)
    print(f"put acknowledged -> visible, {views} views (a node each, in {processes} "
          f"process{'es' if processes > 1 else ''}), "
          f"{adds} adds one per {gap * 1000:.0f} ms: per view p50 "
          f"{p['per_view_p50_ms']:.1f} ms, p99 {p['per_view_p99_ms']:.1f} ms; in all "
          f"{views} views p50 {p['all_views_p50_ms']:.1f} ms, p99 "
          f"{p['all_views_p99_ms']:.1f} ms; missing {p['missing']}; the views' processes "
          f"spent {p['child_cpu_us_per_event_per_view']:.0f} µs of CPU per change per view, "
          f"their longest GC pauses {', '.join(f'{g:.0f}' for g in p['gc_pauses_ms'])} ms; "
          f"load {p['load_during']}", flush=True)


if __name__ == "__main__":
    main()
