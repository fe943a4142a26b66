"""What one etcd member says about itself and its cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trio
from etcd3 import etcdrpc

from adapters.etcd import cluster_api
from adapters.etcd.connection import EtcdConnection
from adapters.etcd.errors import EtcdRequestRejected
from application.ports import StorageUnavailable

# A key nobody needs to own: a linearizable read of it proves the member has a
# leader and a quorum, exactly what `etcdctl endpoint health` checks.
_HEALTH_KEY = b"health"


@dataclass(frozen=True)
class EtcdStatus:
    member_id: int
    leader_id: int  # 0 while there is no leader
    members: int  # cluster size, started or not, learners included
    started_members: int  # members whose etcd has started at least once
    learners: int
    version: str
    db_size: int
    raft_term: int
    raft_index: int

    @property
    def has_leader(self) -> bool:
        return self.leader_id != 0

    @property
    def is_leader(self) -> bool:
        return self.has_leader and self.leader_id == self.member_id


async def fetch_status(
    connection: EtcdConnection, *, require_leader: bool = True, timeout: float | None = None
) -> EtcdStatus:
    """Raise StorageUnavailable if unreachable or (when ``require_leader``) leaderless."""
    status = await connection.call(
        connection.maintenance.Status,
        etcdrpc.StatusRequest(),
        timeout=timeout,
        require_leader=require_leader,
    )
    # MemberList is answered from the member's local view, without quorum.
    members = await connection.call(
        connection.cluster.MemberList,
        cluster_api.MemberListRequest(),
        timeout=timeout,
        require_leader=require_leader,
    )
    return EtcdStatus(
        member_id=status.header.member_id,
        leader_id=status.leader,
        members=len(members.members),
        started_members=sum(1 for m in members.members if m.name),
        learners=sum(1 for m in members.members if m.isLearner),
        version=status.version,
        db_size=status.dbSize,
        raft_term=status.raftTerm,
        raft_index=status.raftIndex,
    )


async def check_health(connection: EtcdConnection, *, timeout: float | None = None) -> bool:
    """True if the member serves linearizable reads and has no alarm (e.g. disk quota).

    Both questions go to the leader (a read index, a raft request): asked at
    once, so that over a slow link the check costs one round trip, not two.
    """
    answers: dict[str, Any] = {}

    async def ask(key: str, method: Any, request: Any) -> None:
        answers[key] = await connection.call(method, request, timeout=timeout)

    failed = False
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, "read", connection.kv.Range,
                               etcdrpc.RangeRequest(key=_HEALTH_KEY, count_only=True))
            nursery.start_soon(ask, "alarms", connection.maintenance.Alarm,
                               etcdrpc.AlarmRequest(action=etcdrpc.AlarmRequest.GET))
    except* (StorageUnavailable, EtcdRequestRejected):
        failed = True
    return not failed and not answers["alarms"].alarms


async def answers(connection: EtcdConnection, *, timeout: float | None = None) -> bool:
    """True if the member process serves gRPC at all, leader or not."""
    try:
        await connection.call(
            connection.maintenance.Status,
            etcdrpc.StatusRequest(),
            timeout=timeout,
            require_leader=False,
        )
    except (StorageUnavailable, EtcdRequestRejected):
        return False
    return True
