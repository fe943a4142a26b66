"""ClusterMembership on etcd's cluster API (learners included), plus status for operators."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import trio

from adapters.etcd import cluster_api
from adapters.etcd.connection import DEFAULT_TIMEOUT, EtcdConnection
from adapters.etcd.status import EtcdStatus, check_health, fetch_status
from domain.cluster import EtcdMember

# How long a member's own endpoint may take to say it is alive.
_PROBE_TIMEOUT = 1.0


def members_of(raw: Iterable[Any]) -> list[EtcdMember]:
    return [
        EtcdMember(
            name=m.name,
            peer_urls=tuple(m.peerURLs),
            client_urls=tuple(m.clientURLs),
            member_id=m.ID,
            is_learner=m.isLearner,
        )
        for m in raw
    ]


class EtcdClusterMembership:
    def __init__(
        self,
        client_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connection: EtcdConnection | None = None,
    ) -> None:
        self._connection = connection or EtcdConnection(client_url, timeout=timeout)

    async def add_member(self, peer_url: str, *, learner: bool = False) -> list[EtcdMember]:
        """Every member afterwards; the new one has name "" until its etcd starts.

        A voting member that never starts costs a 1-member cluster its quorum
        (quorum becomes 2); a learner counts for no quorum until promoted.
        """
        request = cluster_api.MemberAddRequest(peerURLs=[peer_url], isLearner=learner)
        response = await self._connection.call(self._connection.cluster.MemberAdd, request)
        # etcd >= 3.4 lists all members in the answer, consistent with the add.
        if response.members:
            return members_of(response.members)
        return await self.list_members()

    async def list_members(self) -> list[EtcdMember]:
        # Local view, answered without quorum: useful precisely when things are broken.
        response = await self._connection.call(
            self._connection.cluster.MemberList,
            cluster_api.MemberListRequest(),
            require_leader=False,
        )
        return members_of(response.members)

    async def remove_member(self, member_id: int) -> list[EtcdMember]:
        """Every member afterwards. Needs quorum of the current membership.

        EtcdRequestRejected (NOT_FOUND) if no such member; StorageUnavailable
        ("unhealthy cluster") within 5 s of a member (re)connecting: retry.
        """
        request = cluster_api.MemberRemoveRequest(ID=member_id)
        response = await self._connection.call(self._connection.cluster.MemberRemove, request)
        return members_of(response.members)

    async def promote_member(self, member_id: int) -> list[EtcdMember]:
        """Make a learner a voting member; EtcdRequestRejected until it has caught up."""
        request = cluster_api.MemberPromoteRequest(ID=member_id)
        response = await self._connection.call(self._connection.cluster.MemberPromote, request)
        return members_of(response.members)

    async def update_peer_urls(self, member_id: int, peer_urls: list[str]) -> list[EtcdMember]:
        """Every member afterwards; needs quorum. Used to move a member from http to https."""
        request = cluster_api.MemberUpdateRequest(ID=member_id, peerURLs=peer_urls)
        response = await self._connection.call(self._connection.cluster.MemberUpdate, request)
        return members_of(response.members)

    async def member_is_up(self, member: EtcdMember) -> bool:
        """Whether the member's etcd accepts connections on a peer URL (never raises).

        Its client URL is a unix socket on its own host, so the peer port is
        what another instance can probe.
        """
        for url in member.peer_urls:
            parts = urlsplit(url)
            if not parts.hostname or parts.port is None:
                continue
            with trio.move_on_after(_PROBE_TIMEOUT):
                try:
                    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
                except OSError:
                    continue
                await stream.aclose()
                return True
        return False

    async def status(self, *, require_leader: bool = True) -> EtcdStatus:
        """Leader and size; StorageUnavailable when unreachable or (by default) leaderless."""
        return await fetch_status(self._connection, require_leader=require_leader)

    async def is_healthy(self, *, timeout: float | None = None) -> bool:
        """Never raises: True if the member serves linearizable reads and has no alarm."""
        return await check_health(self._connection, timeout=timeout)

    def close(self) -> None:
        self._connection.close()
