"""Advertise / find peers under a rendezvous string, as go-libp2p's RoutingDiscovery does."""

from __future__ import annotations

from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.peer.peerinfo import PeerInfo

from domain.rendezvous import rendezvous_cid


class DhtRendezvous:
    """Provider records for ``CIDv1(raw, sha2-256(namespace))`` in the Kademlia DHT."""

    def __init__(self, dht: KadDHT) -> None:
        self.dht = dht

    async def advertise(self, namespace: str) -> bool:
        """True when at least one remote peer stored the record (a lone node: False)."""
        return await self.dht.provide(rendezvous_cid(namespace))

    async def find_peers(self, namespace: str, limit: int = 20) -> list[PeerInfo]:
        """Providers of ``namespace``, without duplicates or ourselves."""
        found = await self.dht.find_providers(rendezvous_cid(namespace), count=limit)
        me = self.dht.host.get_id()
        unique: dict[str, PeerInfo] = {}
        for info in found:
            if info.peer_id != me:
                unique.setdefault(str(info.peer_id), info)
        return list(unique.values())
