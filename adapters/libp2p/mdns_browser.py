"""Find libp2p peers on the LAN by mDNS (libp2p mDNS spec; see mdns_wire)."""

from __future__ import annotations

import ipaddress

import trio

from adapters.libp2p.mdns_socket import open_mdns_socket, send_to_group
from adapters.libp2p.mdns_wire import peers_in_response, query
from domain.bootstrap import BootstrapAddress

# Queries go out at these offsets (s): a lost datagram costs a few hundred ms, not the wait.
QUERY_TIMES = (0.0, 0.25, 0.75, 1.5)
# After the first answer, this long for others that answer the same query (a responder
# may hold its answer back up to 100 ms, as ours does when it answered just before).
SETTLE = 0.25


async def find_peers(
    timeout: float, *, first: bool = True, exclude: str | None = None,
    wanted: str | None = None,
) -> list[BootstrapAddress]:
    """One address per peer that answered within ``timeout`` s (``exclude``: our peer id).

    ``first``: return shortly after the first answer (of ``wanted``, if given: a peer id),
    for a client that needs just one.
    """
    found: dict[str, BootstrapAddress] = {}
    sock = await open_mdns_socket()
    with sock, trio.move_on_after(timeout) as window:

        async def ask() -> None:
            started = trio.current_time()
            for at in QUERY_TIMES:
                await trio.sleep_until(started + at)
                await send_to_group(sock, query())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            while True:
                data, source = await sock.recvfrom(9000)
                for peer_id, address in _best_per_peer(peers_in_response(data), source[0]):
                    if peer_id != exclude and peer_id not in found:
                        found[peer_id] = address
                        if first and wanted in (None, peer_id):
                            window.deadline = min(window.deadline, trio.current_time() + SETTLE)
    return list(found.values())


def _best_per_peer(
    addresses: list[BootstrapAddress], sender: str
) -> list[tuple[str, BootstrapAddress]]:
    """Per peer id, the address to dial: the sender's own IP first, loopback last."""
    by_peer: dict[str, list[BootstrapAddress]] = {}
    for address in addresses:
        if address.transport.startswith("/ip4/") and "/tcp/" in address.transport:
            by_peer.setdefault(address.peer_id, []).append(address)
    return [(peer, min(options, key=lambda a: _rank(a, sender)))
            for peer, options in by_peer.items()]


def _rank(address: BootstrapAddress, sender: str) -> tuple[int, str]:
    ip = address.transport.split("/")[2]
    if ip == sender:
        return 0, ip
    try:
        loopback = ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return 3, ip
    return (2 if loopback else 1), ip
