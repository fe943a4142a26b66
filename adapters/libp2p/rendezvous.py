"""Advertise / find peers under a rendezvous string, as go-libp2p's RoutingDiscovery does."""

from __future__ import annotations

import trio
from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from domain.rendezvous import rendezvous_cid

# How long a DHT server we are connected to may take to name providers, and how
# long the others get once one has: a frozen one must not hold the lookup up.
NEIGHBOUR_TIMEOUT = 1.0
NEIGHBOUR_GRACE = 0.1


class DhtRendezvous:
    """Provider records for ``CIDv1(raw, sha2-256(namespace))`` in the Kademlia DHT."""

    def __init__(self, dht: KadDHT) -> None:
        self.dht = dht

    async def advertise(self, namespace: str) -> bool:
        """True when at least one remote peer stored the record (a lone node: False)."""
        return await self.dht.provide(rendezvous_cid(namespace))

    async def find_peers(self, namespace: str, limit: int = 20) -> list[PeerInfo]:
        """Providers of ``namespace``, without duplicates or ourselves.

        The DHT servers we are connected to are asked first, all at once: in a
        registry's network they hold the records (instances advertise to the closest
        servers, which in a small network are all of them). py-libp2p's iterative
        lookup, the fallback, waits up to 10 s on each unresponsive peer it meets.
        """
        me = self.dht.host.get_id()
        unique: dict[str, PeerInfo] = {}
        for info in await self.find_providers(namespace, limit):
            if info.peer_id != me:
                unique.setdefault(str(info.peer_id), info)
        return list(unique.values())[:limit]

    async def find_providers(self, namespace: str, limit: int = 20) -> list[PeerInfo]:
        """Every provider record found, ourselves included (a twin has our peer id)."""
        cid = rendezvous_cid(namespace)
        return await self._ask_neighbours(cid) or await self.dht.find_providers(cid, count=limit)

    async def advertise_to_neighbours(self, namespace: str) -> int:
        """ADD_PROVIDER straight to each connected DHT server; how many were sent.

        ``provide`` sends it to the k peers closest to the key as a lookup finds them,
        which can leave out the servers we know (seen with 50 instances starting at once:
        8 of them never reached the registry). The servers we are connected to are the
        ones a resolver asks first.
        """
        key = _multihash_of(rendezvous_cid(namespace))
        sent = 0

        async def send(peer: ID) -> None:
            nonlocal sent
            with trio.move_on_after(NEIGHBOUR_TIMEOUT):
                if await self.dht.provider_store._send_add_provider(peer, key):
                    sent += 1

        async with trio.open_nursery() as nursery:
            for peer in self._neighbours():
                nursery.start_soon(send, peer)
        return sent

    async def neighbour_providers(self, namespace: str) -> list[PeerInfo] | None:
        """The providers the connected DHT servers name (None: no server connected)."""
        if not self._neighbours():
            return None
        return await self._ask_neighbours(rendezvous_cid(namespace))

    def _neighbours(self) -> list[ID]:
        return [
            peer for peer in self.dht.routing_table.get_peer_ids()
            if self.dht.host.get_network().connections.get(peer)
        ]

    async def _ask_neighbours(self, cid: str) -> list[PeerInfo]:
        key = _multihash_of(cid)
        neighbours = self._neighbours()
        found: list[PeerInfo] = []
        first_answer = trio.Event()  # providers named, or every neighbour done
        all_done = trio.Event()
        pending = len(neighbours)

        async def ask(peer: ID) -> None:
            nonlocal pending
            try:
                with trio.move_on_after(NEIGHBOUR_TIMEOUT):
                    providers, _closer = (
                        await self.dht.provider_store._get_providers_from_peer_with_closers(
                            peer, key
                        )
                    )
                    if providers:
                        found.extend(providers)
                        first_answer.set()
            except Exception:
                pass  # unreachable or confused: the others, or the full lookup, will do
            finally:
                pending -= 1
                if pending == 0:
                    all_done.set()
                    first_answer.set()

        if not neighbours:
            return found
        async with trio.open_nursery() as nursery:
            for peer in neighbours:
                nursery.start_soon(ask, peer)
            await first_answer.wait()
            with trio.move_on_after(NEIGHBOUR_GRACE):
                await all_done.wait()
            nursery.cancel_scope.cancel()
        return found


def _multihash_of(cid: str) -> bytes:
    from adapters.libp2p.upstream.dht_keys import provider_key

    return provider_key(cid)
