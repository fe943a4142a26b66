"""In-memory ServiceRepository and ClusterMembership, for tests and `--local` demos."""

from __future__ import annotations

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

    async def add_member(self, peer_url: str) -> list[EtcdMember]:
        self.members.append(EtcdMember(name="", peer_urls=(peer_url,)))
        return list(self.members)

    async def list_members(self) -> list[EtcdMember]:
        return list(self.members)
