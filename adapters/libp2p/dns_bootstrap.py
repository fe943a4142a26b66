"""Bootstraps named by a host name (``/dns4``, ``/dns6``, ``/dns``), resolved here.

py-libp2p resolves them through multiaddr's DNSResolver (dnspython, which pulls in
aioquic), and our processes stand in for that part (``upstream/lean_import.py``): so a
``/dns4/registry.example/tcp/4001/p2p/…`` bootstrap failed with "no addresses
established a successful connection". We resolve it with the system resolver
(getaddrinfo: /etc/hosts, then DNS), as a user who gives a host name expects, and dial
every address it names.
"""

from __future__ import annotations

import socket

import trio
from multiaddr import Multiaddr

_FAMILIES = {"dns4": socket.AF_INET, "dns6": socket.AF_INET6, "dns": socket.AF_UNSPEC}


class UnresolvableBootstrap(OSError):
    """A bootstrap's host name resolves to no address."""


async def dialable_addrs(transport: str) -> list[Multiaddr]:
    """``transport`` as multiaddrs to dial: itself, or one per address its host name has."""
    _, protocol, *rest = transport.split("/")
    if protocol not in _FAMILIES or not rest:
        return [Multiaddr(transport)]
    host, tail = rest[0], "/".join(rest[1:])
    try:
        found = await trio.socket.getaddrinfo(
            host, None, family=_FAMILIES[protocol], type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnresolvableBootstrap(f"cannot resolve {host!r}: {exc.strerror}") from None
    addrs: list[str] = []
    for family, *_, sockaddr in found:
        ip = "ip4" if family == socket.AF_INET else "ip6"
        addr = f"/{ip}/{sockaddr[0]}" + (f"/{tail}" if tail else "")
        if addr not in addrs:
            addrs.append(addr)
    if not addrs:
        raise UnresolvableBootstrap(f"{host!r} resolves to no address")
    return [Multiaddr(a) for a in addrs]
