"""Scale (issue 27): connected watchers, get throughput against js-libp2p, and the parts
others measure (records, idle footprint), in one table.

Run: .venv/bin/python benchmarks/bench_scale.py [--only watchers,throughput,records,footprint]
                                                [--counts 100,500,1000] [--rounds 3]

Connections and watchers: a 3-instance cluster; benchmarks/watch_load.py holds N real
libp2p clients (own peer id, PSK, Noise, Yamux, one `/watch/0.1` on the whole registry
each) on instance 1. Per N: the daemon's RSS per connected watcher, its CPU while idle
(PROGRESS lines only), put acknowledged -> event at every client (p50/p99/max), and the
p99 of a `get` from another client during a burst of 100 puts. Baselines in the same
run: the same daemon with no watcher (idle CPU, get p99), and fanout_server.py, bare
py-libp2p writing the same PUT line to the same N clients (RSS, latency).

Throughput: the js-libp2p client tests/integration/interop/get_rate.mjs sends `/get/0.1`
on 1 and 32 concurrent streams to registry-service, then to canned_get_server.mjs (a
js-libp2p server answering the very bytes our daemon answered, from memory): same
client, same passphrase, alternating rounds.

benchmarks/scale_records.py and scale_footprint.py, where present, give their rows
through ``rows()``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from cluster_fixtures import PASSPHRASE, Cluster  # noqa: E402
from watch_load import WatchLoad  # noqa: E402

from domain import ServiceInfo, encode_service_info  # noqa: E402

INTEROP = ROOT / "tests" / "integration" / "interop"
# About the size of a real record (a content hash, resources, a few fields).
INFO_STR = encode_service_info(ServiceInfo(content_hash="Qm" + "x" * 44, cpu_req=1))
IDLE_SECONDS = 10.0
PUTS = 20
BURST = 100
Row = dict[str, str]


def load_text() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


# --- a probe client: puts and gets on one kept-open connection ---------------------------


class Probe:
    """One libp2p client node connected to ``addr``: timed `/add/0.2` puts and `/get/0.1`."""

    def __init__(self, node: Any, peer: Any) -> None:
        self._node, self._peer = node, peer
        self.last_sent = 0.0  # when the last put was sent (monotonic)

    async def _exchange(self, protocol: str, payload: bytes) -> bytes:
        from libp2p.custom_types import TProtocol

        from adapters.libp2p.stream_io import read_to_end

        stream = await self._node.host.new_stream(self._peer, [TProtocol(protocol)])
        await stream.write(payload)
        await stream.close_write()
        reply = await read_to_end(stream, 1 << 20)
        await stream.close()
        return reply

    async def put(self, name: str) -> float:
        """Add ``name``; the monotonic time its acknowledgement arrived."""
        import msgspec

        from domain.revision_wire import ADD_IF_PROTOCOL, AddIfRequest, WriteResult
        from domain.wire import encode

        self.last_sent = time.monotonic()
        reply = await self._exchange(ADD_IF_PROTOCOL, encode(AddIfRequest(name=name,
                                                                          info_str=INFO_STR)))
        acked = time.monotonic()
        assert msgspec.json.decode(reply, type=WriteResult).ok, reply
        return acked

    async def get(self, name: str) -> float:
        """Seconds one `/get/0.1` of ``name`` took."""
        started = time.perf_counter()
        reply = await self._exchange("/get/0.1", name.encode())
        assert b'"LookupOk":true' in reply.replace(b" ", b""), reply
        return time.perf_counter() - started


async def with_probe(addr: str, work: Callable[[Probe], Any]) -> Any:
    from libp2p.peer.id import ID

    from adapters.libp2p.identity import ephemeral_identity
    from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
    from domain import parse_bootstrap, psk_from_passphrase

    boot = parse_bootstrap(addr)
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(PASSPHRASE),
                            dht_server=False)
    async with running_node(settings) as node:
        assert not await connect_bootstraps(node, [boot], 30)
        return await work(Probe(node, ID.from_base58(boot.peer_id)))


# --- connections and watchers ----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def rss_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def idle_cpu_percent(pid: int, seconds: float = IDLE_SECONDS) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) * 100 / seconds


def put_latencies(addr: str, pid: int, load: WatchLoad, tag: str,
                  puts: int = PUTS) -> dict[str, Any]:
    """Puts one at a time, each once the one before reached every client (or 30 s
    passed): each one's ack -> arrival at every served client (ms), and the server's
    CPU per put, which on a loaded machine says more than the latency."""

    failed: list[str] = []
    arrivals: dict[str, list[float]] = {}
    cpu_before = cpu_seconds(pid)

    async def work(probe: Probe) -> tuple[dict[str, float], dict[str, float]]:
        acked, sent = {}, {}
        for n in range(puts):
            name = f"{load.prefix}{tag}-{n}"
            try:
                acked[name] = await probe.put(name)
            except Exception as exc:  # counted and shown: a loaded machine times out
                failed.append(repr(exc)[:200])
                continue
            sent[name] = probe.last_sent
            arrivals.update(await trio.to_thread.run_sync(load.arrivals, {name}, 30.0))
        return acked, sent

    started = time.monotonic()
    acked, sent = trio.run(with_probe, addr, work)
    cpu_per_put = (cpu_seconds(pid) - cpu_before) / max(1, len(acked))
    seconds_per_put = (time.monotonic() - started) / max(1, len(acked))
    served = load.status().served
    latencies = [(t - acked[name]) * 1000 for name, times in arrivals.items() for t in times]
    from_send = [(t - sent[name]) * 1000 for name, times in arrivals.items() for t in times]
    missing = sum(max(0, served - len(times)) for times in arrivals.values())
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=float("nan")), "missing": missing,
            "deliveries": len(latencies), "send_p50": percentile(from_send, 0.5),
            "send_p99": percentile(from_send, 0.99), "failed_puts": failed,
            "cpu_ms_per_put": cpu_per_put * 1000,
            "cpu_us_per_delivery": cpu_per_put * 1e6 / max(1, served),
            "seconds_per_put": seconds_per_put}


def burst_names(prefix: str, tag: str, burst: int = BURST) -> list[str]:
    return [f"{prefix}{tag}-burst-{n}" for n in range(burst)]


async def write_burst(addr: str, names: list[str], writers: int = 8) -> None:
    """Put ``names``, ``writers`` at a time, on one connection (a process of its own)."""

    async def work(probe: Probe) -> None:
        print("connected", flush=True)  # the burst starts now
        pending = iter(names)

        async def one() -> None:
            for name in pending:
                await probe.put(name)

        async with trio.open_nursery() as nursery:
            for _ in range(writers):
                nursery.start_soon(one)

    await with_probe(addr, work)


def gets_during_burst(addr: str, load: WatchLoad | None, tag: str,
                      burst: int = BURST) -> dict[str, Any]:
    """`get` p99 from one client while another, in its own process, puts ``burst`` records."""
    names = burst_names(load.prefix if load else "load-", tag, burst)

    async def work(getter: Probe) -> dict[str, Any]:
        seconds: list[float] = []
        await getter.put(f"{tag}-target")
        await getter.get(f"{tag}-target")
        writer = await trio.lowlevel.open_process(
            [sys.executable, __file__, "--burst", addr, load.prefix if load else "load-", tag,
             str(burst)], cwd=ROOT, stdout=subprocess.PIPE)
        assert writer.stdout is not None
        while b"\n" not in await writer.stdout.receive_some(100):
            pass
        failed = []
        while writer.poll() is None:
            try:
                seconds.append(await getter.get(f"{tag}-target"))
            except Exception as exc:  # a failed get counts as the slowest
                failed.append(repr(exc)[:200])
                seconds.append(float("inf"))
        return {"gets": len(seconds), "p99": percentile(seconds, 0.99) * 1000,
                "p50": percentile(seconds, 0.5) * 1000, "failed_gets": failed,
                "writer_exit": await writer.wait()}

    result: dict[str, Any] = trio.run(with_probe, addr, work)
    if load is not None:
        arrivals = load.arrivals(set(names), timeout=120)
        served = load.status().served
        result["missing"] = sum(max(0, served - len(t)) for t in arrivals.values())
    return result


def start_fanout() -> tuple[subprocess.Popen[str], str]:
    fanout = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "fanout_server.py"), PASSPHRASE],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert fanout.stdout is not None
    return fanout, fanout.stdout.readline().strip()


def watcher_rows(counts: list[int], bare_counts: list[int]) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
        cluster = Cluster(Path(workdir))
        fanout, fanout_addr = start_fanout()
        try:
            instances = [cluster.add_instance() for _ in range(3)]
            target = instances[0]
            addr, pid = target.proc.addrs[0], target.proc.process.pid  # type: ignore[union-attr]
            quiet_get = gets_during_burst(addr, None, "alone")
            idle_alone = idle_cpu_percent(pid)
            print(f"no watcher: idle CPU {idle_alone:.2f} % of a core; get during a burst of "
                  f"{BURST} puts p99 {quiet_get['p99']:.1f} ms ({load_text()})", flush=True)
            for count in counts:
                base = None
                if count in bare_counts:
                    base = measure_load(fanout_addr, fanout.pid, count, f"bare{count}",
                                        gets=False)
                    print(f"{count} watchers, bare fan-out: {json.dumps(base, default=str)}",
                          flush=True)
                ours = measure_load(addr, pid, count, f"ours{count}", gets=True)
                print(f"{count} watchers, registry-service: {json.dumps(ours, default=str)}",
                      flush=True)
                rows += _watcher_rows(count, ours, base, idle_alone, quiet_get)
        finally:
            fanout.kill()
            fanout.wait()
            cluster.stop_all()
    return rows


def measure_load(addr: str, pid: int, count: int, tag: str, *, gets: bool) -> dict[str, Any]:
    """``count`` watchers on the server at ``addr`` (process ``pid``); ``gets``: it has `get`."""
    time.sleep(1)
    rss_before = rss_bytes(pid)
    started = time.monotonic()
    with WatchLoad(addr, PASSPHRASE, count) as load:
        status = load.start_status
        connect_seconds = time.monotonic() - started
        time.sleep(2)
        figures: dict[str, Any] = {
            "served": status.served, "refused": status.connection_refused + status.watch_refused,
            "failed": status.failed, "errors": status.errors[:2],
            "connect_seconds": round(connect_seconds, 1),
            "rss_per_watcher": (rss_bytes(pid) - rss_before) / max(1, status.served),
            "idle_cpu": idle_cpu_percent(pid),
            "latency": put_latencies(addr, pid, load, tag),
        }
        if gets:
            figures["burst"] = gets_during_burst(addr, load, tag)
        figures["ended"] = load.status().ended
        figures["load"] = load_text()
    return figures


def _watcher_rows(count: int, ours: dict[str, Any], base: dict[str, Any] | None,
                  idle_alone: float, quiet_get: dict[str, Any]) -> list[Row]:
    base = base or {"served": "-", "refused": "-", "failed": "-", "rss_per_watcher": 0,
                    "idle_cpu": float("nan"),
                    "latency": {"send_p99": float("nan")}}
    lat, blat = ours["latency"], base["latency"]
    goal_1000 = count == 1000
    kb = ours["rss_per_watcher"] / 1024
    return [
        {"measure": f"{count} watchers: served / refused / failed "
                    f"(all connected in {ours['connect_seconds']} s)",
         "result": f"{ours['served']} / {ours['refused']} / {ours['failed']}",
         "baseline": f"bare fan-out {base['served']} / {base['refused']} / {base['failed']}",
         "ratio": "", "goal": f"all {count}", "verdict": _verdict(ours["served"] == count),
         "load": ours["load"]},
        {"measure": f"{count} watchers: daemon RSS per connected watcher",
         "result": f"{kb:.1f} KB",
         "baseline": f"bare fan-out {base['rss_per_watcher'] / 1024:.1f} KB",
         "ratio": f"{ours['rss_per_watcher'] / base['rss_per_watcher']:.2f}x"
         if base["rss_per_watcher"] > 0 else "",
         "goal": "≤ 40 KB" if goal_1000 else "report",
         "verdict": _verdict(kb <= 40) if goal_1000 else "", "load": ours["load"]},
        {"measure": f"{count} watchers: daemon CPU while idle (PROGRESS only)",
         "result": f"{ours['idle_cpu']:.1f} % of a core",
         "baseline": f"no watcher {idle_alone:.1f} %; bare fan-out (no PROGRESS) "
                     f"{base['idle_cpu']:.1f} %",
         "ratio": "", "goal": "report", "verdict": "", "load": ours["load"]},
        {"measure": f"{count} watchers: put ack → event at every client, p50 / p99 / max",
         "result": f"{lat['p50']:.0f} / {lat['p99']:.0f} / {lat['max']:.0f} ms "
                   f"({lat['missing']} missing of {lat['deliveries'] + lat['missing']}; "
                   f"{len(lat['failed_puts'])} puts failed); server CPU "
                   f"{lat['cpu_ms_per_put']:.0f} ms per put, "
                   f"{lat['cpu_us_per_delivery']:.0f} us per delivery",
         "baseline": f"from the put's send: ours p99 {lat['send_p99']:.0f} ms, bare fan-out "
                     f"{blat['send_p99']:.0f} ms (it sends before it acks)",
         "ratio": f"{lat['send_p99'] / blat['send_p99']:.2f}x (p99 from send)"
         if blat["send_p99"] == blat["send_p99"] else "",
         "goal": "p99 ≤ 1000 ms" if goal_1000 else "report",
         "verdict": _verdict(lat["p99"] <= 1000 and lat["missing"] == 0) if goal_1000 else "",
         "load": ours["load"]},
        {"measure": f"{count} watchers: get p99 during a burst of {BURST} puts",
         "result": f"{ours['burst']['p99']:.1f} ms (p50 {ours['burst']['p50']:.1f}, "
                   f"{ours['burst']['gets']} gets, {len(ours['burst']['failed_gets'])} failed; "
                   f"{ours['burst'].get('missing', 0)} events missing)",
         "baseline": f"no watcher {quiet_get['p99']:.1f} ms",
         "ratio": f"{ours['burst']['p99'] / quiet_get['p99']:.2f}x",
         "goal": "≤ 100 ms" if goal_1000 else "report",
         "verdict": _verdict(ours["burst"]["p99"] <= 100) if goal_1000 else "",
         "load": ours["load"]},
    ]


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


# --- throughput as an independent client sees it ----------------------------------------------


def js_rate(addr: str, streams: int, seconds: float) -> dict[str, Any]:
    run = subprocess.run(
        ["node", "--import", "./polyfill.mjs", "get_rate.mjs", "--addr", addr, "--name", "svc",
         "--passphrase", PASSPHRASE, "--streams", str(streams), "--seconds", str(seconds)],
        cwd=INTEROP, capture_output=True, text=True, timeout=120,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} gets failed: {result['firstError']}")
    return result


def js_rate_with_cpu(addr: str, streams: int, seconds: float, server_pid: int) -> dict[str, Any]:
    """js_rate, plus ``cpuPerRequest``: the server process's CPU seconds per request."""
    server = psutil.Process(server_pid)
    before = server.cpu_times()
    result = js_rate(addr, streams, seconds)
    after = server.cpu_times()
    spent = after.user + after.system - before.user - before.system
    result["cpuPerRequest"] = spent / max(result["requests"], 1)
    return result


def _cpu_text(results: list[dict[str, Any]]) -> str:
    return "/".join(f"{r['cpuPerRequest'] * 1e6:.0f}" for r in results) + " µs CPU per request"


def throughput_rows(rounds: int, seconds: float, before_tree: Path | None = None) -> list[Row]:
    """With ``before_tree`` (a checkout), its daemon is a second instance, measured between."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-js-") as workdir:
        cluster = Cluster(Path(workdir))
        server = None
        try:
            instance = cluster.add_instance()
            addr = instance.proc.addrs[0]
            answer = register_the_get_record(addr)
            before_addr = None
            if before_tree is not None:
                saved = os.environ.get("PYTHONPATH")
                os.environ["PYTHONPATH"] = str(before_tree)  # its modules before ours
                try:
                    before_instance = cluster.add_instance()
                    before_addr = before_instance.proc.addrs[0]
                    before_pid = before_instance.proc.process.pid
                finally:
                    os.environ.pop("PYTHONPATH")
                    if saved is not None:
                        os.environ["PYTHONPATH"] = saved
                assert js_rate(before_addr, 1, 0.5)["answerHex"] == answer
            server, js_addr = start_canned_server(answer)
            assert js_rate(js_addr, 1, 0.5)["answerHex"] == answer  # the very same bytes
            rows = []
            for streams in (1, 32):
                ours, theirs, ratios, olds = [], [], [], []
                for _ in range(rounds):
                    before = load_text()
                    assert instance.proc.process is not None
                    a = js_rate_with_cpu(addr, streams, seconds, instance.proc.process.pid)
                    if before_addr is not None:
                        olds.append(js_rate_with_cpu(before_addr, streams, seconds, before_pid))
                    b = js_rate_with_cpu(js_addr, streams, seconds, server.pid)
                    ours.append(a)
                    theirs.append(b)
                    ratios.append(a["perSecond"] / b["perSecond"])
                    older = f", before tree {olds[-1]['perSecond']:.0f}/s" if olds else ""
                    print(f"{streams} streams: ours {a['perSecond']:.0f}/s p50 {a['p50']:.2f} ms, "
                          f"js {b['perSecond']:.0f}/s p50 {b['p50']:.2f} ms: "
                          f"{ratios[-1]:.2f}x{older} ({before}, after {load_text()})", flush=True)
                rows.append({
                    "measure": f"js-libp2p client `/get/0.1`, {streams} stream(s): ours / "
                               "js-libp2p server answering the same bytes",
                    "result": " ".join(f"{r['perSecond']:.0f}" for r in ours) + " req/s; "
                              + _cpu_text(ours),
                    "baseline": " ".join(f"{r['perSecond']:.0f}" for r in theirs) + " req/s; "
                                + _cpu_text(theirs),
                    "ratio": f"{min(ratios):.2f}-{max(ratios):.2f}x "
                             f"(median {statistics.median(ratios):.2f}x)",
                    "goal": "≥ 1.0x", "verdict": _verdict(min(ratios) >= 1.0),
                    "load": load_text()})
                if olds:
                    rows.append({
                        "measure": f"same, {streams} stream(s): this tree / {before_tree}",
                        "result": " ".join(f"{r['perSecond']:.0f}" for r in ours) + " req/s; "
                                  + _cpu_text(ours),
                        "baseline": " ".join(f"{o['perSecond']:.0f}" for o in olds) + " req/s; "
                                    + _cpu_text(olds),
                        "ratio": " ".join(f"{r['perSecond'] / o['perSecond']:.2f}x"
                                          for r, o in zip(ours, olds, strict=True))
                                 + "; CPU per request " + " ".join(
                                     f"{r['cpuPerRequest'] / o['cpuPerRequest']:.2f}x"
                                     for r, o in zip(ours, olds, strict=True)),
                        "goal": "report", "verdict": "-", "load": load_text()})
            return rows
        finally:
            stop_canned_server(server)
            cluster.stop_all()


def register_the_get_record(addr: str) -> str:
    """Put "svc" (a record of realistic size) through ``addr``; the hex bytes a
    js-libp2p `/get/0.1` of it is answered with (the canned server's answer)."""
    from entrypoints import library

    library.add_service_blocking([addr], _psk(), "svc",
                                 ServiceInfo(content_hash="Qm" + "x" * 44, cpu_req=1))
    answer: str = js_rate(addr, 1, 0.5)["answerHex"]
    return answer


def start_canned_server(answer_hex: str) -> tuple[subprocess.Popen[str], str]:
    """canned_get_server.mjs answering ``answer_hex`` to every `/get/0.1`, and its address."""
    server = subprocess.Popen(
        ["node", "--import", "./polyfill.mjs", "canned_get_server.mjs",
         "--passphrase", PASSPHRASE, "--answer-hex", answer_hex],
        cwd=INTEROP, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, json.loads(server.stdout.readline())["addrs"][0]


def stop_canned_server(server: subprocess.Popen[str] | None) -> None:
    if server is not None and server.stdin is not None:
        server.stdin.close()  # it serves until its stdin ends
        server.wait(10)


def _psk() -> bytes:
    from domain import psk_from_passphrase

    return psk_from_passphrase(PASSPHRASE)


# --- the table ------------------------------------------------------------------------------


def others_rows(name: str) -> list[Row]:
    """Rows of benchmarks/<name>.py (another part of issue 27), if it exists."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        print(f"({name}.py not present: its rows are left out)", flush=True)
        return []
    return [_as_row(r) for r in module.rows()]


def _as_row(row: Any) -> Row:
    if isinstance(row, dict):
        return {str(k): str(v) for k, v in row.items()}
    keys = ("measure", "result", "baseline", "ratio", "goal", "verdict", "load")
    return {k: str(v) for k, v in zip(keys, row, strict=False)}


def print_table(rows: list[Row]) -> None:
    columns = ["measure", "result", "baseline", "ratio", "goal", "verdict", "load"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row.get(c, "") for c in columns) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="watchers,throughput,records,footprint")
    parser.add_argument("--counts", default="100,500,1000")
    parser.add_argument("--bare-counts", help="counts also run against the bare fan-out "
                        "(default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--before-tree", type=Path, help="throughput: also a daemon run from "
                        "this checkout (e.g. `git archive REF | tar -x -C DIR`)")
    parser.add_argument("--burst", nargs=4, help=argparse.SUPPRESS)  # ADDR PREFIX TAG N
    args = parser.parse_args()
    if args.burst:
        addr, prefix, tag, count = args.burst
        trio.run(write_burst, addr, burst_names(prefix, tag, int(count)))
        return
    parts = args.only.split(",")
    print(f"start: {load_text()}", flush=True)
    rows: list[Row] = []
    if "records" in parts:
        rows += others_rows("scale_records")
    if "footprint" in parts:
        rows += others_rows("scale_footprint")
    if "watchers" in parts:
        counts = [int(c) for c in args.counts.split(",")]
        bare = counts if args.bare_counts is None else [
            int(c) for c in args.bare_counts.split(",") if c]
        rows += watcher_rows(counts, bare)
    if "throughput" in parts:
        rows += throughput_rows(args.rounds, args.seconds, args.before_tree)
    print(f"end: {load_text()}", flush=True)
    print_table(rows)


if __name__ == "__main__":
    main()
