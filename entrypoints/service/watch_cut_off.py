"""The cut-off notice (application/cluster/cut_off_notice.py) on trio's clock."""

from __future__ import annotations

import trio

from application.cluster import cut_off_notice
from application.cluster.quorum import QuorumStatus
from application.watch import WatchHub

POLL_INTERVAL = cut_off_notice.POLL_INTERVAL


async def tell_watchers_of_quorum(
    quorum: QuorumStatus, hub: WatchHub, interval: float = POLL_INTERVAL
) -> None:
    await cut_off_notice.tell_watchers_of_quorum(quorum, hub, sleep=trio.sleep, interval=interval)
