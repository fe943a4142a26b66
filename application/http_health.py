"""Health for load balancers: serving with quorum, serving stale reads only, or not serving."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable

from application.cluster.quorum import QuorumStatus


class Health(enum.Enum):
    OK = "ok"  # quorum: reads are current and writes go through
    STALE = "stale"  # no quorum, but this member's own copy answers reads (marked stale)
    UNAVAILABLE = "unavailable"  # not even this member's copy answers


async def health(quorum: QuorumStatus, local_read: Callable[[], Awaitable[object]]) -> Health:
    """``local_read`` reads this member's own copy (it raises when the member is down)."""
    if not quorum.lost:
        return Health.OK
    try:
        await local_read()
    except Exception:
        return Health.UNAVAILABLE
    return Health.STALE
