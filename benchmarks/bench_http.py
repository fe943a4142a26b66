"""The HTTP API (docs/http.md) against its baselines, all in this run on this machine.

Run: .venv/bin/python benchmarks/bench_http.py [--seconds 5] [--parts sse,get,parked,libp2p]
     [--parked-rounds N]   (needs scripts/setup-http.sh)
Starts a registry-service with its own etcd member and the HTTP API, a plain etcd
member (no TLS, its JSON gateway on a TCP port), and a bare ASGI app on the same
server (benchmarks/bare_http_app.py). Measures:
  - GET of one record, requests/s with wrk at 1 and 32 connections: our API, etcd's
    JSON gateway (POST /v3/kv/range), the bare ASGI app; and the ratios;
  - the wake-up latency of 1000 parked blocking queries after one PUT (p50/p99/max,
    from just before the PUT is sent until each answer's first bytes), and the stack's
    own floor: the bare app parking 1000 requests on one trio Event that one request sets;
    and the same PUT alone, with nothing parked (the write's own share);
  - the daemon's RSS per idle SSE listener (500 of them, after their SYNCED);
  - the same GET over libp2p (/get/0.2, our pipelined client; bench_get.load).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from http_fixtures import start_http_registry  # noqa: E402
from registry_process import free_port  # noqa: E402

NAME = "bench-service"
RECORD = json.dumps({
    "ContentHash": "Qm" + "x" * 44, "DockerHash": "127.0.0.1:5000/b@sha256:" + "a" * 64,
    "NetworkSoftReq": {"RTT": 100000000}, "NetworkHardReq": {"RTT": 0}, "CpuReq": 1,
    "MemoryReq": 64}, separators=(",", ":"))
PARKED = 1000
SSE_LISTENERS = 500


def wrk(url: str, connections: int, seconds: int, script: Path | None = None) -> float:
    argv = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s"]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def start_plain_etcd(work: Path) -> tuple[subprocess.Popen, str]:
    client, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{client}"
    etcd = subprocess.Popen(
        ["etcd", "--name", "bench", "--data-dir", str(work / "plain-etcd"),
         "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"bench=http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    b64 = base64.b64encode
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(url + "/v3/kv/put", timeout=2, json={
                "key": b64(NAME.encode()).decode(), "value": b64(RECORD.encode()).decode()
            }).raise_for_status()
            return etcd, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                etcd.kill()
                raise
            time.sleep(0.2)


async def parked_wake_up(port: int, park: bytes, wake: bytes) -> dict[str, float]:
    """PARKED requests ``park`` (each on its own connection), then one ``wake`` request on
    another: seconds from just before ``wake`` is sent to each parked answer's first bytes."""
    latencies: list[float] = []
    t0 = 0.0
    ready = 0

    async def parked_query() -> None:
        nonlocal ready
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(park)
            ready += 1
            await stream.receive_some(65536)
            latencies.append(time.perf_counter() - t0)

    async with trio.open_nursery() as nursery:
        for _ in range(PARKED):
            nursery.start_soon(parked_query)
        while ready < PARKED:
            await trio.sleep(0.05)
        await trio.sleep(3)  # every request read and parked by the server
        assert not latencies, "a parked request answered before the change"
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        t0 = time.perf_counter()
        await stream.send_all(wake)
        await stream.receive_some(65536)
        await stream.aclose()
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "max_ms": latencies[-1] * 1000, "answers": len(latencies)}


async def lone_puts(port: int, put: bytes, rounds: int = 20) -> dict[str, float]:
    """The same PUT with nothing parked: seconds from its send to its answer's first bytes
    (the part of a parked query's wake-up that is the write through etcd)."""
    latencies = []
    for _ in range(rounds):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        t0 = time.perf_counter()
        await stream.send_all(put)
        await stream.receive_some(65536)
        latencies.append(time.perf_counter() - t0)
        await stream.aclose()
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2] * 1000, "max_ms": latencies[-1] * 1000}


def parked_requests(index: int, token: str, record: str) -> tuple[bytes, bytes]:
    """Our blocking query on the record at ``index``, and the PUT that changes it."""
    park = (f"GET /v1/services/{NAME}?index={index}&wait=120s HTTP/1.1\r\nHost: bench\r\n"
            "\r\n").encode()
    body = record.encode()
    put = (f"PUT /v1/services/{NAME} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}"
           f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    return park, put


BARE_PARK = b"GET /park HTTP/1.1\r\nHost: bench\r\n\r\n"
BARE_WAKE = b"GET /wake HTTP/1.1\r\nHost: bench\r\n\r\n"


def load_average() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


async def sse_rss(port: int, pid: int) -> dict[str, float]:
    """The daemon's RSS growth per idle SSE listener (each past its SYNCED)."""
    process = psutil.Process(pid)
    streams: list[trio.SocketStream] = []
    before = process.memory_info().rss
    for _ in range(SSE_LISTENERS):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /v1/events?names=bench-sse HTTP/1.1\r\nHost: b\r\n\r\n")
        seen = b""
        while b"SYNCED" not in seen:
            seen += await stream.receive_some(65536)
        streams.append(stream)
    await trio.sleep(2)
    after = process.memory_info().rss
    for stream in streams:
        await stream.aclose()
    return {"bytes_per_listener": (after - before) / SSE_LISTENERS,
            "rss_before_mb": before / 2**20, "rss_after_mb": after / 2**20}


PARTS = ("sse", "get", "parked", "libp2p")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--libp2p-requests", type=int, default=2000)
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, of {','.join(PARTS)} (sse runs first: it "
                             "needs a fresh daemon)")
    parser.add_argument("--parked-rounds", type=int, default=1,
                        help="rounds of the parked wake-up, ours and the bare floor alternating")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        sys.exit(f"unknown parts {parts - set(PARTS)}; known: {PARTS}")
    for tool in ("wrk", "etcd"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run scripts/setup-http.sh and scripts/setup.sh")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    print(load_average(), "at the start", flush=True)
    registry = start_http_registry(work / "registry", ["--http-max-connections", "4096"])
    port = int(registry.url.rsplit(":", 1)[1])
    etcd, etcd_url = start_plain_etcd(work)
    body_file = work / "record.json"
    body_file.write_text(RECORD)
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bare_http_app.py"),
                             str(bare_port), str(body_file)], stdout=subprocess.PIPE, text=True)
    assert bare.stdout is not None and bare.stdout.readline().strip() == "ready"
    results: dict[str, float] = {}
    wakes: list[tuple[str, dict[str, float]]] = []
    alone: dict[str, float] = {}
    rss: dict[str, float] = {}
    libp2p: dict[int, dict] = {}
    try:
        index = registry.put(NAME, RECORD).json()["Revision"]
        if "sse" in parts:
            # First, on a fresh daemon: memory freed by earlier connections would hide growth.
            rss = trio.run(sse_rss, port, registry.process.process.pid)  # type: ignore[union-attr]
            print(f"sse: {rss} ({load_average()})", flush=True)
        if "get" in parts:
            range_script = work / "range.lua"
            key = base64.b64encode(NAME.encode()).decode()
            range_script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = '{{\"key\":\"{key}\"}}'\n"
                'wrk.headers["Content-Type"] = "application/json"\n')
            ours_url = f"{registry.url}/v1/services/{NAME}"
            for connections in (1, 32):
                # Interleaved, one short warm-up each, so that load from elsewhere hits all
                # alike.
                for label, url, script in (
                    ("ours", ours_url, None),
                    ("etcd gateway", etcd_url + "/v3/kv/range", range_script),
                    ("bare ASGI", f"http://127.0.0.1:{bare_port}/", None),
                ):
                    wrk(url, connections, 1, script)
                    key = f"{label} c={connections}"
                    results[key] = wrk(url, connections, args.seconds, script)
                    print(f"{key}: {results[key]:.0f} req/s ({load_average()})", flush=True)
        if "parked" in parts:
            for round_ in range(args.parked_rounds):
                index = registry.put(NAME, RECORD).json()["Revision"]
                changed = RECORD.replace('"CpuReq":1', f'"CpuReq":{round_ + 2}')
                park, put = parked_requests(index, registry.write_token, changed)
                for label, target, requests in (
                    ("ours", port, (park, put)), ("bare floor", bare_port, (BARE_PARK, BARE_WAKE))
                ):
                    wake = trio.run(parked_wake_up, target, *requests)
                    wakes.append((label, wake))
                    print(f"parked, {label}: {wake} ({load_average()})", flush=True)
            alone = trio.run(lone_puts, port, parked_requests(0, registry.write_token, RECORD)[1])
            print(f"the PUT alone: {alone} ({load_average()})", flush=True)
        if "libp2p" in parts:
            import bench_get
            from bench_get import load

            bench_get.PASSPHRASE = registry.process.passphrase or ""
            libp2p = {c: trio.run(load, registry.process.addrs[0], "/get/0.2", NAME.encode(),
                                  args.libp2p_requests, c, True) for c in (1, 32)}
            print(f"libp2p: {libp2p} ({load_average()})", flush=True)
    finally:
        bare.kill()
        etcd.kill()
        etcd.wait()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(load_average(), "at the end")
    if results:
        print("\n| GET one record, req/s (wrk) | 1 connection | 32 connections |")
        print("|---|---:|---:|")
        for label in ("ours", "etcd gateway", "bare ASGI"):
            print(f"| {label} | {results[f'{label} c=1']:.0f} | {results[f'{label} c=32']:.0f} |")
        for label in ("etcd gateway", "bare ASGI"):
            print(f"| ours / {label} | {results['ours c=1'] / results[f'{label} c=1']:.2f} | "
                  f"{results['ours c=32'] / results[f'{label} c=32']:.2f} |")
    if libp2p:
        print(f"| libp2p /get/0.2 (pipelined client) | {libp2p[1]['rps']:.0f} | "
              f"{libp2p[32]['rps']:.0f} |")
    for label, wake in wakes:
        print(f"{wake['answers']:.0f} parked requests woken by one request, {label}: p50 "
              f"{wake['p50_ms']:.1f} ms, p99 {wake['p99_ms']:.1f} ms, max {wake['max_ms']:.1f} ms")
    if wakes:
        print(f"the PUT alone, nothing parked (20 in a row): p50 {alone['p50_ms']:.1f} ms, "
              f"max {alone['max_ms']:.1f} ms")
    if rss:
        print(f"RSS per idle SSE listener ({SSE_LISTENERS}): "
              f"{rss['bytes_per_listener'] / 1024:.1f} KiB (daemon {rss['rss_before_mb']:.1f} -> "
              f"{rss['rss_after_mb']:.1f} MiB)")


if __name__ == "__main__":
    main()
