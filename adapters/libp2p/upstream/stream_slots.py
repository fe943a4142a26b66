"""At most so many streams open at once on one inbound connection, and a readable refusal.

py-libp2p 0.8.1 bounds only the streams a connection has not yet accepted (Yamux's
backlog of 256); a peer can keep opening streams, each with its handler task, as fast
as it likes. Our listener's negotiation (pipelined_multiselect) takes a slot for each
stream it hands to a handler and gives it back when the handler returns. One over the
limit is answered, where the protocol's echo belongs, with ``STREAM_LIMIT_REFUSAL``
(docs/protocol.md, "Stream limit") and reset; the connection's other streams go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

log = logging.getLogger(__name__)

REFUSAL_LOG_INTERVAL = 60.0


class StreamSlots:
    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("the stream limit must be at least 1")
        self.limit = limit
        # Keyed by the muxed connection, weakly: a connection that goes takes its count.
        self._open: WeakKeyDictionary[Any, int] = WeakKeyDictionary()
        self._clock = clock
        self._last_log = -REFUSAL_LOG_INTERVAL
        self.refused = 0

    def open_on(self, conn: Any) -> int:
        return self._open.get(conn, 0)

    def take(self, conn: Any) -> bool:
        held = self._open.get(conn, 0)
        if held >= self.limit:
            self._refused()
            return False
        self._open[conn] = held + 1
        return True

    def give_back(self, conn: Any) -> None:
        held = self._open.get(conn, 0) - 1
        if held > 0:
            self._open[conn] = held
        else:
            self._open.pop(conn, None)

    def _refused(self) -> None:
        self.refused += 1
        now = self._clock()
        if now - self._last_log >= REFUSAL_LOG_INTERVAL:
            self._last_log = now
            log.info(
                "refused a stream: its connection has all %d stream slots in use "
                "(--max-streams-per-connection); %d refused so far", self.limit, self.refused,
            )


def stream_slots_of(host: Any) -> StreamSlots | None:
    return getattr(host, "registry_stream_slots", None)
