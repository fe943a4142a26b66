"""ClusterStatusSource on etcd: the local member's view plus each member's own answer.

A member whose client URL this host can dial reports its own raft index; one it
cannot (a unix socket on its host) is "healthy" when EtcdClusterMembership's
probe finds it up, raft index unknown.
"""

from __future__ import annotations

from typing import Any

import trio
from etcd3 import etcdrpc

from adapters.etcd.connection import DEFAULT_TIMEOUT, EtcdConnection
from adapters.etcd.errors import EtcdRequestRejected
from adapters.etcd.keyspace import ALL_KEYS
from adapters.etcd.membership import EtcdClusterMembership
from application.ports import StorageUnavailable
from domain.cluster import EtcdMember
from domain.instance_status import ClusterStatus, MemberStatus

# Each other member gets this long to answer: status must stay quick when one is down.
MEMBER_TIMEOUT = 1.0


class EtcdClusterStatusSource:
    def __init__(
        self,
        client_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connection: EtcdConnection | None = None,
        member_timeout: float = MEMBER_TIMEOUT,
    ) -> None:
        self._connection = connection or EtcdConnection(client_url, timeout=timeout)
        self._membership = EtcdClusterMembership(client_url, connection=self._connection)
        self._member_timeout = member_timeout

    async def cluster_status(self) -> ClusterStatus:
        connection = self._connection
        local = await connection.call(
            connection.maintenance.Status, etcdrpc.StatusRequest(), require_leader=False
        )
        members = await self._membership.list_members()
        answers: dict[int, Any] = {local.header.member_id: local}
        up: set[int] = set()
        async with trio.open_nursery() as nursery:
            for member in members:
                if member.member_id not in answers:
                    nursery.start_soon(self._ask_member, member, answers, up)
        leader = local.leader or next((a.leader for a in answers.values() if a.leader), 0)
        quorum, revision, services = await self._count_services()
        return ClusterStatus(
            member=next((m.name for m in members if m.member_id == local.header.member_id), ""),
            quorum=quorum,
            revision=revision,
            services=services,
            db_size=local.dbSize,
            members=tuple(
                _member_status(m, answers.get(m.member_id), m.member_id in up, leader)
                for m in members
            ),
        )

    async def _ask_member(self, member: EtcdMember, answers: dict[int, Any], up: set[int]) -> None:
        for url in member.client_urls:
            if not url.startswith("http"):
                continue  # a unix socket on the member's own host
            try:
                probe = EtcdConnection(url, timeout=self._member_timeout)
            except ValueError:
                continue
            try:
                answers[member.member_id] = await probe.call(
                    probe.maintenance.Status, etcdrpc.StatusRequest(), require_leader=False
                )
                return
            except (StorageUnavailable, EtcdRequestRejected):
                continue
            finally:
                probe.close()
        if not any(url.startswith("http") for url in member.client_urls) \
                and await self._membership.member_is_up(member):
            up.add(member.member_id)

    def close(self) -> None:
        self._connection.close()

    async def _count_services(self) -> tuple[bool, int, int]:
        """(quorum, revision, services): a linearizable count proves quorum."""
        connection = self._connection
        request = etcdrpc.RangeRequest(**ALL_KEYS, count_only=True)
        try:
            response = await connection.call(connection.kv.Range, request)
            return True, response.header.revision, response.count
        except StorageUnavailable:
            # This member's own copy: what it holds while the cluster cannot agree.
            request.serializable = True
            response = await connection.call(connection.kv.Range, request, require_leader=False)
            return False, response.header.revision, response.count


def _member_status(member: EtcdMember, answer: Any, up: bool, leader: int) -> MemberStatus:
    return MemberStatus(
        name=member.name,
        id=f"{member.member_id:x}",
        peer_url=member.peer_urls[0] if member.peer_urls else "",
        client_url=member.client_urls[0] if member.client_urls else "",
        leader=member.member_id == leader,
        learner=member.is_learner,
        # Not started (no name yet): added, but not yet serving as a member.
        healthy=member.started and (answer.leader != 0 if answer is not None else up),
        raft_index=None if answer is None else answer.raftIndex,
        db_size=None if answer is None else answer.dbSize,
    )
