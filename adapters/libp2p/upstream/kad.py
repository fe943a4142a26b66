"""Kademlia DHT with the spec's "server mode peers only" rule restored.

py-libp2p 0.8.1 deviates in two places, and both make a registry slow once
short-lived CLI clients have come and gone:

- it puts every peer that opens a DHT stream into the routing table, clients
  included (the spec: only peers that operate in server mode);
- when the routing table is small, lookups also query every connected peer
  and every peer in the peerstore, clients included. A client that has gone
  away costs a negotiation timeout per lookup (seconds instead of ~25 ms).

A peer is "server mode" when identify lists the KAD protocol; a peer whose
protocols we don't know yet (identify still running) is given the benefit of
the doubt, as py-libp2p does. A peer that opens a DHT stream before our identify
of it is done (go- and js-libp2p query as soon as *they* have identified us) is
admitted once identify tells, not refused for good.
"""

from __future__ import annotations

from typing import Any

import trio
from libp2p.abc import IHost
from libp2p.kad_dht.common import PROTOCOL_ID
from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.kad_dht.peer_routing import PeerRouting
from libp2p.peer.id import ID

from adapters.libp2p.upstream.provider_cap import raise_provider_cap

# How long an inbound DHT peer may take to answer our identify.
IDENTIFY_WAIT = 5.0


def speaks_kad(host: IHost, peer_id: ID) -> bool | None:
    """True/False from identify; None while unknown."""
    try:
        protocols = host.get_peerstore().get_protocols(peer_id)
    except Exception:
        return None
    if not protocols:
        return None
    return str(PROTOCOL_ID) in protocols


class ServerModePeerRouting(PeerRouting):
    async def find_closest_peers_network(self, target_key: bytes, count: int = 20) -> list[ID]:
        found = await super().find_closest_peers_network(target_key, count)
        return [p for p in found if speaks_kad(self.host, p) is not False]

    async def _query_single_peer_for_closest(self, peer: ID, *args: Any) -> None:
        if speaks_kad(self.host, peer) is False:
            return None
        return await super()._query_single_peer_for_closest(peer, *args)


class ServerModeKadDHT(KadDHT):
    def __init__(self, host: IHost, *args: Any, **kwargs: Any) -> None:
        super().__init__(host, *args, **kwargs)
        self.peer_routing = ServerModePeerRouting(host, self.routing_table)
        self.provider_store.peer_routing = self.peer_routing
        raise_provider_cap(self.provider_store)
        self._awaiting_identify: set[ID] = set()

    async def add_peer(self, peer_id: ID, *, skip_server_mode_check: bool = False) -> bool:
        # py-libp2p passes skip_server_mode_check=True for inbound streams only.
        if skip_server_mode_check:
            kad = speaks_kad(self.host, peer_id)
            if kad is None:
                self._admit_after_identify(peer_id)
            if not kad:
                return False
        return await super().add_peer(peer_id, skip_server_mode_check=skip_server_mode_check)

    def _admit_after_identify(self, peer_id: ID) -> None:
        if peer_id in self._awaiting_identify or peer_id == self.host.get_id():
            return
        try:
            self.manager.run_task(self._wait_for_identify, peer_id)
        except Exception:  # the service is not running (stopping): nothing to admit into
            return
        self._awaiting_identify.add(peer_id)

    async def _wait_for_identify(self, peer_id: ID) -> None:
        try:
            with trio.move_on_after(IDENTIFY_WAIT):
                while (kad := speaks_kad(self.host, peer_id)) is None:
                    await trio.sleep(0.05)
                if kad:
                    await super().add_peer(peer_id, skip_server_mode_check=True)
        finally:
            self._awaiting_identify.discard(peer_id)

    async def add_known_server(self, peer_id: ID) -> bool:
        """Add a peer we dialled as a bootstrap: trusted to be a DHT server."""
        return await super().add_peer(peer_id, skip_server_mode_check=True)
