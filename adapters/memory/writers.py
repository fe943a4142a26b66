"""A WriterList that never changes, for tests and in-process use."""

from __future__ import annotations


class FixedWriters:
    def __init__(self, peer_ids: frozenset[str] | set[str]) -> None:
        self.peer_ids = frozenset(peer_ids)

    def allows(self, peer_id: str) -> bool:
        return peer_id in self.peer_ids
