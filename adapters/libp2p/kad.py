"""Kademlia DHT with the spec's routing-table rule restored.

py-libp2p 0.8.1 puts every peer that opens a DHT stream into the routing
table, short-lived clients included; lookups then keep dialling dead clients
(0.8-1.5 s instead of ~25 ms). The spec says a node adds only peers that
operate in server mode, i.e. that announce the KAD protocol via identify.
"""

from __future__ import annotations

from libp2p.kad_dht.common import PROTOCOL_ID
from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.peer.id import ID


class ServerModeKadDHT(KadDHT):
    async def add_peer(self, peer_id: ID, *, skip_server_mode_check: bool = False) -> bool:
        # py-libp2p passes skip_server_mode_check=True for inbound streams only.
        if skip_server_mode_check and not self._announces_kad(peer_id):
            return False
        return await super().add_peer(peer_id, skip_server_mode_check=skip_server_mode_check)

    async def add_known_server(self, peer_id: ID) -> bool:
        """Add a peer we dialled as a bootstrap: trusted to be a DHT server."""
        return await super().add_peer(peer_id, skip_server_mode_check=True)

    def _announces_kad(self, peer_id: ID) -> bool:
        try:
            protocols = self.host.get_peerstore().get_protocols(peer_id)
        except Exception:
            return False
        return bool(protocols) and str(PROTOCOL_ID) in protocols
