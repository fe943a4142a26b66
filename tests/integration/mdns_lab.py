"""Namespaces on one bridge where mDNS multicast really travels (see netns_fixtures).

Each namespace gets a route for 224.0.0.0/4 on its eth0 (without one a multicast send
fails with "Network is unreachable": the namespaces have no default route). Names start
with ``mdns-<pid>-``; a sweep removes labs whose creating process is gone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

from netns_fixtures import NetnsLab, _pid_alive, _remove_netns, require_tools, sh

PREFIX = "mdns"


def _sweep_stale() -> None:
    for line in sh("ip", "netns", "list").stdout.splitlines():
        netns = line.split()[0] if line.split() else ""
        parts = netns.split("-")
        if len(parts) >= 3 and parts[0] == PREFIX and parts[1].isdigit() \
                and not _pid_alive(int(parts[1])):
            _remove_netns(netns)


@contextlib.contextmanager
def mdns_lab(size: int) -> Iterator[NetnsLab]:
    require_tools()
    _sweep_stale()
    lab = NetnsLab(size, name=f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        lab.create()
        for node in lab.nodes:
            node.run("ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        yield lab
    finally:
        lab.destroy()
