"""What a new watch sends before its queue, without a copy of the registry per watcher.

A watch from revision 0 starts with one PUT per record. Built per watcher, 1000
proxies reconnecting to an instance of 100 000 records each held their own 100 000
events and their encoded lines at once (+1.9 GB RSS for 20 of them here). Now the
snapshot's events are one ``SharedSnapshot`` that every watch opened at the same
revision with the same filter refers to, and they are sent a chunk at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from domain.watch_wire import WatchEvent


class SharedSnapshot(list[WatchEvent]):
    """The snapshot's events, never changed once made. A list only because a tuple
    cannot be weakly referenced: the hub keeps it while some watch still sends it."""

    __slots__ = ("__weakref__",)


class FirstEvents:
    """The events before a (shared) snapshot, the snapshot, and the events after it."""

    __slots__ = ("_after", "_before", "_snapshot")

    def __init__(self, before: Iterable[WatchEvent] = (),
                 snapshot: SharedSnapshot | None = None,
                 after: Iterable[WatchEvent] = ()) -> None:
        self._before = list(before)
        self._snapshot: list[WatchEvent] = snapshot if snapshot is not None else []
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
        self._before, self._snapshot, self._after = [], [], []
