"""registry-service --mdns: be found on the LAN, and find a cluster there to join."""

from __future__ import annotations

import logging
from typing import Any

from adapters.libp2p.mdns_announcer import announce_forever
from adapters.libp2p.mdns_browser import find_peers
from adapters.libp2p.node import Libp2pNode
from domain.bootstrap import BootstrapAddress

log = logging.getLogger("registry-service")

JOIN_LOOKUP = 2.0  # seconds of answers to collect before joining


class LanPresence:
    async def peers_to_join(self, node: Libp2pNode) -> list[BootstrapAddress]:
        """Every other libp2p peer that answered mDNS within JOIN_LOOKUP s."""
        found = await find_peers(JOIN_LOOKUP, first=False, exclude=str(node.peer_id))
        for address in found:
            log.info("mDNS: found %s on the LAN; using it as a bootstrap", address)
        if not found:
            log.info("mDNS: no other peer answered on the LAN within %g s", JOIN_LOOKUP)
        return found

    async def announce(self, node: Libp2pNode, *, task_status: Any) -> None:
        """Answer mDNS queries with our peer id and addresses until cancelled."""
        await announce_forever(node.full_addrs, task_status=task_status)
