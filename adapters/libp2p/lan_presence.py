"""registry-service --mdns: be found on the LAN, and find a cluster there to join."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from adapters.libp2p.node import Libp2pNode
from application.cluster.member_start import StartupError
from domain.bootstrap import BootstrapAddress

log = logging.getLogger("registry-service")

JOIN_LOOKUP = 2.0  # seconds of answers to collect before joining


class LanPresence:
    async def peers_to_join(self, node: Libp2pNode) -> list[BootstrapAddress]:
        """Every other libp2p peer that answered mDNS within JOIN_LOOKUP s."""
        # Loaded only with --mdns: dnspython stays out of every other daemon.
        from adapters.libp2p.mdns_browser import find_peers

        with _no_mdns_is_a_startup_error():
            found = await find_peers(JOIN_LOOKUP, first=False, exclude=str(node.peer_id))
        for address in found:
            log.info("mDNS: found %s on the LAN; using it as a bootstrap", address)
        if not found:
            log.info("mDNS: no other peer answered on the LAN within %g s", JOIN_LOOKUP)
        return found

    async def announce(self, node: Libp2pNode, *, task_status: Any) -> None:
        """Answer mDNS queries with our peer id and addresses until cancelled."""
        from adapters.libp2p.mdns_announcer import announce_forever

        with _no_mdns_is_a_startup_error():
            await announce_forever(node.full_addrs, task_status=task_status)


@contextlib.contextmanager
def _no_mdns_is_a_startup_error() -> Iterator[None]:
    try:
        yield
    except OSError as exc:  # MdnsUnavailable among them: no interface, 5353 refused
        raise StartupError(f"--mdns: cannot use mDNS on this host: {exc}") from None
