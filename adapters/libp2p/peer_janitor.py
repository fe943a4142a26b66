"""Forget peers that have gone: a daemon meets a new peer id with every short-lived client.

py-libp2p keeps what it learns of a peer (addresses, public key, protocols, signed
record) in its peerstore for the life of the host: it never starts the peerstore's own
clean-up task. A peer is forgotten here once it has had no connection for ``grace``
seconds, unless the DHT routing table holds it (a server we may still ask) or it is one
we keep (our bootstraps). Dialling a forgotten peer again works from its address as
before; only a lookup of it by peer id alone must go through the DHT.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable

import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID

SWEEP_INTERVAL = 5.0
GRACE = 10.0


class PeerJanitor:
    def __init__(
        self,
        host: IHost,
        in_routing_table: Callable[[ID], bool],
        *,
        kept: Callable[[], Iterable[str]] = tuple,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._in_routing_table = in_routing_table
        self._kept = kept
        self._grace = grace
        self._clock = clock
        self._last_connected: dict[ID, float] = {}
        self.forgotten = 0

    def sweep(self) -> int:
        """Forget the peers gone for longer than the grace period; returns how many."""
        now = self._clock()
        peerstore = self._host.get_peerstore()
        connected = set(self._host.get_network().connections)
        kept = set(self._kept()) | {str(self._host.get_id())}
        forgotten = 0
        for peer_id in peerstore.peer_ids():
            if peer_id in connected or str(peer_id) in kept or self._in_routing_table(peer_id):
                self._last_connected[peer_id] = now
                continue
            seen = self._last_connected.setdefault(peer_id, now)
            if now - seen >= self._grace:
                with contextlib.suppress(Exception):  # already gone
                    peerstore.clear_peerdata(peer_id)
                del self._last_connected[peer_id]
                forgotten += 1
        for peer_id in [p for p in self._last_connected if not peerstore.has_peer(p)]:
            del self._last_connected[peer_id]
        self.forgotten += forgotten
        return forgotten

    async def run(self, interval: float = SWEEP_INTERVAL) -> None:
        while True:
            await trio.sleep(interval)
            self.sweep()
