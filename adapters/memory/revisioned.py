"""In-memory records with etcd-like revisions and history, for tests: RevisionedRepository,
ChangeHistory, and the feed of a WatchHub."""

from __future__ import annotations

from collections.abc import Callable

from application.watch import WatchHub
from application.watch_ports import HistoryCompacted, HistoryTooLong
from domain.record_change import RecordChange
from domain.record_pages import RecordPage, page_of
from domain.revision_wire import WriteOutcome


class InMemoryRevisionedStore:
    def __init__(self, hub: WatchHub | None = None) -> None:
        self.hub = hub or WatchHub()
        self.entries: dict[str, tuple[str, int]] = {}
        self.revision = 1  # etcd's empty store is at revision 1
        self.history: list[RecordChange] = []
        self.compacted_through = 0
        self.pages_read = 0  # `/list/0.2` pages served (tests)
        self.hub.loaded(self.entries, self.revision)

    async def get_with_revision(self, name: str) -> tuple[str | None, int]:
        return self.entries.get(name, (None, 0))

    async def put_if(self, name: str, info_str: str, if_revision: int | None) -> WriteOutcome:
        current = self.entries.get(name, ("", 0))[1]
        if if_revision is not None and if_revision != current:
            return WriteOutcome(ok=False, revision=current)
        self._record(RecordChange(name, info_str, self.revision + 1))
        return WriteOutcome(ok=True, revision=self.revision)

    async def delete_if(self, name: str, if_revision: int | None) -> WriteOutcome:
        current = self.entries.get(name, ("", 0))[1]
        if if_revision is not None and if_revision != current:
            return WriteOutcome(ok=False, revision=current)
        if name not in self.entries:
            return WriteOutcome(ok=True, revision=self.revision, deleted=0)
        self._record(RecordChange(name, None, self.revision + 1))
        return WriteOutcome(ok=True, revision=self.revision, deleted=1)

    async def changes(
        self, after: int, through: int, keep: Callable[[str], bool], limit: int
    ) -> list[RecordChange]:
        if after < self.compacted_through:
            raise HistoryCompacted(f"compacted through {self.compacted_through}")
        found = [c for c in self.history if after < c.revision <= through and keep(c.name)]
        if len(found) > limit:
            raise HistoryTooLong(f"more than {limit} changes after revision {after}")
        return found

    async def page(self, prefix: str, after: str, limit: int, max_bytes: int) -> RecordPage:
        self.pages_read += 1
        return page_of(sorted(self.entries), self.entries.__getitem__, prefix=prefix,
                       after=after, limit=limit, max_bytes=max_bytes, revision=self.revision)

    def compact(self) -> None:
        self.compacted_through = self.revision
        self.history.clear()

    def _record(self, change: RecordChange) -> None:
        self.revision = change.revision
        if change.info_str is None:
            self.entries.pop(change.name, None)
        else:
            self.entries[change.name] = (change.info_str, change.revision)
        self.history.append(change)
        self.hub.publish(change)
