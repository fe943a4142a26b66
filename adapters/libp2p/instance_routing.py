"""The DHT side of announce and resolve: advertise a ContentHash, find its providers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import KadDHT

from adapters.libp2p.advertiser import advertise_forever
from adapters.libp2p.rendezvous import DhtRendezvous
from domain.instance_verdict import Provider

# Providers asked for at most (the DHT servers we ask return every record they hold).
MAX_PROVIDERS = 1000
# py-libp2p and go-libp2p keep provider records 48 h; we re-advertise long before, and
# within seconds of a DHT peer that restarted (advertise_forever).
ANNOUNCE_INTERVAL = 300.0


# A py-libp2p DHT server resets inbound DHT streams past 12 at once, and ADD_PROVIDER is
# fire-and-forget: when many instances start together most records were lost unseen
# (12 of 50 held, measured). So an advertisement is checked with the servers, and
# repeated after a jittered back-off until they hold it (8 attempts span ~1 min).
CHECK_DELAY = 0.2
ADVERTISE_ATTEMPTS = 8
FIRST_BACKOFF = 0.25


async def advertise_until_held(rendezvous: DhtRendezvous, namespace: str) -> bool:
    """Advertise ``namespace``; True once a connected DHT server names us as a provider,
    False after every attempt. No server in the routing table yet (a bootstrap's identify
    still running) counts as not held: the advertisement reached nobody."""
    me = str(rendezvous.dht.host.get_id())
    for attempt in range(ADVERTISE_ATTEMPTS):
        await rendezvous.advertise(namespace)
        if attempt:  # the lookup's k closest peers left our DHT servers out
            await rendezvous.advertise_to_neighbours(namespace)
        await trio.sleep(CHECK_DELAY)  # the server stores it after reading our message
        held = await rendezvous.neighbour_providers(namespace)
        if held is not None and any(str(p.peer_id) == me for p in held):
            return True
        await trio.sleep(FIRST_BACKOFF * 2**attempt * random.uniform(0.5, 1.5))
    return False


class _CheckedRendezvous:
    """A DhtRendezvous whose advertise checks the servers hold the record."""

    def __init__(self, inner: DhtRendezvous) -> None:
        self.inner = inner

    async def advertise(self, namespace: str) -> bool:
        return await advertise_until_held(self.inner, namespace)


class _HostRouting(Protocol):
    @property
    def host(self) -> IHost: ...

    @property
    def dht(self) -> KadDHT: ...

    @property
    def rendezvous(self) -> DhtRendezvous: ...


@dataclass(frozen=True)
class _CheckedNode:
    host: IHost
    dht: KadDHT
    rendezvous: _CheckedRendezvous


class DhtProviderFinder:
    def __init__(self, rendezvous: DhtRendezvous) -> None:
        self.rendezvous = rendezvous

    async def find_providers(self, rendezvous: str) -> list[Provider]:
        found = await self.rendezvous.find_peers(rendezvous, MAX_PROVIDERS)
        return [Provider(str(p.peer_id), [str(a) for a in p.addrs]) for p in found]


class SwitchingAdvertiser:
    """RendezvousAdvertiser: ``run()`` (in a nursery) advertises the latest rendezvous
    string given to ``advertise``; a new one cancels the old one's loop at once."""

    def __init__(self, node: _HostRouting, interval: float = ANNOUNCE_INTERVAL) -> None:
        self.node = _CheckedNode(node.host, node.dht, _CheckedRendezvous(node.rendezvous))
        self.interval = interval
        self.current: str | None = None
        self.advertised: str | None = None  # the last one an attempt was made for
        self._changed = trio.Event()
        self._attempted = trio.Event()

    def advertise(self, rendezvous: str | None) -> None:
        self.current = rendezvous
        self._changed.set()

    async def run(self) -> None:
        while True:
            self._changed = trio.Event()
            rendezvous = self.current
            async with trio.open_nursery() as nursery:
                if rendezvous is not None:
                    nursery.start_soon(advertise_forever, self.node, rendezvous, self.interval,
                                       self._on_advertised)
                await self._changed.wait()
                nursery.cancel_scope.cancel()

    def _on_advertised(self, rendezvous: str) -> None:
        self.advertised = rendezvous
        self._attempted.set()
        self._attempted = trio.Event()

    async def wait_advertised(self, rendezvous: str) -> None:
        """Until one advertisement of ``rendezvous`` was attempted (stored or not)."""
        while self.advertised != rendezvous:
            await self._attempted.wait()
