"""Baseline: sequential gets straight from python-etcd3 (sync gRPC), no registry in between.

    .venv/bin/python benchmarks/bench_etcd_direct.py [--n 5000] [--client-url http://...]

Without --client-url a fresh single-member etcd is started on loopback in a
temporary directory. Other benchmarks import ``measure_direct_gets``.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

import etcd3
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.etcd.connection import parse_client_url
from adapters.etcd.process import EtcdProcess
from domain.cluster import EtcdEndpoint

VALUE = b'{"ContentHash":"QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn","CpuReq":1}'


def _percentile(sorted_seconds: list[float], fraction: float) -> float:
    index = min(len(sorted_seconds) - 1, round(fraction * (len(sorted_seconds) - 1)))
    return sorted_seconds[index]


def measure_direct_gets(client_url: str, key: str, n: int) -> dict[str, float]:
    """``n`` sequential linearizable gets of ``key``; rate and latency percentiles.

    Returns ``n``, ``seconds``, ``gets_per_s``, and ``p50_ms``, ``p90_ms``,
    ``p99_ms``, ``max_ms``. One warm-up get (channel connect) is not counted.
    """
    if client_url.startswith("unix:"):
        # python-etcd3 dials "<host>:<port>": exactly gRPC's unix:/dir/client.sock:PORT.
        host, port_text = client_url.rsplit(":", 1)
        port = int(port_text)
    else:
        host, port = parse_client_url(client_url)
    client = etcd3.client(host=host, port=port, timeout=5)
    try:
        client.get(key)
        latencies = []
        started = time.perf_counter()
        for _ in range(n):
            before = time.perf_counter()
            client.get(key)
            latencies.append(time.perf_counter() - before)
        total = time.perf_counter() - started
    finally:
        client.close()
    latencies.sort()
    return {
        "n": n,
        "seconds": total,
        "gets_per_s": n / total,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p90_ms": _percentile(latencies, 0.90) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def _free_endpoint() -> EtcdEndpoint:
    with socket.socket() as client, socket.socket() as peer:
        client.bind(("127.0.0.1", 0))
        peer.bind(("127.0.0.1", 0))
        return EtcdEndpoint("127.0.0.1", client.getsockname()[1], peer.getsockname()[1])


def _report(label: str, result: dict[str, float]) -> None:
    print(
        f"{label}: {result['gets_per_s']:.0f} gets/s over {result['n']:.0f} gets; "
        f"p50 {result['p50_ms']:.3f} ms, p90 {result['p90_ms']:.3f} ms, "
        f"p99 {result['p99_ms']:.3f} ms, max {result['max_ms']:.3f} ms"
    )


def _bench_fresh_etcd(n: int, key: str) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-etcd-") as tmp:
            endpoint = _free_endpoint()
            process = EtcdProcess(endpoint, Path(tmp) / "etcd")
            started = time.perf_counter()
            async with process:
                print(f"etcd healthy after {time.perf_counter() - started:.2f} s")
                host, port = parse_client_url(endpoint.tcp_client_url)
                with etcd3.client(host=host, port=port, timeout=5) as client:
                    client.put(key, VALUE)
                result = await trio.to_thread.run_sync(
                    measure_direct_gets, endpoint.tcp_client_url, key, n
                )
                _report("direct etcd3 gets", result)

    trio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="number of gets (default 5000)")
    parser.add_argument("--key", default="bench-service")
    parser.add_argument("--client-url", help="use this running etcd instead of a fresh one")
    args = parser.parse_args()
    if args.client_url:
        _report("direct etcd3 gets", measure_direct_gets(args.client_url, args.key, args.n))
    else:
        _bench_fresh_etcd(args.n, args.key)


if __name__ == "__main__":
    main()
