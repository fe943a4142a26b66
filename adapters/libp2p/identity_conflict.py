"""Another running process with our peer id: two instances started from one key file."""

from __future__ import annotations

from collections.abc import Sequence

import multiaddr
import trio

from adapters.libp2p.node import Libp2pNode
from domain.bootstrap import BootstrapAddress

PROBE_TIMEOUT = 2.0


async def peer_id_in_use_at(
    node: Libp2pNode, bootstraps: Sequence[BootstrapAddress]
) -> BootstrapAddress | None:
    """A bootstrap that names our peer id, is not us, and accepts connections.

    py-libp2p will not dial its own peer id, so a second instance started with the
    first one's key would see no bootstrap at all, and fail much later for no
    visible reason. Listing oneself among the bootstraps is fine (and usual).
    """
    me = str(node.peer_id)
    own = {_host_port(str(addr)) for addr in node.host.get_addrs()}
    for address in bootstraps:
        if address.peer_id != me:
            continue
        where = _host_port(address.transport)
        if where is None or where in own:
            continue
        if await _accepts_connections(*where):
            return address
    return None


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


async def _accepts_connections(host: str, port: int) -> bool:
    with trio.move_on_after(PROBE_TIMEOUT):
        try:
            stream = await trio.open_tcp_stream(host, port)
        except OSError:
            return False
        await stream.aclose()
        return True
    return False
