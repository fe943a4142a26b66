"""Waiting for news, for a timeout, or for the client to go away, on the request's own task.

A parked blocking query or an idle SSE listener waits on ASGI ``receive()``: the only
message that can still come is ``http.disconnect`` (or the rest of a body nobody reads).
The watch hub's ``wake`` ends that wait: on our server through its ``WAKE`` extension
(``receive()`` returns, adapters/http/asgi.py), on any other by cancelling it. So a long
request needs no second task to watch for its client going away, and no trio Event
(docs/performance.md, "bench_http.py": 4.4 KiB of what an idle SSE listener held; waking
1000 waiting tasks by cancellation took 13-23 ms, through the extension 6-11 ms).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import trio

from adapters.http.asgi import WAKE, Receive, Scope


class Waited(enum.Enum):
    NEWS = "news"
    TIMEOUT = "timeout"
    GONE = "gone"  # the client disconnected


class Wakeup:
    """Set by the watch hub (synchronously, from the publisher) when there is news."""

    __slots__ = ("_news", "_waiting", "_wake_receive")

    def __init__(self, scope: Scope) -> None:
        self._news = False
        self._waiting: trio.CancelScope | None = None
        self._wake_receive: Callable[[], None] | None = scope.get("extensions", {}).get(WAKE)

    def wake(self) -> None:
        self._news = True
        if self._waiting is not None:
            if self._wake_receive is not None:
                self._wake_receive()
            else:
                self._waiting.cancel()

    async def wait(self, receive: Receive, timeout: float) -> Waited:
        """Until news (at once if some came since the last wait), ``timeout`` seconds, or
        the client's disconnect, whichever is first. A cancelled ``receive()`` loses no
        message, so a disconnect is still seen by a later wait."""
        if not self._news:
            with trio.move_on_after(timeout) as self._waiting:
                try:
                    while True:
                        kind = (await receive())["type"]
                        if kind == "http.disconnect":
                            return Waited.GONE
                        if kind == WAKE and self._news:
                            break  # (else a late wake of an earlier wait, or a body)
                finally:
                    self._waiting = None
        if self._news:
            self._news = False
            return Waited.NEWS
        return Waited.TIMEOUT
