"""Tells `/watch/0.1` watchers when this instance loses or regains its etcd quorum.

The cluster watch's health check can block for seconds on a cut link, while
the "healthy" lease lapses on time; so this reads the lease on its own beat.
"""

from __future__ import annotations

from typing import Protocol

from application.cluster.quorum import QuorumStatus
from application.ports import Sleep

# Watchers hear of a cut within the lease (1 s) plus this.
POLL_INTERVAL = 0.25


class CutOffListener(Protocol):
    def set_cut_off(self, cut_off: bool) -> None: ...


async def tell_watchers_of_quorum(
    quorum: QuorumStatus, hub: CutOffListener, *, sleep: Sleep, interval: float = POLL_INTERVAL
) -> None:
    while True:
        hub.set_cut_off(quorum.lost)
        await sleep(interval)
