"""The announcer's advertiser: a new rendezvous string replaces the old one at once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import trio
import trio.testing

from adapters.libp2p.instance_routing import SwitchingAdvertiser, advertise_until_held


def _fake_node(advertised: list[tuple[float, str]]) -> Any:
    async def advertise(namespace: str) -> bool:
        advertised.append((trio.current_time(), namespace))
        return True

    async def held(namespace: str) -> list[Any]:
        return [SimpleNamespace(peer_id="me")]  # the server holds it at once

    table = SimpleNamespace(get_peer_ids=lambda: [])
    network = SimpleNamespace(connections={})
    host = SimpleNamespace(get_network=lambda: network, get_id=lambda: "me")
    dht = SimpleNamespace(routing_table=table, host=host)
    return SimpleNamespace(dht=dht, host=host,
                           rendezvous=SimpleNamespace(advertise=advertise, dht=dht,
                                                      neighbour_providers=held))


def test_switching_re_advertises_on_interval_moves_and_stops():
    advertised: list[tuple[float, str]] = []
    advertiser = SwitchingAdvertiser(_fake_node(advertised), interval=100.0)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(advertiser.run)
            advertiser.advertise("QmA")
            await advertiser.wait_advertised("QmA")
            await trio.sleep(250)  # re-advertised at 100 and 200
            advertiser.advertise("QmB")
            await advertiser.wait_advertised("QmB")
            await trio.sleep(50)
            advertiser.advertise(None)
            await trio.sleep(500)  # nothing more
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert [(round(t), ns) for t, ns in advertised] == [
        (0, "QmA"), (100, "QmA"), (200, "QmA"), (250, "QmB")]


def test_an_advertisement_the_servers_dropped_is_repeated_until_they_hold_it():
    attempts: list[float] = []

    async def advertise(namespace: str) -> bool:
        attempts.append(trio.current_time())
        return True  # fire-and-forget: "sent", whatever the server did with it

    async def held(namespace: str) -> list[Any]:
        # The server reset our first two ADD_PROVIDER streams (past its 12 at once).
        return [SimpleNamespace(peer_id="me")] if len(attempts) >= 3 else []

    async def to_neighbours(namespace: str) -> int:
        return 1

    host = SimpleNamespace(get_id=lambda: "me")
    rendezvous = SimpleNamespace(advertise=advertise, neighbour_providers=held,
                                 advertise_to_neighbours=to_neighbours,
                                 dht=SimpleNamespace(host=host))

    async def main() -> bool:
        return await advertise_until_held(rendezvous, "QmA")  # type: ignore[arg-type]

    assert trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0)) is True
    assert len(attempts) == 3 and attempts[2] - attempts[0] < 3
