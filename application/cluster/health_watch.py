"""The daemon's watch over its etcd cluster: metrics, the quorum lease, tending members."""

from __future__ import annotations

import logging
from typing import Protocol

from application.cluster.janitor import MemberJanitor
from application.cluster.quorum import QuorumStatus
from application.ports import Clock, Sleep, StorageUnavailable

log = logging.getLogger("registry-service")

# A few small local RPCs per round; often enough that a newcomer's learner is
# promoted soon after it has caught up (~0.3 s), and that a healthy member
# renews its lease (below) several times over.
WATCH_INTERVAL = 0.25
# How long a "healthy" verdict holds (QuorumStatus max_age). A partitioned
# member's reads are marked stale at most this long after its last good check,
# well within 2 s of the cut; when the leader is cut off, the majority cannot
# commit anything new sooner than etcd's election timeout (1 s) anyway.
HEALTH_LEASE = 1.0
_HEALTH_TIMEOUT = 2.0  # longer than the lease: a slow check lets it lapse


class MemberStatus(Protocol):
    """What our member says of its cluster (etcd's status call)."""

    @property
    def members(self) -> int: ...

    @property
    def started_members(self) -> int: ...

    @property
    def learners(self) -> int: ...

    @property
    def has_leader(self) -> bool: ...

    @property
    def is_leader(self) -> bool: ...


class ClusterHealth(Protocol):
    """Our own etcd member's view of its cluster."""

    async def status(self, *, require_leader: bool = True) -> MemberStatus:
        """StorageUnavailable when the member does not answer."""
        ...

    async def is_healthy(self, *, timeout: float | None = None) -> bool:
        """Whether a quorum read succeeds now (never raises)."""
        ...


class ClusterMetrics(Protocol):
    def set_etcd_down(self) -> None: ...

    def set_cluster_status(
        self, *, members: int, started_members: int, learners: int, has_leader: bool,
        is_leader: bool,
    ) -> None: ...

    def set_storage_healthy(self, healthy: bool) -> None: ...


async def watch_cluster(
    health: ClusterHealth,
    metrics: ClusterMetrics,
    quorum: QuorumStatus,
    janitor: MemberJanitor,
    *,
    sleep: Sleep,
    clock: Clock,
    interval: float = WATCH_INTERVAL,
) -> None:
    """Forever: a round every ``interval`` s of ``clock`` (the event loop's)."""
    was_healthy: bool | None = None
    while True:
        checked_at = quorum.now()
        round_started = clock()
        try:
            status = await health.status(require_leader=False)
        except StorageUnavailable as exc:
            log.debug("etcd status: %s", exc)
            metrics.set_etcd_down()
            healthy = False
        else:
            metrics.set_cluster_status(
                members=status.members,
                started_members=status.started_members,
                learners=status.learners,
                has_leader=status.has_leader,
                is_leader=status.is_leader,
            )
            # A member that knows it has no leader would only fail the read.
            healthy = status.has_leader and await health.is_healthy(timeout=_HEALTH_TIMEOUT)
            metrics.set_storage_healthy(healthy)
            if healthy and _has_members_to_tend(status):
                await _tend(janitor)
        quorum.report(healthy=healthy, checked_at=checked_at)
        if healthy != was_healthy:
            if healthy:
                log.info("etcd cluster healthy (quorum)")
            elif was_healthy is not None:
                log.warning("etcd cluster unhealthy: no quorum or member down; writes fail, "
                            "reads are answered from this member's copy, marked stale")
            was_healthy = healthy
        # Rounds start at a steady pace: a slow check (a slow link to the leader)
        # must not also delay the next one, or the lease lapses on a healthy member.
        await sleep(max(0.0, round_started + interval - clock()))


def _has_members_to_tend(status: MemberStatus) -> bool:
    """A learner to promote or a member not started: the janitor's only work. A settled
    cluster skips it, and with it a member list per round (4 RPCs a round, not 5)."""
    return status.learners > 0 or status.started_members < status.members


async def _tend(janitor: MemberJanitor) -> None:
    try:
        await janitor.tend()
    except Exception as exc:  # the next round tries again
        log.debug("tending cluster members: %s", exc)
