"""`GET /v1/events`: the `/watch/0.1` feed as Server-Sent Events.

Each event is ``event: <Type>``, ``id: <Revision>`` and ``data: <the /watch/0.1
JSON line>``. The PUTs of the initial state (and a RESET) carry no ``id``: their
revisions are not in order, so resuming from one of them could skip records. A
browser's EventSource then reconnects with the ``Last-Event-ID`` of the last event
that had one, and gets exactly the changes after it: no gap, no duplicate.
"""

from __future__ import annotations

import msgspec

from domain.watch_wire import EventType, WatchEvent

PROGRESS_INTERVAL = 5.0  # as /watch/0.1: a quiet stream hears PROGRESS at least every 10 s
_encode = msgspec.json.Encoder().encode


class SseFramer:
    """Frames events; knows whether the stream is inside a state snapshot (no ids there)."""

    __slots__ = ("_in_snapshot",)

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
