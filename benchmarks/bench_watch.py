"""Watch fan-out: add-ack -> event latency at 1, 100, 1000 watchers; RSS per idle watcher; events/s.

Run: .venv/bin/python benchmarks/bench_watch.py [--adds N] [--counts 1,100,1000]
Starts, in this run: a registry-service (own etcd member). Watchers live in a child
process (its own libp2p node, one stream each, all on one connection), so that
reading N copies of each event does not slow the writer. Both processes stamp
times with CLOCK_MONOTONIC, which they share.
Baselines, measured in the same run:
  - latency: etcd's own watch, seen from Python (put acknowledged -> watch event);
  - events/s: the adds/s the same writer reaches with no watcher at all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from registry_process import RegistryProcess

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.local_client import local_client_url
from adapters.etcd.watch_stream import etcd_watch
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from domain import ServiceInfo, encode_service_info, parse_bootstrap, psk_from_passphrase
from domain.cluster import EtcdEndpoint
from domain.revision_wire import ADD_IF_PROTOCOL, AddIfRequest, WriteResult
from domain.watch_wire import WATCH_PROTOCOL, WatchEvent
from domain.wire import encode

PASSPHRASE = "benchmark passphrase"
INFO_STR = encode_service_info(ServiceInfo(content_hash="Qm" + "x" * 44, cpu_req=1))


async def _node(addr: str):  # type: ignore[no-untyped-def]
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(PASSPHRASE),
                            dht_server=False)
    return running_node(settings), parse_bootstrap(addr)


# --- child: the watchers ---------------------------------------------------------------


async def watchers_child(addr: str, count: int) -> None:
    from libp2p.custom_types import TProtocol
    from libp2p.peer.id import ID

    context, boot = await _node(addr)
    arrivals: dict[int, list[float]] = {}
    ended = {"ERROR": 0, "closed": 0}
    decoder = msgspec.json.Decoder(WatchEvent)
    async with context as node:
        assert not await connect_bootstraps(node, [boot], 10)
        peer = ID.from_base58(boot.peer_id)

        async def one(stream) -> None:  # type: ignore[no-untyped-def]
            buffer = b""
            while True:
                try:
                    chunk = await stream.read(65536)
                except Exception:
                    chunk = b""
                if not chunk:
                    ended["closed"] += 1
                    return
                now = time.monotonic()
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = decoder.decode(line)
                    if event.type == "PUT" and event.name and event.name.startswith("bench-"):
                        arrivals.setdefault(event.revision or 0, []).append(now)
                    elif event.type == "ERROR":
                        ended["ERROR"] += 1

        async with trio.open_nursery() as nursery:
            for _ in range(count):
                stream = await node.host.new_stream(peer, [TProtocol(WATCH_PROTOCOL)])
                await stream.write(b'{"Prefix":"bench-"}')
                await stream.close_write()
                nursery.start_soon(one, stream)
            print("ready", flush=True)
            await trio.to_thread.run_sync(sys.stdin.readline)  # until the parent is done
            # Then until deliveries stop (a loaded machine delivers late, not never).
            quiet_since, seen = time.monotonic(), -1
            while time.monotonic() - quiet_since < 3 and time.monotonic() - quiet_since < 120:
                total = sum(len(v) for v in arrivals.values())
                if total != seen:
                    quiet_since, seen = time.monotonic(), total
                await trio.sleep(0.2)
            print(json.dumps({str(k): v for k, v in arrivals.items()}), flush=True)
            print(json.dumps(ended), flush=True)
            nursery.cancel_scope.cancel()


# --- parent: writer and measurements ------------------------------------------------------


async def write_adds(addr: str, adds: int, gap: float, concurrency: int = 1) -> dict[int, tuple]:
    """Add ``adds`` records; returns revision -> (sent, acknowledged) monotonic times."""
    from libp2p.custom_types import TProtocol
    from libp2p.peer.id import ID

    from adapters.libp2p.stream_io import read_to_end

    context, boot = await _node(addr)
    stamps: dict[int, tuple] = {}
    async with context as node:
        assert not await connect_bootstraps(node, [boot], 10)
        peer = ID.from_base58(boot.peer_id)

        async def add(n: int) -> None:
            payload = encode(AddIfRequest(name=f"bench-{n}", info_str=INFO_STR))
            sent = time.monotonic()
            stream = await node.host.new_stream(peer, [TProtocol(ADD_IF_PROTOCOL)])
            await stream.write(payload)
            await stream.close_write()
            reply = await read_to_end(stream, 1 << 20)
            acked = time.monotonic()
            await stream.close()
            stamps[msgspec.json.decode(reply, type=WriteResult).revision] = (sent, acked)

        counter = iter(range(adds))

        async def worker() -> None:
            for n in counter:
                await add(n)
                if gap:
                    await trio.sleep(gap)

        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
    return stamps


async def etcd_baseline(client_url: str, adds: int, gap: float) -> list[float]:
    """put acknowledged -> the same put seen by an etcd watch, from Python (ms)."""
    from etcd3 import etcdrpc

    connection = EtcdConnection(client_url)
    latencies: list[float] = []
    create = etcdrpc.WatchCreateRequest(key=b"etcd-bench", range_end=b"etcd-benci")
    try:
        async with etcd_watch(connection, create) as responses:
            it = responses.__aiter__()
            await it.__anext__()  # created
            for n in range(adds):
                request = etcdrpc.PutRequest(key=f"etcd-bench{n}".encode(), value=INFO_STR.encode())
                await connection.call(connection.kv.Put, request)
                acked = time.monotonic()
                await it.__anext__()
                latencies.append((time.monotonic() - acked) * 1000)
                await trio.sleep(gap)
    finally:
        connection.close()
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def measure(addr: str, pid: int, count: int, adds: int, gap: float) -> dict:
    proc = psutil.Process(pid)
    time.sleep(1)
    rss_before = proc.memory_info().rss
    child = subprocess.Popen([sys.executable, __file__, "--child", addr, str(count)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(2)
    rss_idle = proc.memory_info().rss
    cpu_before = sum(proc.cpu_times()[:2])
    stamps = trio.run(write_adds, addr, adds, gap)
    time.sleep(1)
    burst_started = time.monotonic()
    burst = trio.run(write_adds, addr, adds, 0.0, 8)
    burst_acked = time.monotonic()
    time.sleep(2)
    child.stdin.write("done\n")
    child.stdin.flush()
    cpu_spent = sum(proc.cpu_times()[:2]) - cpu_before
    arrivals = {int(k): v for k, v in json.loads(child.stdout.readline()).items()}
    ended = json.loads(child.stdout.readline())
    child.wait(30)
    from_ack, from_send, lost = [], [], 0
    for revision, (sent, acked) in stamps.items():
        seen = arrivals.get(revision, [])
        lost += count - len(seen)
        from_ack += [(t - acked) * 1000 for t in seen]
        from_send += [(t - sent) * 1000 for t in seen]
    burst_events = sum(len(arrivals.get(r, [])) for r in burst)
    burst_last = max((t for r in burst for t in arrivals.get(r, [])), default=burst_acked)
    return {
        "watchers": count,
        "p50_ms_from_ack": percentile(from_ack, 0.5), "p99_ms_from_ack": percentile(from_ack, 0.99),
        "p50_ms_from_send": percentile(from_send, 0.5),
        "p99_ms_from_send": percentile(from_send, 0.99),
        "lost": lost + (len(burst) * count - burst_events),
        # Less load-dependent: the daemon's CPU per add (its etcd write, the fan-out).
        "daemon_cpu_ms_per_add": cpu_spent * 1000 / (len(stamps) + len(burst)),
        "watchers_ended": ended,
        "load_average": psutil.getloadavg()[0],
        "rss_per_idle_watcher_bytes": (rss_idle - rss_before) / count,
        "burst_adds_per_s": len(burst) / (burst_acked - burst_started),
        "events_per_s": burst_events / (burst_last - burst_started),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adds", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument("--counts", default="1,100,1000")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        trio.run(watchers_child, args.child[0], int(args.child[1]))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE).start()
    assert daemon.process is not None
    fanout = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fanout_server.py")),
                               PASSPHRASE], stdout=subprocess.PIPE, text=True)
    assert fanout.stdout is not None
    fanout_addr = fanout.stdout.readline().strip()
    try:
        endpoint = EtcdEndpoint(ip=daemon.ip, client_port=daemon.etcd_client_port,
                                peer_port=daemon.etcd_peer_port)
        client_url = local_client_url(endpoint, daemon.data_dir)
        etcd = trio.run(etcd_baseline, client_url, args.adds, args.gap)
        base = {"p50": percentile(etcd, 0.5), "p99": percentile(etcd, 0.99)}
        print(f"baseline etcd watch (put ack -> event, Python client): "
              f"p50 {base['p50']:.2f} ms, p99 {base['p99']:.2f} ms")
        no_watchers_started = time.monotonic()
        alone = trio.run(write_adds, daemon.addrs[0], args.adds, 0.0, 8)
        adds_alone = len(alone) / (time.monotonic() - no_watchers_started)
        print(f"baseline adds/s with no watcher (8 concurrent writers): {adds_alone:.0f}")
        for count in [int(c) for c in args.counts.split(",")]:
            b = measure(fanout_addr, fanout.pid, count, args.adds, args.gap)
            print(
                f"{count:5d} watchers, bare py-libp2p fan-out: from ack p50 "
                f"{b['p50_ms_from_ack']:.2f} ms, p99 {b['p99_ms_from_ack']:.2f} ms; from send p50 "
                f"{b['p50_ms_from_send']:.2f} p99 {b['p99_ms_from_send']:.2f} ms; "
                f"{b['events_per_s']:.0f} events/s; CPU {b['daemon_cpu_ms_per_add']:.1f} ms "
                f"per add; lost {b['lost']}", flush=True)
            r = measure(daemon.addrs[0], daemon.process.pid, count, args.adds, args.gap)
            print(
                f"{count:5d} watchers: from ack p50 {r['p50_ms_from_ack']:.2f} ms "
                f"(x{r['p50_ms_from_ack'] / base['p50']:.1f} etcd), "
                f"p99 {r['p99_ms_from_ack']:.2f} ms "
                f"(x{r['p99_ms_from_ack'] / base['p99']:.1f}); from send p50 "
                f"{r['p50_ms_from_send']:.2f} p99 {r['p99_ms_from_send']:.2f} ms; "
                f"RSS/idle watcher {r['rss_per_idle_watcher_bytes'] / 1024:.1f} KB; "
                f"burst {r['burst_adds_per_s']:.0f} adds/s "
                f"(x{r['burst_adds_per_s'] / adds_alone:.2f} of alone) -> "
                f"{r['events_per_s']:.0f} events/s delivered; lost {r['lost']}; daemon CPU "
                f"{r['daemon_cpu_ms_per_add']:.1f} ms per add+fan-out; "
                f"watchers ended by the server: {r['watchers_ended']}; "
                f"load {r['load_average']:.1f}",
                flush=True,
            )
            print(f"      ratio to bare fan-out: p50 from send "
                  f"x{r['p50_ms_from_send'] / b['p50_ms_from_send']:.2f}, p99 from send "
                  f"x{r['p99_ms_from_send'] / b['p99_ms_from_send']:.2f}, events/s "
                  f"x{r['events_per_s'] / b['events_per_s']:.2f}", flush=True)
    finally:
        fanout.kill()
        fanout.wait()
        daemon.stop()


if __name__ == "__main__":
    main()
