"""The daemon's view of its etcd cluster: metrics, and tending the membership."""

from __future__ import annotations

import logging

import trio

from application.cluster import MemberJanitor
from application.ports import StorageUnavailable
from entrypoints.service.container import ServiceContainer

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


async def watch_cluster(container: ServiceContainer, janitor: MemberJanitor) -> None:
    metrics, membership, quorum = container.metrics(), container.membership(), container.quorum()
    was_healthy: bool | None = None
    while True:
        checked_at = quorum.now()
        round_started = trio.current_time()
        try:
            status = await membership.status(require_leader=False)
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
            healthy = status.has_leader and await membership.is_healthy(timeout=_HEALTH_TIMEOUT)
            metrics.set_storage_healthy(healthy)
            if healthy:
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
        await trio.sleep_until(round_started + WATCH_INTERVAL)


async def _tend(janitor: MemberJanitor) -> None:
    try:
        await janitor.tend()
    except Exception as exc:  # the next round tries again
        log.debug("tending cluster members: %s", exc)
