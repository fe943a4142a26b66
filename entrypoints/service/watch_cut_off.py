"""Tells `/watch/0.1` watchers when this instance loses or regains its etcd quorum.

The cluster watch's health check can block for seconds on a cut link, while
the "healthy" lease lapses on time; so this reads the lease on its own beat.
"""

from __future__ import annotations

import trio

from application.cluster import QuorumStatus
from application.watch import WatchHub

# Watchers hear of a cut within the lease (1 s) plus this.
POLL_INTERVAL = 0.25


async def tell_watchers_of_quorum(
    quorum: QuorumStatus, hub: WatchHub, interval: float = POLL_INTERVAL
) -> None:
    while True:
        hub.set_cut_off(quorum.lost)
        await trio.sleep(interval)
