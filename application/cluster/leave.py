"""Leaving the cluster for good: remove our own etcd member."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from application.ports import Clock, ClusterMembership, Sleep, StorageUnavailable
from domain.cluster import EtcdMember

# Whether our own store member says it has been removed (waiting a little for it).
RemovalConfirmation = Callable[[], Awaitable[bool]]


class LeaveFailed(RuntimeError):
    """Our member could not be removed from the cluster."""


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
