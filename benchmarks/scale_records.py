"""A registry of 100 000 records of realistic size: memory, start, get and list, in one run.

Run: .venv/bin/python benchmarks/scale_records.py [--records 100000] [--starts 3] [--rounds 5]

One real registry-service (its own etcd member) on loopback:
  - idle: its RSS with one record (the baseline of "RSS above idle"), and its start to
    serving on that data dir (the baseline of the start with every record);
  - --records records (ServiceInfo JSON of ~350 bytes each) written straight into its
    etcd, then the daemon is stopped; every later start is on that data dir;
  - start to serving (the --addr-file written, after the in-memory copy loaded), --starts
    times, and the daemon's RSS after each start;
  - get: a whole `registry-cli get` process (cold), and in process through a kept-open
    client (warm) against a direct python-etcd3 get of the same key;
  - list in process: `/list/0.1` (one JSON object) and `/list/0.2` (pages) through a
    kept-open client, against a direct python-etcd3 range of every key;
  - list as a whole process: `registry-cli --json list` against `etcdctl get --prefix ""`
    on the same member, alternating rounds;
  - the daemon's RSS after all that.

``measure()`` returns the table's rows (name, result, baseline, ratio, goal, verdict);
``benchmarks/bench_scale.py`` prints them beside the other scale figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import etcd3
import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cold_process import alternate, load_average
from registry_process import VENV_BIN, RegistryProcess

from adapters.etcd.keyspace import ALL_KEYS
from application import client as use_cases
from application import paged_list_client
from application.client import ServiceNotFound
from domain import PerfInd, ServiceInfo, encode_service_info, psk_from_passphrase
from entrypoints import library
from entrypoints.common.local_etcd import local_etcd

PASSPHRASE = "scale records benchmark"
CLI = str(VENV_BIN / "registry-cli")
MARKER = "aaa-marker"  # the one record of the idle daemon, and the key every get asks for
TXN_OPS = 128  # etcd's default --max-txn-ops


@dataclass(frozen=True)
class Row:
    measure: str
    result: str
    baseline: str = "-"
    ratio: str = "-"
    goal: str = "report"
    verdict: str = "-"


def record_name(i: int) -> str:
    return f"site-{i % 97:02d}/sensor-gateway-{i:06d}"


def record_value(i: int) -> str:
    """A ServiceInfo as a real fleet writes it: ~350 bytes of JSON."""
    return encode_service_info(ServiceInfo(
        content_hash=f"QmZ{i:043d}",
        docker_hash=(f"registry.edge-site-{i % 97:04d}.fleet.example.internal:5000/"
                     f"fleet/sensor-gateway-{i:06d}@sha256:" + f"{i:064x}"),
        network_soft_req=PerfInd.from_millis(20 + i % 50),
        network_hard_req=PerfInd.from_millis(250),
        cpu_req=1 + i % 4, memory_req=64 * (1 + i % 8)))


def etcd_client(daemon: RegistryProcess) -> etcd3.Etcd3Client:
    """python-etcd3 on the daemon's own member: its client API is a unix socket."""
    host, port = member_client_url(daemon).rsplit(":", 1)
    # The whole registry in one answer is tens of MB; gRPC's default cap is 4 MB.
    return etcd3.client(host=host, port=int(port), timeout=60,
                        grpc_options=[("grpc.max_receive_message_length", 512 << 20)])


def member_client_url(daemon: RegistryProcess) -> str:
    member = local_etcd(etcd_ip=daemon.ip, etcd_client_port=daemon.etcd_client_port,
                        etcd_peer_port=daemon.etcd_peer_port, etcd_data_dir=daemon.data_dir)
    return member.client_url


def fill(daemon: RegistryProcess, count: int) -> int:
    """Write ``count`` records; return their JSON bytes (names + InfoStrs, UTF-8)."""
    client = etcd_client(daemon)
    size = 0
    try:
        for start in range(0, count, TXN_OPS):
            puts = []
            for i in range(start, min(count, start + TXN_OPS)):
                name, value = record_name(i), record_value(i)
                size += len(name.encode()) + len(value.encode())
                puts.append(client.transactions.put(name, value))
            client.transaction(compare=[], success=puts, failure=[])
    finally:
        client.close()
    return size


def rss_mb(daemon: RegistryProcess) -> float:
    assert daemon.process is not None
    return psutil.Process(daemon.process.pid).memory_info().rss / 1e6


def settled_rss(daemon: RegistryProcess, seconds: float = 2.0) -> float:
    time.sleep(seconds)  # let the start's allocations and the first DHT rounds settle
    return rss_mb(daemon)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def direct_gets(daemon: RegistryProcess, rounds: int) -> list[float]:
    client = etcd_client(daemon)
    try:
        client.get(MARKER)  # connects
        return [timed(lambda: client.get(MARKER)) for _ in range(rounds)]
    finally:
        client.close()


def direct_ranges(daemon: RegistryProcess, rounds: int, expected: int) -> list[float]:
    client = etcd_client(daemon)
    times = []
    try:
        client.get(MARKER)
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.kvstub.Range(etcd3.etcdrpc.RangeRequest(**ALL_KEYS), client.timeout)
            times.append(time.perf_counter() - started)
            assert len(response.kvs) == expected, len(response.kvs)
            del response
    finally:
        client.close()
    return times


async def in_process(addr: str, rounds: int, gets: int, expected: int) -> dict[str, list[float]]:
    """Warm gets, `/list/0.1` and `/list/0.2` through one kept-open client."""
    out: dict[str, list[float]] = {"get": [], "list/0.1": [], "list/0.2": []}
    async with library.registry_client([addr], psk_from_passphrase(PASSPHRASE)) as client:
        await use_cases.get_service(client, MARKER)  # finds the provider
        for _ in range(gets):
            started = time.perf_counter()
            await use_cases.get_service(client, MARKER)
            out["get"].append(time.perf_counter() - started)
        for _ in range(rounds):
            for name, call in (("list/0.1", use_cases.list_services),
                               ("list/0.2", paged_list_client.list_all)):
                started = time.perf_counter()
                entries = await call(client)
                out[name].append(time.perf_counter() - started)
                assert len(entries) == expected, (name, len(entries))
                del entries
    return out


def client_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}


def measure(records: int = 100_000, starts: int = 3, rounds: int = 5,
            say: Callable[[str], None] = print) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="scale-records-"))
    daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE)
    psk = psk_from_passphrase(PASSPHRASE)
    loads = [load_average()]
    try:
        say(f"load average before: {loads[0]}")
        daemon.start()
        library.add_service_blocking(daemon.addrs, psk, MARKER, ServiceInfo(content_hash="Qm1"))
        library.get_service_blocking(daemon.addrs, psk, MARKER)
        idle = settled_rss(daemon)
        daemon.stop()
        idle_starts = []
        for _ in range(starts):  # the same run's baseline: a start on a data dir of 1 record
            idle_starts.append(timed(daemon.start))
            daemon.stop()
        daemon.start()
        say(f"idle daemon (1 record): {idle:.1f} MB RSS, start to serving "
            f"{statistics.median(idle_starts):.2f} s; writing {records} records ...")
        fill_started = time.perf_counter()
        json_bytes = fill(daemon, records)
        say(f"  written in {time.perf_counter() - fill_started:.1f} s: "
            f"{json_bytes / 1e6:.1f} MB of names and InfoStrs")
        last = record_name(records - 1)
        deadline = time.monotonic() + 120
        while True:  # the copy applies changes in order: the last one seen means all
            try:
                library.get_service_blocking(daemon.addrs, psk, last)
                break
            except ServiceNotFound:
                assert time.monotonic() < deadline, "the daemon's copy did not catch up"
                time.sleep(0.5)
        filled = rss_mb(daemon)
        daemon.stop()
        start_times, start_rss = [], []
        for _ in range(starts):
            start_times.append(timed(daemon.start))
            start_rss.append(settled_rss(daemon))
            say(f"  start to serving {start_times[-1]:.2f} s; RSS {start_rss[-1]:.1f} MB")
            daemon.stop()
        daemon.start()
        addr, flags = daemon.addrs[0], [CLI, "--bootstrap", daemon.addrs[0], "--psk", PASSPHRASE]
        client_url = member_client_url(daemon)
        # etcdctl wants unix://<absolute path>:<port> where gRPC's form is unix:<path>:<port>.
        endpoint = "unix://" + client_url.removeprefix("unix:")
        etcdctl = ["etcdctl", "--endpoints", endpoint, "--command-timeout", "60s",
                   "get", "", "--prefix"]
        subprocess.run([*etcdctl[:-3], "endpoint", "health"], check=True,
                       capture_output=True, env={**os.environ, "ETCDCTL_API": "3"})
        cold = alternate({"registry-cli get": [*flags, "get", MARKER],
                          "registry-cli --json list": [*flags, "--json", "list"],
                          "etcdctl get --prefix": etcdctl}, rounds,
                         {**client_env(), "ETCDCTL_API": "3"})
        say(f"  cold: { {k: round(t.wall_median, 3) for k, t in cold.items()} }")
        inproc = trio.run(in_process, addr, rounds, 200, records + 1)
        say(f"  in process: { {k: round(statistics.median(v), 4) for k, v in inproc.items()} }")
        direct_get = direct_gets(daemon, 200)
        direct_range = direct_ranges(daemon, rounds, records + 1)
        after = rss_mb(daemon)
        loads.append(load_average())
        say(f"load average after: {loads[-1]}")
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    def ratio_row(measure: str, ours: float, base: float, base_name: str, goal: float | None,
                  ) -> Row:
        r = ours / base
        return Row(measure, ms(ours), f"{ms(base)} {base_name}", f"{r:.2f}x",
                   "report" if goal is None else f"≤ {goal:g}x",
                   "-" if goal is None else ("met" if r <= goal else "not met"))

    mb = json_bytes / 1e6
    rise = statistics.median(start_rss) - idle
    after_rise = after - idle
    load_note = f"load {loads[0]} -> {loads[-1]}"
    rows = [
        Row(f"records: {records}, names + InfoStrs", f"{mb:.1f} MB", goal=load_note),
        Row("daemon RSS idle (1 record) / filled through its watch",
            f"{idle:.1f} / {filled:.1f} MB"),
        Row("daemon RSS after a start on the data dir, above idle / records' bytes",
            f"{statistics.median(start_rss):.1f} MB (+{rise:.1f})", f"{mb:.1f} MB",
            f"{rise / mb:.2f}x", "≤ 2.5x", "met" if rise / mb <= 2.5 else "not met"),
        Row("daemon RSS after the gets and lists, above idle / records' bytes",
            f"{after:.1f} MB (+{after_rise:.1f})", f"{mb:.1f} MB", f"{after_rise / mb:.2f}x",
            "≤ 2.5x", "met" if after_rise / mb <= 2.5 else "not met"),
        Row("start to serving on that data dir (median; min-max) / on a data dir of 1 record",
            f"{statistics.median(start_times):.2f} s "
            f"({min(start_times):.2f}-{max(start_times):.2f})",
            f"{statistics.median(idle_starts):.2f} s "
            f"({min(idle_starts):.2f}-{max(idle_starts):.2f})",
            f"{statistics.median(start_times) / statistics.median(idle_starts):.2f}x", "≤ 5 s",
            "met" if statistics.median(start_times) <= 5 else "not met"),
        ratio_row("get, kept-open client (p50) / direct etcd get",
                  statistics.median(inproc["get"]), statistics.median(direct_get),
                  "python-etcd3", None),
        ratio_row("cold `registry-cli get` (whole process)",
                  cold["registry-cli get"].wall_median,
                  cold["etcdctl get --prefix"].wall_median, "etcdctl get --prefix", None),
        ratio_row("list in process, `/list/0.1` / direct etcd range",
                  statistics.median(inproc["list/0.1"]), statistics.median(direct_range),
                  "python-etcd3 range", 3),
        ratio_row("list in process, `/list/0.2` pages / direct etcd range",
                  statistics.median(inproc["list/0.2"]), statistics.median(direct_range),
                  "python-etcd3 range", 3),
        ratio_row("`registry-cli --json list` / `etcdctl get --prefix \"\"` (whole processes)",
                  cold["registry-cli --json list"].wall_median,
                  cold["etcdctl get --prefix"].wall_median, "etcdctl", None),
    ]
    return rows


def print_rows(rows: list[Row]) -> None:
    print("| measure | result | baseline | ratio | goal | verdict |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.measure} | {row.result} | {row.baseline} | {row.ratio} | {row.goal} "
              f"| {row.verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_rows(measure(args.records, args.starts, args.rounds))


def rows() -> list[dict[str, str]]:
    """For benchmarks/bench_scale.py: the whole measure at 100 000 records."""
    return [asdict(row) for row in measure()]


if __name__ == "__main__":
    main()
