"""Another running process with our peer id: two instances started from one key file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import multiaddr
import trio

from adapters.libp2p.node import Libp2pNode
from domain.bootstrap import BootstrapAddress

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
# The DHT lookup asks the servers we are connected to first, within a second.
LOOKUP_TIMEOUT = 5.0


async def peer_id_in_use_at(
    node: Libp2pNode, bootstraps: Sequence[BootstrapAddress]
) -> BootstrapAddress | None:
    """A bootstrap that names our peer id, is not us, and proves that peer id.

    py-libp2p will not dial its own peer id, so a second instance started with the
    first one's key would see no bootstrap at all, and fail much later for no
    visible reason. Listing oneself among the bootstraps is fine (and usual).
    """
    me = str(node.peer_id)
    for address in bootstraps:
        if address.peer_id == me and await _live_elsewhere(node, address.transport):
            return address
    return None


async def peer_id_in_use_by_provider(node: Libp2pNode, namespace: str) -> str | None:
    """The address of a live provider of ``namespace`` that has our peer id but is not us.

    A twin that is not among our bootstraps still advertises itself in the DHT.
    A record of ourselves from before a restart points at our old, dead address:
    that is no twin, so only a peer that proves our peer id in a handshake counts.
    """
    with trio.move_on_after(LOOKUP_TIMEOUT):
        providers = await node.rendezvous.find_providers(namespace)
        for info in providers:
            if info.peer_id != node.peer_id:
                continue
            for addr in info.addrs:
                if await _live_elsewhere(node, str(addr)):
                    return f"{_without_peer_id(str(addr))}/p2p/{node.peer_id}"
                if not _is_ours(node, str(addr)):
                    log.info("DHT: a provider record of our peer id is not live: a record "
                             "from before a restart (%s)", _without_peer_id(str(addr)))
    return None


async def _live_elsewhere(node: Libp2pNode, transport: str) -> bool:
    """``transport`` is not one of our own addresses, and a peer there proves our peer id."""
    if _host_port(transport) is None or _is_ours(node, transport):
        return False
    return await _proves_our_peer_id(node, transport)


def _is_ours(node: Libp2pNode, transport: str) -> bool:
    return _host_port(transport) in {_host_port(str(a)) for a in node.host.get_addrs()}


async def _proves_our_peer_id(node: Libp2pNode, transport: str) -> bool:
    """A secure handshake there authenticates our peer id (its key is ours).

    Done below the swarm, which refuses to dial its own peer id. A dead address,
    or a port that another process took over since, does not count.
    """
    network: Any = node.host.get_network()
    try:
        addr = multiaddr.Multiaddr(f"{_without_peer_id(transport)}/p2p/{node.peer_id}")
        dialer = network.transport_manager.transport_for_dialing(addr)
    except Exception:
        return False
    if dialer is None:
        return False
    with trio.move_on_after(PROBE_TIMEOUT):
        try:
            raw = await dialer.dial(addr)
        except Exception:
            return False
        connection = raw
        try:
            connection = await network.upgrader.upgrade_security(raw, True, node.peer_id)
            return True
        except Exception:
            return False
        finally:
            with (trio.CancelScope(shield=True), trio.move_on_after(PROBE_TIMEOUT),
                  contextlib.suppress(Exception)):
                await connection.close()
    return False


def _without_peer_id(transport: str) -> str:
    return transport.split("/p2p/", 1)[0]


def _host_port(text: str) -> tuple[str, int] | None:
    try:
        addr = multiaddr.Multiaddr(text)
        port = int(addr.value_for_protocol("tcp"))
    except Exception:
        return None
    for protocol in ("ip4", "ip6", "dns4", "dns6", "dns"):
        try:
            return str(addr.value_for_protocol(protocol)), port
        except Exception:
            continue
    return None
