"""Keep our provider record in the DHT: periodically, and soon after new peers appear."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import KadDHT

log = logging.getLogger("registry-service")

# How often to look for new DHT peers, and the least time between two advertisements
# they cause (clients that query us join the routing table too).
NEW_PEER_POLL = 1.0
NEW_PEER_MIN_GAP = 10.0
# A known peer connected again (restarted: its store is empty) is rare and pressing.
RETURNED_PEER_MIN_GAP = 1.0


class Advertises(Protocol):
    async def advertise(self, namespace: str) -> bool: ...


class AdvertisingNode(Protocol):
    """A Libp2pNode, or a caller's host with its DHT (entrypoints.library.announce)."""

    @property
    def host(self) -> IHost: ...

    @property
    def dht(self) -> KadDHT: ...

    @property
    def rendezvous(self) -> Advertises: ...


async def advertise_forever(
    node: AdvertisingNode,
    namespace: str,
    interval: float,
    on_advertised: Callable[[str], None] = lambda _: None,
) -> None:
    """Advertise every ``interval`` s, and within seconds of new peers in the routing table
    or peers connected again (a restarted instance holds nobody's record until then).

    py-libp2p republishes provider records only every 22 h. The first instance of a
    network advertises to nobody; without the new-peer trigger, the instances that
    join it would not hold its record (nor could a twin of it find it) for ``interval``.
    """
    seen: set[str] = set()
    # The connections of the last poll, by id (held, so that no id is reused meanwhile).
    connected: dict[int, tuple[str, Any]] = {}
    pending = False  # a peer appeared since the last advertisement
    returned = False  # a known peer connected again since the last advertisement
    last = next_due = float("-inf")
    while True:
        now = trio.current_time()
        peers = {str(p) for p in node.dht.routing_table.get_peer_ids()}
        # A peer that restarted keeps its id, so it stays in the routing table; it comes
        # back with an empty provider store, and only a new connection tells it apart: a
        # new connection object, since a quick restart (the lean daemon starts in ~1 s)
        # may be gone and back between two polls.
        now_connected = {
            id(conn): (str(peer), conn)
            for peer, conns in node.host.get_network().connections.items() for conn in conns
        }
        new_conn_peers = {peer for key, (peer, _) in now_connected.items() if key not in connected}
        returned = returned or bool(new_conn_peers & seen)
        pending, seen, connected = pending or not peers <= seen, peers, now_connected
        gap = now - last
        if (now >= next_due or (pending and gap >= NEW_PEER_MIN_GAP)
                or (returned and gap >= RETURNED_PEER_MIN_GAP)):
            try:
                stored = await node.rendezvous.advertise(namespace)
                log.debug("advertised %s (remote copies: %s)", namespace, stored)
            except Exception as exc:
                log.warning("advertising failed: %s", exc)
            on_advertised(namespace)
            pending, returned, last, next_due = False, False, now, now + interval
        await trio.sleep(NEW_PEER_POLL)
