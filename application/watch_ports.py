"""Ports of the watch and conditional-write use cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from domain.record_change import RecordChange
from domain.revision_wire import WriteOutcome


class HistoryCompacted(LookupError):
    """The store no longer holds the changes asked for (compacted away)."""


class HistoryTooLong(HistoryCompacted):
    """More changes than ``limit`` were asked for: the current state is cheaper to send
    (shared by every watch opened at once) than each watcher's own copy of them."""


class FeedUnavailable(RuntimeError):
    """This instance cannot serve watches right now (its change feed is rebuilding)."""


class RecordState(Protocol):
    """The live copy the watch hub reads: name -> (InfoStr, mod revision)."""

    def __getitem__(self, name: str, /) -> tuple[str, int]: ...

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def copy(self) -> Mapping[str, tuple[str, int]]:
        """As it is now, untouched by later changes; no object made per record (a
        snapshot of 100 000 records is shared by the watches that send it)."""
        ...


class ChangeHistory(Protocol):
    async def changes(
        self, after: int, through: int, keep: Callable[[str], bool], limit: int
    ) -> list[RecordChange]:
        """The changes with ``after`` < revision <= ``through`` of the names ``keep`` accepts,
        in revision order; HistoryCompacted if they are no longer all held, HistoryTooLong
        if there are more than ``limit``."""
        ...


class RevisionedRepository(Protocol):
    """Reads with mod revisions, and writes conditioned on them (atomically)."""

    async def get_with_revision(self, name: str) -> tuple[str | None, int]:
        """(InfoStr, mod revision), or (None, 0) when absent."""
        ...

    async def put_if(self, name: str, info_str: str, if_revision: int | None) -> WriteOutcome:
        """Store unless ``if_revision`` is given and differs from the mod revision (0 = absent)."""
        ...

    async def delete_if(self, name: str, if_revision: int | None) -> WriteOutcome: ...


class WatchStream(Protocol):
    """Client side: one open `/watch/0.1` stream to one registry-service."""

    provider: str

    async def next_line(self) -> bytes | None:
        """The next event line without its newline; None at the end of the stream."""
        ...

    async def close(self) -> None: ...


class WatchTransport(Protocol):
    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> WatchStream:
        """Send the request to some registry-service, preferring those not in ``avoid``."""
        ...
