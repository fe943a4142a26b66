"""Embedded client: get latency from a long-lived host, against the bare stream floor.

Run: .venv/bin/python benchmarks/bench_embedded.py [--requests 1000] [--rounds 3]

In one run, on loopback, from one long-lived client host connected to a real
registry-service (own etcd member) and to a bare py-libp2p echo server on the same
stack (benchmarks/echo_server.py):
  - library get with the caller's host (`get_service_with_host_routing`)
  - a RegistryClient kept open (`library.registry_client`) and the get use case
  - the same with a fresh client per call (a DHT lookup each time: the old behaviour)
  - the floor: one stream per request to the echo server, same size answer
Sequential calls; p50 and p99 per case, median of rounds, cases alternating.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cold_start import NAME, PASSPHRASE, add_entry
from bench_get import _one
from registry_process import RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application import client as use_cases
from domain import parse_bootstrap, psk_from_passphrase
from domain.service_info import encode_service_info
from domain.wire import GetResponse, encode
from entrypoints import library


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    for _ in range(min(50, n)):  # warm-up
        await call()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return sorted(out)


async def measure(daemon_addr: str, echo_addr: str, n: int, rounds: int) -> dict[str, list]:
    from libp2p.peer.id import ID

    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(PASSPHRASE),
                            dht_server=False)
    results: dict[str, list] = {}
    async with running_node(settings) as node:
        boots = [parse_bootstrap(daemon_addr), parse_bootstrap(echo_addr)]
        assert not await connect_bootstraps(node, boots, 5)
        echo_peer = ID.from_base58(boots[1].peer_id)
        kept = Libp2pRegistryClient(node.host, node.rendezvous)
        cases: dict[str, Callable[[], Awaitable[object]]] = {
            "floor: bare stream to echo server": lambda: _one(
                node.host, echo_peer, "/bench-echo/0.1", NAME.encode()),
            "library get, caller's host": lambda: library.get_service_with_host_routing(
                node.host, node.dht, NAME),
            "RegistryClient kept open": lambda: use_cases.get_service(kept, NAME),
            "fresh client per call (DHT lookup each)": lambda: use_cases.get_service(
                Libp2pRegistryClient(node.host, node.rendezvous), NAME),
        }
        for _ in range(rounds):
            for name, call in cases.items():
                count = n if "fresh" not in name else max(50, n // 10)
                results.setdefault(name, []).append(await timed(call, count))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE).start()
    echo = None
    try:
        add_entry(daemon, NAME)
        info = library.get_service_blocking(daemon.addrs, psk_from_passphrase(PASSPHRASE), NAME)
        body = len(encode(GetResponse(info_str=encode_service_info(info), lookup_ok=True)))
        echo = subprocess.Popen([sys.executable, str(Path(__file__).with_name("echo_server.py")),
                                 PASSPHRASE, str(body)], stdout=subprocess.PIPE, text=True)
        echo_addr = echo.stdout.readline().strip()  # type: ignore[union-attr]
        results = trio.run(measure, daemon.addrs[0], echo_addr, args.requests, args.rounds)
    finally:
        if echo is not None:
            echo.kill()
            echo.wait()
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'case':<44}{'p50 ms':>8}{'p99 ms':>8}  (median of {args.rounds} rounds)")
    p50s = {}
    for name, rounds in results.items():
        p50 = statistics.median(r[len(r) // 2] for r in rounds) * 1000
        p99 = statistics.median(r[int(len(r) * 0.99)] for r in rounds) * 1000
        p50s[name] = p50
        print(f"{name:<44}{p50:>8.2f}{p99:>8.2f}")
    best = min(p50s["library get, caller's host"], p50s["RegistryClient kept open"])
    print(f"goal embedded get p50 <= 1.5 ms: {best:.2f} ms "
          f"{'met' if best <= 1.5 else 'not met'}")


if __name__ == "__main__":
    main()
