"""What an HTTP client holds is released when it goes: SSE listeners and parked blocking
queries leave the watch hub once their connections close (the app on our server, over
in-memory fakes, on loopback)."""

from __future__ import annotations

import trio

from adapters.http.app import HttpParts, build_app
from adapters.http.server import HttpLimits, serve_http
from adapters.memory.http import ListingStore, MemoryHttpWrites, MemoryTokens
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.http_access import HttpAccess
from application.http_health import Health
from application.http_registry import HttpRegistry


def _app(store: InMemoryRevisionedStore):  # type: ignore[no-untyped-def]
    registry = HttpRegistry(ListingStore(store), store, store.hub, store,  # type: ignore[arg-type]
                            RecordingMetrics(), MemoryHttpWrites())

    async def healthy() -> Health:
        return Health.OK

    return build_app(HttpParts(
        registry=registry, access=HttpAccess(MemoryTokens(), open_reads=True), hub=store.hub,
        history=store, status=None, health=healthy, targets=None))  # type: ignore[arg-type]


async def _open(port: int, request: bytes, until: bytes | None) -> trio.SocketStream:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(request)
    seen = b""
    while until is not None and until not in seen:
        seen += await stream.receive_some(65536)
    return stream


async def test_gone_sse_listeners_and_parked_queries_leave_the_hub():
    store = InMemoryRevisionedStore()
    await store.put_if("web", "{}", None)
    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_http, _app(store), "127.0.0.1", 0,
                                      HttpLimits(header_timeout=1))
        sse = [await _open(port, b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n", b"SYNCED")
               for _ in range(20)]
        parked = [await _open(port, f"GET /v1/services/web?index={store.revision}&wait=60s "
                                    "HTTP/1.1\r\nHost: x\r\n\r\n".encode(), None)
                  for _ in range(20)]
        with trio.fail_after(5):
            while store.hub.watchers < 40:
                await trio.sleep(0.01)
        for stream in sse + parked:
            await stream.aclose()
        with trio.fail_after(10):
            while store.hub.watchers:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
