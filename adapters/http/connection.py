"""One HTTP connection: Hypercorn's protocol (h11, HTTP/2) driven by a leaner trio loop.

This takes the place of ``hypercorn.trio.tcp_server.TCPServer`` and its ``TaskGroup``,
which are Hypercorn's glue between its protocol classes and trio, and keeps everything
else of Hypercorn: ``ProtocolWrapper`` parses and frames HTTP, and Hypercorn's own
``_handle`` runs the ASGI app. What differs, and why (docs/performance.md,
"bench_http.py"; an idle SSE listener or a parked blocking query holds one connection for
minutes or hours, and a fleet opens thousands):

- **The header and idle timeout is a deadline on the read, not a task.** Hypercorn
  starts an idle-timeout task at every request's end (a task start per request, and a
  lock per connection); here the connection's own nursery gets the deadline while the
  connection is idle and none while a request runs.
- **No read timeout while an answer is under way.** Hypercorn bounds every read with
  ``read_timeout``, also while the app answers, so a quiet SSE stream or a blocking
  query longer than that was cut off (its client sends nothing meanwhile). A request
  head is bounded by the header timeout, a body by the app's body timeout.
- **A request's ASGI messages wait in a list, not a trio memory channel** (about 2 KiB
  less per connection): at most ``MAX_WAITING`` of them, the protocol waiting when full,
  as with Hypercorn's ``max_app_queue_size``. And the app can wake its own ``receive()``
  (the ASGI extension ``adapters.http.asgi.WAKE``).

tests/unit/test_http_server_seam.py fails if Hypercorn changes what this relies on.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.protocol import ProtocolWrapper
from hypercorn.trio.task_group import _handle
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import parse_socket_addr

from adapters.http.asgi import WAKE

MAX_RECV = 2**16  # as Hypercorn
MAX_WAITING = 10  # ASGI messages waiting for the app (Hypercorn's max_app_queue_size)

Message = MutableMapping[str, Any]


_WAKE_MESSAGE: Message = {"type": WAKE}


class _Inbox:
    """One request's ASGI ``receive()``: messages from the protocol, in order."""

    __slots__ = ("_messages", "_receiver", "_sender", "_woken")

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._receiver: trio.lowlevel.Task | None = None
        self._sender: trio.lowlevel.Task | None = None
        self._woken = False

    def wake(self) -> None:
        """The pending ``receive()`` (else the next one that finds no message) returns
        ``{"type": WAKE}``."""
        self._woken = True
        if self._receiver is not None:
            trio.lowlevel.reschedule(self._receiver)
            self._receiver = None

    async def put(self, message: Message) -> None:
        while len(self._messages) >= MAX_WAITING:
            if self._sender is not None:
                raise trio.BusyResourceError("two tasks put at once")
            self._sender = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(self._abort_put)
        self._messages.append(message)
        if self._receiver is not None:
            trio.lowlevel.reschedule(self._receiver)
            self._receiver = None

    async def receive(self) -> Message:
        while not self._messages:
            if self._woken:
                self._woken = False
                return _WAKE_MESSAGE
            if self._receiver is not None:
                raise trio.BusyResourceError("two tasks receive at once")
            self._receiver = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(self._abort_receive)
        message = self._messages.pop(0)
        if self._sender is not None:
            trio.lowlevel.reschedule(self._sender)
            self._sender = None
        return message

    # (cancelled while parked: nothing was taken or put)
    def _abort_put(self, _: Any) -> trio.lowlevel.Abort:
        self._sender = None
        return trio.lowlevel.Abort.SUCCEEDED

    def _abort_receive(self, _: Any) -> trio.lowlevel.Abort:
        self._receiver = None
        return trio.lowlevel.Abort.SUCCEEDED


class Connection:
    """Serves one accepted stream until the client or the idle timeout ends it."""

    __slots__ = ("_app", "_config", "_context", "_handling", "_idle_until", "_nursery",
                 "_protocol", "_send_waiters", "_sending", "_stream")

    def __init__(
        self, app: Any, config: Config, context: WorkerContext, stream: trio.abc.Stream
    ) -> None:
        self._app = app
        self._config = config
        self._context = context
        self._stream: Any = stream
        self._sending = False
        self._send_waiters: trio.lowlevel.ParkingLot | None = None  # made on contention
        self._idle_until = math.inf
        self._handling = True  # (until the read loop starts)

    async def run(self) -> None:
        stream: Any = self._stream
        try:
            if isinstance(stream, trio.SSLStream):
                try:
                    with trio.fail_after(self._config.ssl_handshake_timeout):
                        await stream.do_handshake()
                except (trio.BrokenResourceError, trio.TooSlowError):
                    return
                alpn: str | None = stream.selected_alpn_protocol()
                socket = stream.transport_stream.socket  # type: ignore[attr-defined]
                ssl = True
            else:
                alpn, socket, ssl = "http/1.1", stream.socket, False
            client = parse_socket_addr(socket.family, socket.getpeername())
            server = parse_socket_addr(socket.family, socket.getsockname())
            # The nursery's deadline is the idle timeout: set while the connection is idle
            # (so no app task runs), none while a request runs.
            async with trio.open_nursery() as self._nursery:
                self._protocol = ProtocolWrapper(
                    self._app, self._config, self._context, self,  # type: ignore[arg-type]
                    ConnectionState({}), ssl, client, server, self._send, alpn)
                await self._protocol.initiate()
                self._idle(True)
                await self._read()
            if self._nursery.cancel_scope.cancelled_caught:  # the idle timeout
                await self._protocol.handle(Closed())
        except OSError:
            pass
        finally:
            await self._close()

    async def _read(self) -> None:
        scope = self._nursery.cancel_scope
        while True:
            self._handling, scope.deadline = False, self._idle_until
            try:
                data = await self._stream.receive_some(MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            # The protocol may wait (for the app to take a body, for a pipelined
            # request's turn) while handling: no idle deadline meanwhile.
            self._handling, scope.deadline = True, math.inf
            await self._protocol.handle(RawData(bytes(data)))
            if not data:
                break
        await self._protocol.handle(Closed())

    def _idle(self, idle: bool) -> None:
        self._idle_until = (trio.current_time() + self._config.keep_alive_timeout
                            if idle else math.inf)
        if not self._handling:
            self._nursery.cancel_scope.deadline = self._idle_until

    async def _send(self, event: Event) -> None:
        """The protocol's output (as ``TCPServer.protocol_send``)."""
        if isinstance(event, RawData):
            if event.data:  # (h11 ends a body of known length with no bytes)
                await self._send_data(event.data)
        elif isinstance(event, Closed):
            await self._close()
            await self._protocol.handle(Closed())
        elif isinstance(event, Updated):
            self._idle(event.idle)

    async def _send_data(self, data: bytes) -> None:
        while self._sending:  # the app and the protocol (100 Continue, errors) both send
            if self._send_waiters is None:
                self._send_waiters = trio.lowlevel.ParkingLot()
            await self._send_waiters.park()
        self._sending = True
        try:
            with trio.CancelScope(shield=True):  # a cut write would garble the stream
                await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self._protocol.handle(Closed())
        finally:
            self._sending = False
            if self._send_waiters is not None:
                self._send_waiters.unpark()

    async def _close(self) -> None:
        # (gone already, or TLS: no half-close)
        with contextlib.suppress(trio.BrokenResourceError, AttributeError,
                                 trio.BusyResourceError, trio.ClosedResourceError):
            await self._stream.send_eof()
        await self._stream.aclose()

    # --- the task group the protocol spawns its streams' apps in ----------------------

    async def spawn_app(
        self, app: Any, config: Config, scope: Any,
        send: Callable[[Any], Awaitable[None]],
    ) -> Callable[[Message], Awaitable[None]]:
        inbox = _Inbox()
        scope["extensions"][WAKE] = inbox.wake
        self._nursery.start_soon(_handle, app, config, scope, inbox.receive, send,
                                 trio.to_thread.run_sync, trio.from_thread.run)
        return inbox.put

    def spawn(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        self._nursery.start_soon(func, *args)
