"""The DHT side of announce and resolve: advertise a ContentHash, find its providers."""

from __future__ import annotations

import trio

from adapters.libp2p.advertiser import AdvertisingNode, advertise_forever
from adapters.libp2p.rendezvous import DhtRendezvous
from domain.instance_verdict import Provider

# Providers asked for at most (the DHT servers we ask return every record they hold).
MAX_PROVIDERS = 1000
# py-libp2p and go-libp2p keep provider records 48 h; we re-advertise long before, and
# within seconds of a DHT peer that restarted (advertise_forever).
ANNOUNCE_INTERVAL = 300.0


class DhtProviderFinder:
    def __init__(self, rendezvous: DhtRendezvous) -> None:
        self.rendezvous = rendezvous

    async def find_providers(self, rendezvous: str) -> list[Provider]:
        found = await self.rendezvous.find_peers(rendezvous, MAX_PROVIDERS)
        return [Provider(str(p.peer_id), [str(a) for a in p.addrs]) for p in found]


class SwitchingAdvertiser:
    """RendezvousAdvertiser: ``run()`` (in a nursery) advertises the latest rendezvous
    string given to ``advertise``; a new one cancels the old one's loop at once."""

    def __init__(self, node: AdvertisingNode, interval: float = ANNOUNCE_INTERVAL) -> None:
        self.node = node
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
