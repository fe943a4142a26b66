"""`GET /v1/events`: the `/watch/0.1` feed as Server-Sent Events.

Each event is ``event: <Type>``, ``id: <Revision>`` and ``data: <the /watch/0.1
JSON line>``. The PUTs of the initial state (and a RESET) carry no ``id``: their
revisions are not in order, so resuming from one of them could skip records. A
browser's EventSource then reconnects with the ``Last-Event-ID`` of the last event
that had one, and gets exactly the changes after it: no gap, no duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import trio

from application.watch import Subscription, WatchClosed
from domain.watch_wire import EventType, WatchEvent

PROGRESS_INTERVAL = 5.0  # as /watch/0.1: a quiet stream hears PROGRESS at least every 10 s
_encode = msgspec.json.Encoder().encode


class Wakeup:
    """Set by the watch hub (synchronously, from the publisher) when there is news."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = trio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """Whether news came within ``timeout`` seconds."""
        with trio.move_on_after(timeout):
            await self._event.wait()
        woken = self._event.is_set()
        if woken:
            self._event = trio.Event()
        return woken


class SseFramer:
    """Frames events; knows whether the stream is inside a state snapshot (no ids there)."""

    def __init__(self, *, snapshot_first: bool) -> None:
        self._in_snapshot = snapshot_first

    def frame(self, event: WatchEvent) -> bytes:
        if event.type is EventType.RESET:
            self._in_snapshot = True
        elif event.type is EventType.SYNCED:
            self._in_snapshot = False
        head = b"event: " + event.type.value.encode() + b"\n"
        if (not self._in_snapshot and event.revision
                and event.type not in (EventType.RESET, EventType.ERROR)):
            head += b"id: %d\n" % event.revision
        return head + b"data: " + _encode(event) + b"\n\n"

    def frames(self, events: list[WatchEvent]) -> bytes:
        return b"".join(self.frame(e) for e in events)


async def event_stream(
    subscription: Subscription, first: list[WatchEvent], wakeup: Wakeup, *,
    snapshot_first: bool, progress_interval: float = PROGRESS_INTERVAL,
) -> AsyncIterator[bytes]:
    framer = SseFramer(snapshot_first=snapshot_first)
    try:
        yield b"retry: 1000\n\n" + framer.frames(first)
        while True:
            try:
                events = subscription.take()
            except WatchClosed as exc:
                yield framer.frame(WatchEvent(type=EventType.ERROR, error=str(exc)))
                return
            if events:
                yield framer.frames(events)
            elif not await wakeup.wait(progress_interval):
                yield framer.frame(subscription.progress())
    finally:
        subscription.close()
