"""One UDP socket on 5353 that hears the mDNS group on every IPv4 interface."""

from __future__ import annotations

import contextlib
import socket

import trio

from adapters.libp2p.mdns_wire import GROUP, PORT
from adapters.libp2p.wildcard_addrs import ipv4_interface_addresses


class MdnsUnavailable(OSError):
    """No interface could join or send to the mDNS group."""


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses that can reach a LAN (loopback left out)."""
    return [ip for ip in ipv4_interface_addresses() if not ip.startswith("127.")]


async def open_mdns_socket() -> trio.socket.SocketType:
    """Bound to 0.0.0.0:5353 beside other responders (SO_REUSEADDR/PORT), in the group."""
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(AttributeError, OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        # RFC 6762 11: 255, so that a receiver can tell a packet came from the link.
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # same-host peers
        await sock.bind(("", PORT))
        joined = 0
        for ip in lan_addresses():
            membership = socket.inet_aton(GROUP) + socket.inet_aton(ip)
            with contextlib.suppress(OSError):  # already joined through another address
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
                joined += 1
        if joined == 0:
            raise MdnsUnavailable("no network interface could join the mDNS group "
                                  f"{GROUP} (no IPv4 address outside loopback)")
    except BaseException:
        sock.close()
        raise
    return sock


async def send_to_group(sock: trio.socket.SocketType, payload: bytes) -> int:
    """Send ``payload`` to the group out of every LAN interface; how many sends worked."""
    sent = 0
    for ip in lan_addresses():
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
            await sock.sendto(payload, (GROUP, PORT))
            sent += 1
        except OSError:
            continue  # e.g. an interface with no multicast route
    return sent
