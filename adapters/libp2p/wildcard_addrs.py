"""Expand wildcard listen addresses into this machine's interface addresses.

A provider record with ``/ip4/0.0.0.0/...`` is useless to the peer that reads
it, so we advertise concrete addresses, as go-libp2p does.
"""

from __future__ import annotations

import socket

import multiaddr
import psutil


def ipv4_interface_addresses() -> list[str]:
    found = [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET
    ]
    # Non-loopback first: those are the ones other machines can dial.
    return sorted(set(found), key=lambda ip: (ip.startswith("127."), ip))


def expand_wildcards(addrs: list[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
    out: list[multiaddr.Multiaddr] = []
    for addr in addrs:
        text = str(addr)
        if text.startswith("/ip4/0.0.0.0/"):
            rest = text[len("/ip4/0.0.0.0/") :]
            ips = ipv4_interface_addresses()
            out.extend(multiaddr.Multiaddr(f"/ip4/{ip}/{rest}") for ip in ips)
        else:
            out.append(addr)
    return out
