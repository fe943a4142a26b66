"""Hypercorn's trio worker, inside the daemon's own trio loop, with our connection bounds.

The seam with Hypercorn is here and in adapters/http/connection.py alone.
``hypercorn.trio.serve`` makes its own listeners, which leaves no place to bound the
number of open connections or to stop a client that never reads its answers (Hypercorn
shields its socket writes from cancellation). So we serve Hypercorn's protocol on our
own listeners, as ``hypercorn.trio.run.worker_serve`` does, with streams that hold a
connection slot and time out a send that makes no progress, each connection run by
``connection.Connection`` (leaner than Hypercorn's ``TCPServer``; its docstring says how).
tests/unit/test_http_server_seam.py fails if Hypercorn changes what we rely on.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.worker_context import WorkerContext

from adapters.http.connection import Connection

log = logging.getLogger("registry-service.http")


@dataclass(frozen=True)
class HttpLimits:
    """docs/http.md, "Limits"."""

    # Open connections; beyond it new ones wait in the kernel's backlog until one closes.
    max_connections: int = 1024
    # From connection open (or the end of the last answer) to a complete request head:
    # both the header timeout and the keep-alive idle timeout. (A body is bounded by the
    # app's body timeout; nothing bounds a client's silence while its answer is under way:
    # an SSE listener or a parked blocking query sends nothing for minutes.)
    header_timeout: float = 10.0
    # A write of an answer (or an event) that makes no progress for this long ends the
    # connection: a client that stops reading cannot hold it.
    send_timeout: float = 30.0
    # Request line plus headers.
    max_head_bytes: int = 16 * 1024


class GuardedStream(trio.abc.HalfCloseableStream):
    """A SocketStream that releases its connection slot once closed and bounds each send."""

    __slots__ = ("_inner", "_limiter", "_send_timeout", "_token", "socket")

    def __init__(
        self, inner: trio.SocketStream, limiter: trio.CapacityLimiter, token: object,
        send_timeout: float,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._token: object | None = token
        self._send_timeout = send_timeout
        self.socket = inner.socket  # Hypercorn reads the peer's address from it

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:  # type: ignore[override]
        with trio.move_on_after(self._send_timeout) as scope:
            await self._inner.send_all(bytes(data) if isinstance(data, bytearray) else data)
        if scope.cancelled_caught:
            await trio.aclose_forcefully(self._inner)
            self._release()
            raise trio.BrokenResourceError("the client did not read its answer in time")

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self._inner.receive_some(max_bytes)

    async def send_eof(self) -> None:
        await self._inner.send_eof()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._release()

    def _release(self) -> None:
        if self._token is not None:
            self._limiter.release_on_behalf_of(self._token)
            self._token = None


class LimitedListener(trio.abc.Listener[trio.abc.Stream]):
    """Accepts only while fewer than ``limiter.total_tokens`` connections are open."""

    def __init__(
        self, inner: trio.SocketListener, limiter: trio.CapacityLimiter, send_timeout: float
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._send_timeout = send_timeout
        self.socket = inner.socket

    async def accept(self) -> GuardedStream:
        token = object()
        await self._limiter.acquire_on_behalf_of(token)
        try:
            stream = await self._inner.accept()
        except BaseException:
            self._limiter.release_on_behalf_of(token)
            raise
        return GuardedStream(stream, self._limiter, token, self._send_timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()


def as_hypercorn_app(app: Any) -> Callable[..., Awaitable[None]]:
    """What Hypercorn's ``_handle`` calls, for an ASGI 3 app (as its ``ASGIWrapper``)."""

    def call(scope: Any, receive: Any, send: Any, sync_spawn: Any, call_soon: Any
             ) -> Awaitable[None]:
        return app(scope, receive, send)  # type: ignore[no-any-return]

    return call


def hypercorn_config(limits: HttpLimits, cert: Path | None, key: Path | None) -> Config:
    config = Config()
    config.keep_alive_timeout = limits.header_timeout
    config.h11_max_incomplete_size = limits.max_head_bytes
    config.h2_max_inbound_frame_size = 16 * 1024
    config.accesslog = None
    config.errorlog = log
    if cert is not None and key is not None:
        config.certfile, config.keyfile = str(cert), str(key)
    return config


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(str(cert), str(key))
    return context


async def serve_http(
    app: Any, host: str, port: int, limits: HttpLimits, *,
    cert: Path | None = None, key: Path | None = None,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled; ``started`` with the bound (host, port)."""
    config = hypercorn_config(limits, cert, key)
    limiter = trio.CapacityLimiter(limits.max_connections)
    sockets = await trio.open_tcp_listeners(port, host=host)
    listeners: list[trio.abc.Listener[Any]] = [
        LimitedListener(s, limiter, limits.send_timeout) for s in sockets
    ]
    if cert is not None and key is not None:
        context = tls_context(cert, key)
        listeners = [trio.SSLListener(lst, context, https_compatible=True) for lst in listeners]
    bound = sockets[0].socket.getsockname()[:2]
    worker = WorkerContext(None)

    # Plain functions that return the coroutine, here and in as_hypercorn_app: a
    # coroutine frame fewer held by each open connection (docs/performance.md).
    def handler(stream: trio.abc.Stream) -> Awaitable[None]:
        return Connection(as_hypercorn_app(app), config, worker, stream).run()

    task_status.started((bound[0], int(bound[1])))
    await trio.serve_listeners(handler, listeners)
