"""What a new watch sends before its queue, without a copy of the registry per watcher.

A watch from revision 0 starts with one PUT per record. Built per watcher, 1000
proxies reconnecting to an instance of 100 000 records each held their own 100 000
events and their encoded lines at once (+1.9 GB RSS for 20 of them here). Now a
watch refers to one ``SharedSnapshot`` with every watch opened at the same revision
with the same filter, and its events are made and sent a chunk at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping

from domain.watch_wire import EventType, WatchEvent


class SharedSnapshot:
    """Matching records as they were at one revision, by name: a copy of the state that
    makes no object per record, each event made only as it is sent. Never changed."""

    __slots__ = ("__weakref__", "_names", "_records")  # weakly kept by the hub

    def __init__(self, records: Mapping[str, tuple[str, int]], names: list[str]) -> None:
        self._records = records
        self._names = names

    def __iter__(self) -> Iterator[WatchEvent]:
        records = self._records
        for name in self._names:
            info_str, revision = records[name]
            yield WatchEvent(type=EventType.PUT, name=name, info_str=info_str, revision=revision)

    def __len__(self) -> int:
        return len(self._names)


class FirstEvents:
    """The events before a (shared) snapshot, the snapshot, and the events after it."""

    __slots__ = ("_after", "_before", "_snapshot")

    def __init__(self, before: Iterable[WatchEvent] = (),
                 snapshot: SharedSnapshot | None = None,
                 after: Iterable[WatchEvent] = ()) -> None:
        self._before = list(before)
        self._snapshot: SharedSnapshot | tuple[()] = snapshot if snapshot is not None else ()
        self._after = list(after)

    def __iter__(self) -> Iterator[WatchEvent]:
        return itertools.chain(self._before, self._snapshot, self._after)

    def __len__(self) -> int:
        return len(self._before) + len(self._snapshot) + len(self._after)

    def __bool__(self) -> bool:
        return len(self) > 0

    def prepend(self, event: WatchEvent) -> None:
        self._before.insert(0, event)

    def append(self, event: WatchEvent) -> None:
        self._after.append(event)

    def chunks(self, size: int) -> Iterator[list[WatchEvent]]:
        """The events in order, ``size`` at a time: what a sender holds encoded at once."""
        events = iter(self)
        while chunk := list(itertools.islice(events, size)):
            yield chunk

    def clear(self) -> None:
        """Sent: the watch, which lives for months, keeps nothing of it."""
        self._before, self._snapshot, self._after = [], (), []
