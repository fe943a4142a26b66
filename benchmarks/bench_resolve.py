"""Resolve a name with 1, 10 and 50 live instances on loopback, against the service-manager's
sequence done with bare py-libp2p, in the same run.

Run: .venv/bin/python benchmarks/bench_resolve.py [--counts 1,10,50] [--rounds 20]

Starts a registry-service (own etcd member) and, in a child process, N instance nodes
(each its own libp2p host, announcing the record's ContentHash, answering ping).
The resolver is one long-lived host, as a proxy's is; connections stay open between
rounds (the first round, which dials every instance, is left out). "cold": a node of its
own for each resolve (the library's short form, as `registry-cli instances` runs it).

- ours: ``resolve_instances_with_host_routing`` (providers asked of the connected DHT
  servers, every provider pinged at once), given the record by a view (no registry
  round trip), and with the registry ``get`` included.
- baseline: PhysarumSM's SortPeers order with bare py-libp2p on a host of its own:
  ``KadDHT.find_providers`` of the same key, then one ping after another
  (py-libp2p's ``perform_ping_roundtrip``).

The watch-fed RegistryView's own figures (lookup vs get) are benchmarks/bench_view.py's
(issue 23, the view's part); pass such a view as ``view=`` and "ours (view)" is its cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from registry_process import RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.instance_routing import advertise_until_held
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.upstream.dht_keys import provider_key
from domain import PerfInd, ServiceInfo, parse_bootstrap, psk_from_passphrase
from domain.rendezvous import rendezvous_cid
from entrypoints import library

PASSPHRASE = "benchmark passphrase"
PSK = psk_from_passphrase(PASSPHRASE)
COLD_ROUNDS = 3
# Rounds that found fewer instances than are live, by resolver (reported, not fatal).
MISSES = {"ours": 0, "baseline": 0}


def info_for(count: int) -> ServiceInfo:
    return ServiceInfo(content_hash=f"QmBenchResolve{count}",
                       network_soft_req=PerfInd.from_millis(100),
                       network_hard_req=PerfInd.from_millis(1000))


def _settings(listen: bool) -> NodeSettings:
    return NodeSettings(key_pair=ephemeral_identity(), psk=PSK, dht_server=False,
                        listen=["/ip4/127.0.0.1/tcp/0"] if listen else [])


# --- child: the instances ----------------------------------------------------------


async def instances_child(addr: str, count: int, content_hash: str) -> None:
    boot = parse_bootstrap(addr)
    async with trio.open_nursery() as nursery:
        ready = trio.Semaphore(0)

        async def one() -> None:
            async with running_node(_settings(listen=True)) as node:
                assert not await connect_bootstraps(node, [boot], 10)
                # As announce_instance does: checked with the registry, repeated until held.
                assert await advertise_until_held(node.rendezvous, content_hash)
                ready.release()
                await trio.sleep_forever()

        for _ in range(count):
            nursery.start_soon(one)
        for _ in range(count):
            await ready.acquire()
        print("ready", flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)  # until the parent closes stdin
        nursery.cancel_scope.cancel()


# --- parent: the resolvers ----------------------------------------------------------


class _View:
    def __init__(self, name: str, info: ServiceInfo) -> None:
        self.records = {name: info}

    def lookup(self, name: str) -> ServiceInfo | None:
        return self.records.get(name)


async def baseline_resolve(node, content_hash: str) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """FindProviders, then a ping to each provider in turn (SortPeers), sorted by RTT."""
    from libp2p.host.ping import ID as PING
    from libp2p.host.ping import perform_ping_roundtrip

    # py-libp2p's find_providers keeps what a lookup found as local provider records and
    # answers from them for 48 h, without asking the network (go-libp2p keeps only the
    # records it was sent): dropped, so every round looks up, as a Go proxy's FindPeers does.
    node.dht.provider_store.providers.pop(provider_key(rendezvous_cid(content_hash)), None)
    providers = await node.dht.find_providers(rendezvous_cid(content_hash), count=1000)
    rtts: list[tuple[str, int]] = []
    for info in providers:
        if info.peer_id == node.peer_id:
            continue
        try:
            if not node.host.get_network().connections.get(info.peer_id):
                await node.host.connect(info)
            stream = await node.host.new_stream(info.peer_id, [PING])
            started = time.perf_counter_ns()
            await perform_ping_roundtrip(stream)
            rtts.append((str(info.peer_id), time.perf_counter_ns() - started))
            await stream.close()
        except Exception:
            continue  # dropped silently, as SortPeers does
    return sorted(rtts, key=lambda r: r[1])


async def _timed_baseline(node, content_hash: str, count: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    sorted_peers = await baseline_resolve(node, content_hash)
    took = time.perf_counter() - started
    if len(sorted_peers) < count:
        MISSES["baseline"] += 1  # kept in the times: a short list is quicker, if anything
    return took


async def measure(count: int, rounds: int, registry: RegistryProcess) -> dict[str, object]:
    name, info = f"bench-{count}", info_for(count)
    await library.add_service(registry.addrs, PSK, name, info)
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", registry.addrs[0], str(count), info.content_hash],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    boot = parse_bootstrap(registry.addrs[0])
    view = _View(name, info)
    times: dict[str, list[float]] = {"ours_view": [], "ours_get": [], "baseline": [],
                                     "cold_ours": [], "cold_baseline": []}
    try:
        async with running_node(_settings(False)) as ours, \
                running_node(_settings(False)) as bare:
            assert not await connect_bootstraps(ours, [boot], 10)
            assert not await connect_bootstraps(bare, [boot], 10)
            # ADD_PROVIDER is fire-and-forget: wait until the registry holds every record.
            with trio.fail_after(60):
                while len(await library.resolve_instances_with_host_routing(
                        ours.host, ours.rendezvous, name, view=view)) < count:
                    await trio.sleep(0.2)
            for round_ in range(rounds + 1):
                if round_ % 2:  # alternate who goes first: the machine's load drifts
                    t_base = await _timed_baseline(bare, info.content_hash, count)
                started = time.perf_counter()
                found = await library.resolve_instances_with_host_routing(
                    ours.host, ours.rendezvous, name, view=view)
                t_view = time.perf_counter() - started
                MISSES["ours"] += len(found) < count
                started = time.perf_counter()
                found = await library.resolve_instances_with_host_routing(
                    ours.host, ours.rendezvous, name)
                t_get = time.perf_counter() - started
                MISSES["ours"] += len(found) < count
                if not round_ % 2:
                    t_base = await _timed_baseline(bare, info.content_hash, count)
                if round_ == 0:
                    continue  # the baseline's first round dials every instance
                times["ours_view"].append(t_view)
                times["ours_get"].append(t_get)
                times["baseline"].append(t_base)
        # Cold: a node of its own each time (registry-cli instances; a proxy's first resolve).
        for _ in range(COLD_ROUNDS):
            started = time.perf_counter()
            found = await library.resolve_instances(registry.addrs, PSK, name, view=view)
            times["cold_ours"].append(time.perf_counter() - started)
            MISSES["ours"] += len(found) < count
            started = time.perf_counter()
            async with running_node(_settings(False)) as cold:
                assert not await connect_bootstraps(cold, [boot], 10)
                if len(await baseline_resolve(cold, info.content_hash)) < count:
                    MISSES["baseline"] += 1
            times["cold_baseline"].append(time.perf_counter() - started)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    misses = dict(MISSES)
    MISSES.update(ours=0, baseline=0)
    return {"count": count, "median_ms": med,
            "ratio_view": med["ours_view"] / med["baseline"],
            "ratio_get": med["ours_get"] / med["baseline"], "misses": misses}


async def main(counts: list[int], rounds: int) -> None:
    print(f"load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        registry = RegistryProcess(Path(tmp) / "r", passphrase=PASSPHRASE).start()
        try:
            for count in counts:
                r = await measure(count, rounds, registry)
                m = r["median_ms"]
                print(f"{count:3d} instances: ours (view) {m['ours_view']:.1f} ms, "  # type: ignore[index]
                      f"ours (with get) {m['ours_get']:.1f} ms, "  # type: ignore[index]
                      f"baseline {m['baseline']:.1f} ms -> {r['ratio_view']:.2f}x "  # type: ignore[index]
                      f"({r['ratio_get']:.2f}x with get); cold (a new node, dialling every "
                      f"instance): ours {m['cold_ours']:.0f} ms, "  # type: ignore[index]
                      f"baseline {m['cold_baseline']:.0f} ms; rounds short of {count}: "  # type: ignore[index]
                      f"{r['misses']}",
                      flush=True)
        finally:
            registry.stop()
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        trio.run(instances_child, sys.argv[2], int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="1,10,50")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    trio.run(main, [int(c) for c in args.counts.split(",")], args.rounds)
