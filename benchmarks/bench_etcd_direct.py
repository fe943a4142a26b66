"""Baseline: sequential gets straight from python-etcd3 (sync gRPC), no registry in between.

    .venv/bin/python benchmarks/bench_etcd_direct.py [--n 5000] [--rounds 5] [--client-url URL]

Without --client-url two fresh single-member etcds are started in a temporary
directory, one with its client API on TCP loopback and one on a unix socket,
and measured in alternated rounds. Other benchmarks import ``measure_direct_gets``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import etcd3
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.etcd.connection import parse_client_url
from adapters.etcd.process import EtcdProcess
from adapters.etcd.repository import EtcdServiceRepository
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


def _bench_fresh_etcd(n: int, key: str, rounds: int) -> None:
    """Two fresh members, one taking clients on TCP loopback, one on a unix socket (what
    registry-service uses since issue 10); rounds alternate between them."""

    async def run() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-etcd-") as tmp:
            tcp = EtcdProcess(_free_endpoint(), Path(tmp) / "tcp")
            unix = EtcdProcess(_free_endpoint(), Path(tmp) / "unix", client_socket=True)
            started = time.perf_counter()
            async with tcp, unix:
                print(f"both etcds healthy after {time.perf_counter() - started:.2f} s")
                for process in (tcp, unix):
                    repo = EtcdServiceRepository(process.client_url)
                    await repo.put(key, VALUE.decode())
                    repo.close()
                results: dict[str, list[dict[str, float]]] = {"tcp": [], "unix": []}
                for _ in range(rounds):
                    for label, process in (("tcp", tcp), ("unix", unix)):
                        results[label].append(await trio.to_thread.run_sync(
                            measure_direct_gets, process.client_url, key, n
                        ))
                for label, runs in results.items():
                    _report(f"direct etcd3 gets, {label} (median round)",
                            sorted(runs, key=lambda r: r["gets_per_s"])[len(runs) // 2])
                pairs = [u["gets_per_s"] / t["gets_per_s"]
                         for t, u in zip(results["tcp"], results["unix"], strict=True)]
                print(f"unix socket / TCP loopback, per round {[round(p, 3) for p in pairs]}, "
                      f"median {statistics.median(pairs):.3f}")

    trio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="number of gets (default 5000)")
    parser.add_argument("--key", default="bench-service")
    parser.add_argument("--client-url", help="use this running etcd instead of a fresh one")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds per member")
    args = parser.parse_args()
    if args.client_url:
        _report("direct etcd3 gets", measure_direct_gets(args.client_url, args.key, args.n))
    else:
        _bench_fresh_etcd(args.n, args.key, args.rounds)


if __name__ == "__main__":
    main()
