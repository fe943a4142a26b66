"""Waiting for news, for a timeout, or for the client to go away, on the request's own task.

A parked blocking query or an idle SSE listener waits on ASGI ``receive()``: the only
message that can still come is ``http.disconnect`` (or the rest of a body nobody reads).
The watch hub's ``wake`` cancels that wait. So a long request needs no second task to
watch for its client going away, and no trio Event: one task, one cancel scope while it
waits (docs/performance.md, "bench_http.py": this is a third of what an idle SSE listener
held, and a task start and cancellation per woken query).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class Waited(enum.Enum):
    NEWS = "news"
    TIMEOUT = "timeout"
    GONE = "gone"  # the client disconnected


class Wakeup:
    """Set by the watch hub (synchronously, from the publisher) when there is news."""

    __slots__ = ("_news", "_waiting")

    def __init__(self) -> None:
        self._news = False
        self._waiting: trio.CancelScope | None = None

    def wake(self) -> None:
        self._news = True
        if self._waiting is not None:
            self._waiting.cancel()

    async def wait(self, receive: Receive, timeout: float) -> Waited:
        """Until news (at once if some came since the last wait), ``timeout`` seconds, or
        the client's disconnect, whichever is first. A memory channel's receive loses no
        message when cancelled, so a disconnect is still seen by a later wait."""
        if not self._news:
            with trio.move_on_after(timeout) as self._waiting:
                try:
                    while (await receive())["type"] != "http.disconnect":
                        pass  # a body nobody reads
                    return Waited.GONE
                finally:
                    self._waiting = None
        if self._news:
            self._news = False
            return Waited.NEWS
        return Waited.TIMEOUT
