"""`GET /v1/events` as a bare ASGI handler, not a Starlette route.

An SSE listener lives for hours, so what it holds counts (docs/performance.md, "HTTP
API"): Starlette's Request and StreamingResponse, with its AnyIO task group, cost about
9 KiB per listener. This handler parses what it needs from the ASGI scope itself and
watches for the client going away with one trio task of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import trio

from adapters.http.disconnect import cancel_on_disconnect
from adapters.http.query import BadQuery, names_list, non_negative_int
from adapters.http.sse import PROGRESS_INTERVAL, Wakeup, event_stream
from application.http_access import Forbidden, HttpAccess, Unauthenticated
from application.watch import WatchHub, open_watch
from application.watch_ports import ChangeHistory, FeedUnavailable
from domain.watch_wire import WatchRequest

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

EVENTS_PATH = "/v1/events"
_encode = msgspec.json.Encoder().encode


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
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        wakeup = Wakeup()
        try:
            self._access.read(headers.get("authorization"))
            since = headers.get("last-event-id") or query.get("index") or "0"
            watch = WatchRequest(
                names=names_list(query.get("names")), prefix=query.get("prefix", ""),
                since_revision=non_negative_int({"Last-Event-ID": since}, "Last-Event-ID") or 0,
            )
            subscription, first = await open_watch(self._hub, self._history, watch, wakeup.wake)
        except Unauthenticated as exc:
            await _error(send, 401, str(exc), [(b"www-authenticate", b'Bearer realm="registry"')])
            return
        except Forbidden as exc:
            await _error(send, 403, str(exc))
            return
        except FeedUnavailable as exc:
            await _error(send, 503, str(exc), [(b"retry-after", b"1")])
            return
        except (BadQuery, ValueError) as exc:
            await _error(send, 400, str(exc).splitlines()[0])
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"),
            (b"x-registry-index", str(self._hub.revision).encode()),
        ]})
        events = event_stream(subscription, first, wakeup,
                              snapshot_first=watch.since_revision == 0,
                              progress_interval=self._progress_interval)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(cancel_on_disconnect, receive, nursery.cancel_scope)
            async for chunk in events:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            nursery.cancel_scope.cancel()


async def _error(
    send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = _encode({"Error": message})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
