"""Keep our provider record in the DHT: periodically, and soon after new peers appear."""

from __future__ import annotations

import logging

import trio

from adapters.libp2p.node import Libp2pNode

log = logging.getLogger("registry-service")

# How often to look for new DHT peers, and the least time between two advertisements
# they cause (clients that query us join the routing table too).
NEW_PEER_POLL = 1.0
NEW_PEER_MIN_GAP = 10.0


async def advertise_forever(node: Libp2pNode, namespace: str, interval: float) -> None:
    """Advertise every ``interval`` s, and within seconds of new peers in the routing table.

    py-libp2p republishes provider records only every 22 h. The first instance of a
    network advertises to nobody; without the new-peer trigger, the instances that
    join it would not hold its record (nor could a twin of it find it) for ``interval``.
    """
    seen: set[str] = set()
    pending = False  # a peer appeared since the last advertisement
    last = next_due = float("-inf")
    while True:
        now = trio.current_time()
        peers = {str(p) for p in node.dht.routing_table.get_peer_ids()}
        pending, seen = pending or not peers <= seen, peers
        if now >= next_due or (pending and now - last >= NEW_PEER_MIN_GAP):
            try:
                stored = await node.rendezvous.advertise(namespace)
                log.debug("advertised %s (remote copies: %s)", namespace, stored)
            except Exception as exc:
                log.warning("advertising failed: %s", exc)
            pending, last, next_due = False, now, now + interval
        await trio.sleep(NEW_PEER_POLL)
