"""One trio task per inbound connection: its listener's, which also reads it and starts
each new stream's handler.

py-libp2p 0.8.1 keeps three tasks waiting on every inbound connection:
- the listener's handler: trio closes the socket once it returns, so it waits for the
  connection to close (inbound_slots.py);
- the Yamux read loop, run by the swarm's service manager;
- the SwarmConn's accept loop, also run by the manager, which takes each new stream
  from a memory channel the read loop fills and starts its handler.
Each is a task with its coroutine frames, cancel scope and the manager's bookkeeping
(Events, a task record): a connected watcher holds one such connection, and 1000 of
them are most of a daemon's memory (docs/performance.md, "bench_scale.py").

Here the listener's task runs the read loop itself once the swarm has registered the
connection, and the read loop starts a new stream's handler in a nursery of that task,
where the accept loop started it before. Upstream's ``start`` methods then only mark the
muxer and the SwarmConn started. When the read loop ends, the SwarmConn is closed, as
the accept loop closed it. Outbound connections are left as upstream makes them.
tests/unit/test_inbound_connection_task.py checks the tasks a served connection has.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import trio
from libp2p.network.connection.swarm_connection import SwarmConn
from libp2p.network.stream.net_stream import StreamState

from adapters.libp2p.set_events import set_for_good

log = logging.getLogger(__name__)

# Set while a listener's task upgrades its connection: the muxer made then is read there.
_UPGRADING_INBOUND: ContextVar[bool] = ContextVar("upgrading_inbound", default=False)


class StreamsToHandlers:
    """Stands in a Yamux muxer for its new-stream channel: ``send`` starts the stream's
    handler in the connection's nursery instead of queueing it for an accept loop."""

    __slots__ = ("_closed", "_nursery", "_swarm_conn")

    def __init__(self) -> None:
        self._nursery: trio.Nursery | None = None
        self._swarm_conn: Any = None
        self._closed = False

    async def send(self, stream: Any) -> None:
        if self._closed or self._nursery is None:
            raise trio.ClosedResourceError("the connection no longer takes new streams")
        if self._swarm_conn.event_closed.is_set():
            return  # the accept loop dropped a stream that came as its connection closed
        self._nursery.start_soon(self._swarm_conn._handle_muxed_stream, stream)

    def close(self) -> None:
        self._closed = True

    async def muxer_closed(self) -> None:
        """The muxer's ``on_close`` (a coroutine function: ``Yamux.close`` awaits it): the
        SwarmConn's clean-up (which sleeps 0.1 s for the streams' handlers) runs beside
        the read loop, which ends now, not after it."""
        if self._nursery is not None:
            self._nursery.start_soon(close_quietly, self._swarm_conn)

    async def receive(self) -> Any:
        raise RuntimeError("this connection's new streams go straight to their handlers")


@contextlib.contextmanager
def muxer_read_by_this_task() -> Iterator[None]:
    """Around an inbound upgrade: the muxer it makes is read by the calling task."""
    token = _UPGRADING_INBOUND.set(True)
    try:
        yield
    finally:
        _UPGRADING_INBOUND.reset(token)


def take_new_streams(muxer: Any) -> None:
    """From a muxer's ``__init__``: an inbound muxer made under
    :func:`muxer_read_by_this_task` starts its streams' handlers itself. (Tasks spawned
    during the upgrade inherit the flag; the streams of what they dial are outbound.)"""
    if _UPGRADING_INBOUND.get() and not muxer.is_initiator_value:
        # The same attribute names: the muxer's compact __dict__ keeps its size.
        muxer.new_stream_send_channel = muxer.new_stream_receive_channel = StreamsToHandlers()


def read_by_its_listener(muxer: Any) -> bool:
    return type(getattr(muxer, "new_stream_send_channel", None)) is StreamsToHandlers


async def read_until_closed(swarm: Any, muxer: Any, closed: Callable[[], None]) -> None:
    """The read loop of a registered inbound connection, its streams' handlers and its
    clean-up beside it. ``closed`` is called once the connection is closed, before the
    handlers and the clean-up have finished."""
    streams: StreamsToHandlers = muxer.new_stream_send_channel
    swarm_conn = next((conn for conn in swarm.connections.get(muxer.peer_id, ())
                       if conn.muxed_conn is muxer), None)
    if swarm_conn is None:  # closed before the swarm registered it
        await close_quietly(muxer)
        return
    try:
        async with trio.open_nursery() as nursery:
            streams._nursery, streams._swarm_conn = nursery, swarm_conn
            muxer.on_close = streams.muxer_closed
            try:
                await muxer.handle_incoming()
            except Exception as exc:  # a connection's fault never reaches the listener
                log.debug("inbound connection from %s ended: %r", muxer.peer_id, exc)
            finally:
                # As the accept loop did when the read loop ended (a no-op if closed).
                nursery.start_soon(close_quietly, swarm_conn)
                streams.close()
                streams._nursery = streams._swarm_conn = None  # no cycle through the muxer
                closed()
    except Exception as exc:
        # A stream's set-up or clean-up failed outside its handler (which pipelined_
        # multiselect.py guards): it ends this connection, never the listener or the host.
        log.warning("inbound connection from %s ended: a stream failed: %r", muxer.peer_id, exc)
        await close_quietly(swarm_conn)


def mark_started_without_accept_loop() -> None:
    """Process-wide: a SwarmConn whose muxer is read by its listener runs no accept loop."""
    if hasattr(SwarmConn.start, "__wrapped__"):
        return
    upstream_start = SwarmConn.start

    async def start(self: SwarmConn) -> None:
        if not read_by_its_listener(self.muxed_conn):
            await upstream_start(self)
            return
        for stream in self.get_streams():
            await stream.set_state(StreamState.OPEN)
        self.event_started = set_for_good(self.event_started)

    start.__wrapped__ = upstream_start  # type: ignore[attr-defined]
    SwarmConn.start = start  # type: ignore[method-assign]


async def close_quietly(conn: Any) -> None:
    """Close, within 1 s, even in a cancelled scope; a failure to close is no news."""
    with trio.CancelScope(shield=True), trio.move_on_after(1.0), contextlib.suppress(Exception):
        await conn.close()
