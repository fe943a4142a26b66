"""Cluster membership use cases: join, admit a newcomer, tend members, leave."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from application.ports import (
    ClusterMembership,
    NoProvider,
    ProtocolNotSpoken,
    RegistryTransport,
    RegistryUnavailable,
    RequestRejected,
    Sleep,
    StorageUnavailable,
)
from domain.cluster import EtcdEndpoint, EtcdMember
from domain.member_add_answer import MEMBER_ADD_WITH_REASON, MemberAddAnswer
from domain.wire import MemberAddRequest, Operation, decode, encode

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# The cluster API reached through one given member (its own client URL).
# Whether our own store member says it has been removed (waiting a little for it).
RemovalConfirmation = Callable[[], Awaitable[bool]]


class EtcdStart(enum.Enum):
    NEW = "new"  # first member of a new cluster
    RESTART = "restart"  # the data dir already holds this member
    JOIN = "join"  # ask a running registry-service to add us, then start as "existing"


def choose_etcd_start(*, has_member_data: bool, new_cluster: bool) -> EtcdStart:
    # Existing data wins: re-running "new" on an old member is how the Go
    # original ended up needing snapshot surgery.
    if has_member_data:
        return EtcdStart.RESTART
    return EtcdStart.NEW if new_cluster else EtcdStart.JOIN


class JoinFailed(RuntimeError):
    """No registry-service added our member in time."""


class MemberConflict(RuntimeError):
    """Another, running, member already uses the peer URL a newcomer asks for."""


class LeaveFailed(RuntimeError):
    """Our member could not be removed from the cluster."""


class QuorumStatus:
    """What this instance last learned about its cluster's quorum.

    The daemon's watch reports every half second or so; request handlers read
    it to mark answers stale without first waiting for a read that cannot
    succeed. A write that failed for want of storage is fresher news than the
    watch's last round: it counts as "lost" until a health check that began
    after it says otherwise (a round already under way cannot clear it).

    With ``max_age``, "healthy" is a lease: it lapses ``max_age`` s after the
    check that said so began, unless a later check renews it. A member cut off
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

    @property
    def lost(self) -> bool:
        return self._watch_lost or self._failed_write_at is not None or self._lapsed()

    @lost.setter
    def lost(self, value: bool) -> None:
        self.report(healthy=not value, checked_at=self._clock())

    def _lapsed(self) -> bool:
        if self._max_age is None or self._confirmed_at is None:
            return False  # no lease, or nothing confirmed yet: the watch's word only
        return self._clock() - self._confirmed_at > self._max_age

    def now(self) -> float:
        return self._clock()

    def report(self, *, healthy: bool, checked_at: float) -> None:
        """The watch's verdict from a check that began at ``checked_at`` (see ``now``)."""
        self._watch_lost = not healthy
        if healthy:
            self._confirmed_at = max(self._confirmed_at or checked_at, checked_at)
        if healthy and self._failed_write_at is not None and checked_at > self._failed_write_at:
            self._failed_write_at = None

    def note_failed_write(self) -> None:
        self._failed_write_at = self._clock()


# --- the newcomer's side ------------------------------------------------------


class MemberAddRefused(RequestRejected):
    """A registry-service refused to add our member, and said why (/memberadd/0.2)."""


async def request_membership(transport: RegistryTransport, endpoint: EtcdEndpoint) -> str:
    """Ask a registry-service to add our member; returns the etcd initial-cluster string.

    /memberadd/0.2 first, whose refusals carry their reason; /memberadd/0.1 (the
    Go original's) with instances that do not speak it.
    """
    request = encode(
        MemberAddRequest(member_name=endpoint.member_name, member_peer_url=endpoint.peer_url)
    )
    try:
        answer = decode(await transport.request(MEMBER_ADD_WITH_REASON, request), MemberAddAnswer)
    except ProtocolNotSpoken as exc:
        log.info("%s; asking over %s, whose refusals carry no reason", exc,
                 Operation.MEMBER_ADD.protocol_id)
        reply = await transport.request(Operation.MEMBER_ADD.protocol_id, request)
        initial_cluster = reply.decode("utf-8").strip()
    else:
        if answer.error:
            raise MemberAddRefused(answer.error)
        initial_cluster = answer.initial_cluster.strip()
    if f"{endpoint.member_name}=" not in initial_cluster:
        raise ValueError(f"member add answered {initial_cluster!r}, which does not name us")
    return initial_cluster


async def join_cluster(
    transport: RegistryTransport,
    endpoint: EtcdEndpoint,
    *,
    timeout: float,
    retry_interval: float = 1.0,
    sleep: Sleep,
    clock: Clock = time.monotonic,
) -> str:
    """request_membership, retried while the cluster cannot take us yet.

    etcd refuses a new member for a while in ordinary situations: for 5 s
    after another member (re)joined ("unhealthy cluster"), while another
    newcomer is still a learner (one at a time), or while no registry-service
    is known yet. The error names the last cause, and how often etcd refused.
    """
    deadline = clock() + timeout
    refusals = 0
    while True:
        try:
            return await request_membership(transport, endpoint)
        except MemberAddRefused as exc:
            refusals += 1
            cause = f"a registry-service refused to add this member: {exc}"
        except RequestRejected:
            refusals += 1
            cause = (
                "a registry-service refused to add this member without saying why (it speaks "
                "only /memberadd/0.1; its log says why)"
            )
        except NoProvider as exc:
            cause = (
                f"{exc}. Start the first instance with --new-etcd-cluster, and give this one "
                "its address as --bootstrap"
            )
        except RegistryUnavailable as exc:
            cause = str(exc)
        counted = f" (refused {refusals} time{'s' if refusals != 1 else ''})" if refusals else ""
        if clock() + retry_interval > deadline:
            raise JoinFailed(f"could not join the etcd cluster within {timeout:g} s: {cause}"
                             f"{counted}")
        log.info("member add not accepted yet: %s%s; retrying in %g s", cause, counted,
                 retry_interval)
        await sleep(retry_interval)


# --- the side of a running instance ------------------------------------------


async def admit_member(membership: ClusterMembership, name: str, peer_url: str) -> str:
    """Add a newcomer as a learner (or find it added already); return its initial cluster.

    A learner is a member that receives the log but does not vote: until it
    is promoted (see MemberJanitor) it counts for no quorum, so a newcomer
    that never starts cannot cost the cluster its majority. (A voting member
    would: added to a 1-member cluster it makes the quorum 2 at once.)
    """
    members = await membership.list_members()
    existing = next((m for m in members if peer_url in m.peer_urls), None)
    if existing is None:
        members = await membership.add_member(peer_url, learner=True)
    elif existing.started:
        # It ran before and asks to join afresh: its data dir is gone. If it
        # is really down, replace it; a running one is somebody else.
        if await membership.member_is_up(existing):
            raise MemberConflict(
                f"member {existing.name} at {peer_url} is running; refusing to add {name} "
                "with the same peer URL"
            )
        log.warning(
            "member %s at %s lost its data and rejoins: replacing it", existing.name, peer_url
        )
        await membership.remove_member(existing.member_id)
        members = await membership.add_member(peer_url, learner=True)
    # else: added before but never started (the newcomer asks again): same answer.
    return initial_cluster_for(members, name, peer_url)


def initial_cluster_for(members: list[EtcdMember], name: str, peer_url: str) -> str:
    """etcd's ``--initial-cluster``: every member, named, the newcomer as ``name``.

    etcd matches members by peer URL and only needs the names to be distinct;
    another member that has not started yet has no name, so it gets a
    placeholder (two empty names would merge into one member and fail).
    """
    parts: list[str] = []
    for member in members:
        if peer_url in member.peer_urls:
            member_name = name
        else:
            member_name = member.name or f"unstarted-{member.member_id:x}"
        parts.extend(f"{member_name}={url}" for url in member.peer_urls)
    return ",".join(parts)


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


async def leave_cluster(
    membership: ClusterMembership,
    own_name: str,
    *,
    confirm_removed: RemovalConfirmation,
    timeout: float = 20.0,
    retry_interval: float = 1.0,
    sleep: Sleep,
    clock: Clock = time.monotonic,
) -> list[EtcdMember]:
    """Remove our own member for good; returns the members that remain.

    Only our own member can be asked (the others take clients on unix sockets on
    their own hosts). It shuts down as it applies its own removal, often before
    its answer is out, so a lost answer counts as done when ``confirm_removed``
    says so (etcd's own word).
    """
    members = await membership.list_members()
    me = next((m for m in members if m.name == own_name), None)
    if me is None:
        raise LeaveFailed(f"{own_name} is not a member of the cluster (any more)")
    others = [m for m in members if m is not me and m.started and not m.is_learner]
    if not others:
        raise LeaveFailed(
            f"{own_name} is the cluster's only voting member; save a snapshot instead "
            "(registry-service snapshot save FILE) and stop it"
        )
    deadline = clock() + timeout
    while True:
        try:
            return await membership.remove_member(me.member_id)
        except StorageUnavailable as exc:
            if await confirm_removed():
                return [m for m in members if m is not me]
            problem = exc
        # etcd refuses for 5 s after a member (re)connects; quorum may return.
        if clock() + retry_interval > deadline:
            raise LeaveFailed(f"could not remove {own_name} within {timeout:g} s: {problem}")
        await sleep(retry_interval)
