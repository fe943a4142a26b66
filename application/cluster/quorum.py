"""What this instance last learned about its etcd cluster's quorum."""

from __future__ import annotations

import time
from collections.abc import Callable

_CHECK_SLACK = 0.25  # a watch round's pace (health_watch.WATCH_INTERVAL)


class QuorumStatus:
    """What this instance last learned about its cluster's quorum.

    The daemon's watch reports every half second or so; request handlers read
    it to mark answers stale without first waiting for a read that cannot
    succeed. A write that failed for want of storage is fresher news than the
    watch's last round: it counts as "lost" until a health check that began
    after it says otherwise (a round already under way cannot clear it).

    With ``max_age``, "healthy" is a lease: it lapses ``max_age`` s after the
    check that said so began, unless a later check renews it. A long check (a
    member far from its leader: a quorum read is two round trips, 1 s at 500 ms)
    stretches the lease to two such checks and a little: else the member would mark
    its own reads stale between two good checks. On a LAN checks take milliseconds
    and ``max_age`` stands. A member cut off
    by a partition cannot complete a health check, so its answers are marked
    stale within ``max_age`` of the cut even while etcd itself has not yet
    noticed (a leader steps down, a follower calls an election, only after an
    election timeout, and watches are cancelled after several).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_age: float | None = None
    ) -> None:
        self._clock = clock
        self._max_age = max_age
        self._watch_lost = False
        self._failed_write_at: float | None = None
        self._confirmed_at: float | None = None
        self._lease = max_age

    @property
    def lost(self) -> bool:
        return self._watch_lost or self._failed_write_at is not None or self._lapsed()

    @lost.setter
    def lost(self, value: bool) -> None:
        self.report(healthy=not value, checked_at=self._clock())

    def _lapsed(self) -> bool:
        if self._lease is None or self._confirmed_at is None:
            return False  # no lease, or nothing confirmed yet: the watch's word only
        return self._clock() - self._confirmed_at > self._lease

    def now(self) -> float:
        return self._clock()

    def report(self, *, healthy: bool, checked_at: float) -> None:
        """The watch's verdict from a check that began at ``checked_at`` (see ``now``)."""
        self._watch_lost = not healthy
        if healthy:
            self._confirmed_at = max(self._confirmed_at or checked_at, checked_at)
            if self._max_age is not None:
                took = self._clock() - checked_at
                self._lease = max(self._max_age, 2 * took + _CHECK_SLACK)
        if healthy and self._failed_write_at is not None and checked_at > self._failed_write_at:
            self._failed_write_at = None

    def note_failed_write(self) -> None:
        self._failed_write_at = self._clock()
