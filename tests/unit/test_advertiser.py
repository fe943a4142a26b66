"""The provider record goes out at start, every interval, and soon after new DHT peers."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import trio
import trio.testing

from adapters.libp2p.advertiser import NEW_PEER_MIN_GAP, advertise_forever


def _fake_node(peers: list[str], times: list[float]) -> Any:
    async def advertise(namespace: str) -> bool:
        times.append(trio.current_time())
        return True

    table = SimpleNamespace(get_peer_ids=lambda: list(peers))
    return SimpleNamespace(dht=SimpleNamespace(routing_table=table),
                           rendezvous=SimpleNamespace(advertise=advertise))


def _advertisements(events: list[tuple[float, str]], until: float) -> list[float]:
    times: list[float] = []
    peers: list[str] = []
    node = _fake_node(peers, times)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(advertise_forever, node, "registry-service", 300.0)
            for at, peer in events:
                await trio.sleep_until(at)
                peers.append(peer)
            await trio.sleep_until(until)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return times


def test_alone_it_advertises_at_start_and_then_every_interval() -> None:
    assert _advertisements([], until=650.0) == [0.0, 300.0, 600.0]


def test_a_new_peer_brings_the_next_advertisement_forward_but_not_too_often() -> None:
    times = _advertisements([(2.5, "B"), (20.5, "C"), (21.5, "D")], until=100.0)
    assert times[0] == 0.0
    assert NEW_PEER_MIN_GAP <= times[1] <= NEW_PEER_MIN_GAP + 1  # B, held back by the gap
    assert 20.5 < times[2] <= 22.0  # C (D arrives in the same second or waits for the gap)
    assert len(times) <= 4 and all(b - a >= NEW_PEER_MIN_GAP for a, b in itertools.pairwise(times))


def test_a_known_peer_does_not_bring_it_forward() -> None:
    assert _advertisements([(2.5, "B"), (3.5, "B")], until=200.0)[2:] == []
