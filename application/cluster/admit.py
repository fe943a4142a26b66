"""A running instance's side: add a newcomer's etcd member as a learner."""

from __future__ import annotations

import logging

from application.ports import ClusterMembership
from domain.cluster import EtcdMember

log = logging.getLogger("application.cluster")


class MemberConflict(RuntimeError):
    """Another, running, member already uses the peer URL a newcomer asks for."""


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
