"""Joining an existing etcd cluster through a running registry-service."""

from __future__ import annotations

import enum

from application.ports import RegistryTransport
from domain.cluster import EtcdEndpoint
from domain.wire import MemberAddRequest, Operation, encode


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


async def request_membership(transport: RegistryTransport, endpoint: EtcdEndpoint) -> str:
    """Ask a registry-service to add our member; returns the etcd initial-cluster string."""
    request = MemberAddRequest(member_name=endpoint.member_name, member_peer_url=endpoint.peer_url)
    reply = await transport.request(Operation.MEMBER_ADD.protocol_id, encode(request))
    initial_cluster = reply.decode("utf-8").strip()
    if f"{endpoint.member_name}=" not in initial_cluster:
        raise ValueError(f"member add answered {initial_cluster!r}, which does not name us")
    return initial_cluster
