"""The provider record goes out at start, every interval, and soon after new DHT peers."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import trio
import trio.testing

from adapters.libp2p.advertiser import NEW_PEER_MIN_GAP, advertise_forever


def _fake_node(peers: list[str], times: list[float], connections: dict[str, list[object]]) -> Any:
    async def advertise(namespace: str) -> bool:
        times.append(trio.current_time())
        return True

    table = SimpleNamespace(get_peer_ids=lambda: list(peers))
    network = SimpleNamespace(connections=connections)
    return SimpleNamespace(dht=SimpleNamespace(routing_table=table),
                           host=SimpleNamespace(get_network=lambda: network),
                           rendezvous=SimpleNamespace(advertise=advertise))


def _advertisements(events: list[tuple[float, str]], until: float) -> list[float]:
    """``events``: a peer joins the routing table ("B"), connects ("+B") or goes ("-B")."""
    times: list[float] = []
    peers: list[str] = []
    connections: dict[str, list[object]] = {}
    node = _fake_node(peers, times, connections)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(advertise_forever, node, "registry-service", 300.0)
            for at, event in events:
                await trio.sleep_until(at)
                if event.startswith("+"):
                    connections[event[1:]] = [object()]  # a new connection
                elif event.startswith("-"):
                    del connections[event[1:]]
                else:
                    peers.append(event)
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


def test_a_known_peer_that_connects_again_brings_it_forward() -> None:
    """A restarted instance keeps its peer id (and its place in our routing table) but
    comes back holding nobody's record: its new connection is what tells."""
    times = _advertisements([(2.5, "B"), (2.5, "+B"), (50.5, "-B"), (60.5, "+B")], until=200.0)
    assert len(times) == 3 and 60.5 < times[2] <= 62.0
    # ...even soon after another advertisement: its store is empty now.
    times = _advertisements([(2.5, "B"), (2.5, "+B"), (12.2, "-B"), (13.5, "+B")], until=200.0)
    assert len(times) == 3 and times[1] == NEW_PEER_MIN_GAP and 13.5 < times[2] <= 15.0


def test_a_peer_gone_and_back_between_two_polls_brings_it_forward() -> None:
    """A restarted daemon (the lean one starts in about a second) may be gone and
    connected again before the next poll: the connection is new, though the peer is not."""
    times = _advertisements([(2.5, "B"), (2.5, "+B"), (50.2, "-B"), (50.4, "+B")], until=200.0)
    assert len(times) == 3 and 50.4 < times[2] <= 52.0
