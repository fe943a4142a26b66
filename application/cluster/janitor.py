"""Tending the members: promote started learners, remove members that never start."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from application.ports import Clock, ClusterMembership
from domain.cluster import EtcdMember

log = logging.getLogger("application.cluster")


@dataclass
class TendResult:
    members: list[EtcdMember] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class MemberJanitor:
    """Promotes learners that have started; removes members that never start.

    Every registry-service runs one; the work is idempotent, so several at
    once only cost a refused request. "Never started" is judged by this
    instance's clock: unnamed for ``grace`` seconds in a row.
    """

    def __init__(
        self, membership: ClusterMembership, *, grace: float, clock: Clock = time.monotonic
    ) -> None:
        self._membership = membership
        self._grace = grace
        self._clock = clock
        self._unstarted_since: dict[int, float] = {}

    async def tend(self) -> TendResult:
        members = await self._membership.list_members()
        result = TendResult(members=members)
        now = self._clock()
        unstarted = {m.member_id for m in members if not m.started}
        self._unstarted_since = {
            mid: since for mid, since in self._unstarted_since.items() if mid in unstarted
        }
        for member in members:
            if member.is_learner and member.started:
                await self._promote(member, result)
            elif not member.started:
                since = self._unstarted_since.setdefault(member.member_id, now)
                if now - since >= self._grace:
                    await self._remove_unstarted(member, result)
        return result

    async def _promote(self, member: EtcdMember, result: TendResult) -> None:
        try:
            result.members = await self._membership.promote_member(member.member_id)
        except Exception as exc:  # not caught up yet, or another instance was faster
            log.debug("promoting %s: not yet (%s)", member.name, exc)
            return
        result.promoted.append(member.name)
        log.info("promoted etcd member %s to voting member", member.name)

    async def _remove_unstarted(self, member: EtcdMember, result: TendResult) -> None:
        url = ",".join(member.peer_urls)
        try:
            result.members = await self._membership.remove_member(member.member_id)
        except Exception as exc:
            # A voting member added to a 1-member cluster makes removal itself
            # impossible (no quorum): only starting it, or docs/cluster.md's
            # quorum-loss procedure, helps then.
            log.warning("member at %s never started; removing it failed: %s", url, exc)
            return
        self._unstarted_since.pop(member.member_id, None)
        result.removed.append(url)
        log.warning("removed member at %s: added %g s ago or more, never started", url,
                    self._grace)
