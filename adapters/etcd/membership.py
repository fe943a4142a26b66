"""ClusterMembership on etcd's cluster API, plus removal and status for operators."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from etcd3 import etcdrpc

from adapters.etcd.connection import DEFAULT_TIMEOUT, EtcdConnection
from adapters.etcd.status import EtcdStatus, check_health, fetch_status
from domain.cluster import EtcdMember


def _members(raw: Iterable[Any]) -> list[EtcdMember]:
    return [
        EtcdMember(
            name=m.name,
            peer_urls=tuple(m.peerURLs),
            client_urls=tuple(m.clientURLs),
            member_id=m.ID,
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

    async def add_member(self, peer_url: str) -> list[EtcdMember]:
        """Every member afterwards; the new one has name "" until its etcd starts.

        Warning (etcd's, not ours): in a 1-member cluster the quorum becomes 2, so
        the cluster has no leader until the new member actually starts.
        """
        request = etcdrpc.MemberAddRequest(peerURLs=[peer_url])
        response = await self._connection.call(self._connection.cluster.MemberAdd, request)
        # etcd >= 3.4 lists all members in the answer, consistent with the add.
        if response.members:
            return _members(response.members)
        return await self.list_members()

    async def list_members(self) -> list[EtcdMember]:
        # Local view, answered without quorum: useful precisely when things are broken.
        response = await self._connection.call(
            self._connection.cluster.MemberList,
            etcdrpc.MemberListRequest(),
            require_leader=False,
        )
        return _members(response.members)

    async def remove_member(self, member_id: int) -> list[EtcdMember]:
        """Every member afterwards. Needs quorum of the current membership.

        EtcdRequestRejected (NOT_FOUND) if no such member.
        """
        request = etcdrpc.MemberRemoveRequest(ID=member_id)
        response = await self._connection.call(self._connection.cluster.MemberRemove, request)
        return _members(response.members)

    async def status(self, *, require_leader: bool = True) -> EtcdStatus:
        """Leader and size; StorageUnavailable when unreachable or (by default) leaderless."""
        return await fetch_status(self._connection, require_leader=require_leader)

    async def is_healthy(self, *, timeout: float | None = None) -> bool:
        """Never raises: True if the member serves linearizable reads and has no alarm."""
        return await check_health(self._connection, timeout=timeout)

    def close(self) -> None:
        self._connection.close()
