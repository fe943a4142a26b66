"""`GET /v1/events` as a bare ASGI handler, not a Starlette route.

An SSE listener lives for hours, so what it holds counts (docs/performance.md,
"bench_http.py"): Starlette's Request and StreamingResponse, with its AnyIO task group,
cost about 9 KiB per listener, and a task of our own watching for the client going away
with its nursery and Event about 4 KiB more. This handler parses what it needs from the ASGI scope
itself and waits for news, the next PROGRESS or the client's disconnect on its own task
(adapters/http/wakeup.py).
"""

from __future__ import annotations

from adapters.http.asgi import Receive, Scope, Send, error, header, query
from adapters.http.errors import send_error_answer
from adapters.http.query import names_list, non_negative_int
from adapters.http.sse import PROGRESS_INTERVAL, SseFramer
from adapters.http.wakeup import Waited, Wakeup
from application.first_events import FirstEvents
from application.http_access import HttpAccess
from application.watch import Subscription, WatchClosed, WatchHub, open_watch
from application.watch_ports import ChangeHistory, FeedUnavailable
from domain.watch_wire import EventType, WatchEvent, WatchRequest

EVENTS_PATH = "/v1/events"
# A snapshot goes out this many events per write, as on `/watch/0.1`.
FIRST_EVENTS_PER_WRITE = 256


class SseEndpoint:
    def __init__(
        self, access: HttpAccess, hub: WatchHub, history: ChangeHistory,
        progress_interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self._access = access
        self._hub = hub
        self._history = history
        self._progress_interval = progress_interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wakeup = Wakeup(scope)
        try:
            since, subscription, first = await self._open(scope, wakeup)
        except FeedUnavailable as exc:
            await error(send, 503, str(exc), [(b"retry-after", b"1")])
            return
        except Exception as exc:  # a token, a query: answered as by every route
            await send_error_answer(send, exc, scope)
            return
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"),
                (b"x-registry-index", b"%d" % self._hub.revision),
            ]})
            framer = SseFramer(snapshot_first=since == 0)
            await _send(send, b"retry: 1000\n\n")
            await _send_first(send, framer, first)
            while True:  # (here, not in a function of its own: one frame less per listener)
                try:
                    events = subscription.take()
                except WatchClosed as exc:
                    await _send(send, framer.frame(
                        WatchEvent(type=EventType.ERROR, error=str(exc))))
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                if events:
                    await _send(send, framer.frames(events))
                    continue
                waited = await wakeup.wait(receive, self._progress_interval)
                if waited is Waited.GONE:
                    return
                if waited is Waited.TIMEOUT:
                    await _send(send, framer.frame(subscription.progress()))
        finally:
            subscription.close()

    async def _open(
        self, scope: Scope, wakeup: Wakeup
    ) -> tuple[int, Subscription, FirstEvents]:
        self._access.read(header(scope, b"authorization"))
        params = query(scope)
        # A reconnect's Last-Event-ID, else ?index=; the error names the one given.
        resumed = header(scope, b"last-event-id")
        field, since = ("Last-Event-ID", resumed) if resumed else (
            "index", params.get("index") or "0")
        watch = WatchRequest(
            names=names_list(params.get("names")), prefix=params.get("prefix", ""),
            since_revision=non_negative_int({field: since}, field) or 0,
        )
        subscription, first = await open_watch(self._hub, self._history, watch, wakeup.wake)
        return watch.since_revision, subscription, first


async def _send_first(send: Send, framer: SseFramer, first: FirstEvents) -> None:
    for chunk in first.chunks(FIRST_EVENTS_PER_WRITE):  # one chunk's frames at once
        await _send(send, framer.frames(chunk))
    first.clear()  # a snapshot can be large, and a listener stays for hours


async def _send(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})
