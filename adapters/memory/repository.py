"""In-memory ServiceRepository and ClusterMembership, for tests and `--local` demos."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from application.ports import StorageUnavailable
from domain.cluster import EtcdMember


class InMemoryServiceRepository:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    async def put(self, name: str, info_str: str) -> None:
        self.entries[name] = info_str

    async def get(self, name: str) -> str | None:
        return self.entries.get(name)

    async def list(self) -> dict[str, str]:
        return dict(self.entries)

    async def delete(self, name: str) -> int:
        return 1 if self.entries.pop(name, None) is not None else 0


class InMemoryClusterMembership:
    def __init__(self, members: list[EtcdMember] | None = None) -> None:
        self.members = list(members or [])
        self.up: set[int] = set()  # member ids whose process "answers"
        self.quorum = True  # what status() and is_healthy() say of the leader and reads
        self.answers = True  # False: the member does not answer (StorageUnavailable)
        self.lists = 0  # list_members calls

    async def add_member(self, peer_url: str, *, learner: bool = False) -> list[EtcdMember]:
        member_id = max((m.member_id for m in self.members), default=0) + 1
        self.members.append(
            EtcdMember(name="", peer_urls=(peer_url,), member_id=member_id, is_learner=learner)
        )
        return list(self.members)

    async def list_members(self) -> list[EtcdMember]:
        self.lists += 1
        return list(self.members)

    async def remove_member(self, member_id: int) -> list[EtcdMember]:
        self.members = [m for m in self.members if m.member_id != member_id]
        return list(self.members)

    async def promote_member(self, member_id: int) -> list[EtcdMember]:
        self.members = [
            msgspec.structs.replace(m, is_learner=False) if m.member_id == member_id else m
            for m in self.members
        ]
        return list(self.members)

    async def member_is_up(self, member: EtcdMember) -> bool:
        return member.member_id in self.up

    async def status(self, *, require_leader: bool = True) -> MemberCounts:
        if not self.answers:
            raise StorageUnavailable("etcd does not answer")
        return MemberCounts(
            members=len(self.members),
            started_members=sum(1 for m in self.members if m.started),
            learners=sum(1 for m in self.members if m.is_learner),
            has_leader=self.quorum,
            is_leader=True,
        )

    async def is_healthy(self, *, timeout: float | None = None) -> bool:
        return self.answers and self.quorum


@dataclass(frozen=True)
class MemberCounts:
    members: int
    started_members: int
    learners: int
    has_leader: bool
    is_leader: bool
