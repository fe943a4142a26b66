"""Inbound connection slots that end with their connection, and a refusal a peer can read.

py-libp2p 0.8.1 (``Swarm._handle_inbound_connection``) takes a slot of
``_inbound_limiter`` (capacity ``max_connections - min_connections``, 250 by default)
for each accepted connection, and after a successful upgrade its handler waits on
``self.manager.wait_finished()``: the whole life of the swarm. The slot, the task and
the connection's objects were therefore held forever, and the 251st connection a
daemon ever accepted was dropped: a registry-service stopped serving after 250
short-lived clients.

Here a slot is held while its connection is open, so the limit bounds *concurrent*
inbound connections, as it was meant to. A connection over the limit is answered, in
the security negotiation, with the multistream header and ``REFUSAL`` (a line no
protocol negotiation produces), then closed: a dialer can tell "this instance is full"
from a fault (``docs/protocol.md``, "Connection limit").
"""

from __future__ import annotations

import functools
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import trio
from libp2p.abc import IMuxedConn
from libp2p.network.connection.raw_connection import RawConnection

from adapters.libp2p.error_chain import causes
from adapters.libp2p.multistream_messages import CONNECTION_LIMIT_REFUSAL, HEADER_MESSAGE, encoded
from adapters.libp2p.upstream.inbound_connection_task import (
    close_quietly,
    muxer_read_by_this_task,
    read_by_its_listener,
    read_until_closed,
)

log = logging.getLogger(__name__)

# What an over-limit listener sends in place of a security protocol's echo.
REFUSAL_LINE = CONNECTION_LIMIT_REFUSAL
REFUSAL = HEADER_MESSAGE + encoded(REFUSAL_LINE)
# Refusing costs a task until the dialer has read the refusal and gone: bounded in
# time, and in number (past it, the socket is simply closed).
REFUSAL_LINGER = 1.0
MAX_REFUSING = 64
REFUSAL_LOG_INTERVAL = 60.0


class InboundConnectionSlots:
    """At most ``limit`` concurrent inbound connections; counts what it refuses."""

    def __init__(
        self,
        limit: int,
        *,
        on_refused: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("the inbound connection limit must be at least 1")
        self.limit = limit
        self.limiter = trio.CapacityLimiter(limit)
        self._refusing = trio.CapacityLimiter(MAX_REFUSING)
        self._on_refused = on_refused
        self._clock = clock
        self._last_log = -REFUSAL_LOG_INTERVAL
        self.refused = 0

    @property
    def open(self) -> int:
        """Inbound connections holding a slot now."""
        return int(self.limiter.borrowed_tokens)

    def install(self, swarm: Any) -> None:
        """Handle the swarm's inbound connections with these slots."""
        swarm._inbound_limiter = self.limiter  # upstream reads its size in a log line
        swarm.registry_inbound_slots = self  # for inbound_slots_of

        # A partial, not a coroutine that awaits: a connection's task keeps one frame fewer.
        swarm._handle_inbound_connection = functools.partial(self.handle, swarm)

    async def handle(self, swarm: Any, read_write_closer: Any, maddr: Any) -> None:
        try:
            self.limiter.acquire_nowait()
        except trio.WouldBlock:
            await self._refuse(read_write_closer)
            return
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.limiter.release()

        try:
            await _serve_until_closed(swarm, read_write_closer, maddr, release)
        finally:
            release()

    async def _refuse(self, read_write_closer: Any) -> None:
        self.refused += 1
        self._on_refused()
        now = self._clock()
        if now - self._last_log >= REFUSAL_LOG_INTERVAL:
            self._last_log = now
            log.info(
                "refused an inbound connection: all %d slots are in use "
                "(--max-inbound-connections); %d refused so far",
                self.limit, self.refused,
            )
        try:
            self._refusing.acquire_nowait()
        except trio.WouldBlock:
            await close_quietly(read_write_closer)
            return
        try:
            with trio.move_on_after(REFUSAL_LINGER):
                await read_write_closer.write(REFUSAL)
                # Read until the dialer goes: closing with its bytes unread would turn
                # our FIN into a RST that can overtake the refusal.
                while await read_write_closer.read(65536):
                    pass
        except Exception:
            pass
        finally:
            self._refusing.release()
            await close_quietly(read_write_closer)


async def _serve_until_closed(
    swarm: Any, read_write_closer: Any, maddr: Any, closed: Callable[[], None]
) -> None:
    """Upgrade an inbound connection and return once it has closed (``closed`` may be
    called before: the connection is closed, its last handlers still running)."""
    enable_keepalive(read_write_closer)
    remote = swarm._build_remote_multiaddr(read_write_closer)
    if remote is not None and not await swarm.connection_gate.is_allowed(remote):
        await close_quietly(read_write_closer)
        return
    if isinstance(read_write_closer, IMuxedConn):  # QUIC and the like: already upgraded
        muxed: Any = read_write_closer
        try:
            await swarm.add_conn(muxed, direction="inbound")
        except Exception as exc:
            log.debug("inbound pre-multiplexed connection failed: %r", exc)
            await close_quietly(muxed)
            return
    else:
        # The PSK transport's connection is already one: no second wrapper to keep and pass.
        raw = (read_write_closer if isinstance(read_write_closer, RawConnection)
               and not read_write_closer.is_initiator
               else RawConnection(read_write_closer, False))
        try:
            with muxer_read_by_this_task():
                muxed = await swarm.upgrade_inbound_raw_conn(raw, maddr)
        except Exception as exc:
            log.debug("inbound connection failed: %r", exc)
            await close_quietly(raw)
            return
    if read_by_its_listener(muxed):
        await read_until_closed(swarm, muxed, closed)
    else:
        await muxed.event_closed.wait()


# A peer whose machine died (no FIN, no RST) is noticed within ~2 minutes, not hours:
# its slot would otherwise be held until the kernel's default of 2 h 11 min.
KEEPALIVE = ((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
             (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", 4), 60),
             (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", 5), 15),
             (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", 6), 4))


def enable_keepalive(conn: Any) -> bool:
    """Turn TCP keepalive on for the socket under ``conn`` (wrapped a few layers deep)."""
    for _ in range(5):
        sock = getattr(conn, "socket", None)
        if sock is not None and hasattr(sock, "setsockopt"):
            try:
                for level, option, value in KEEPALIVE:
                    sock.setsockopt(level, option, value)
            except OSError:
                return False
            return True
        conn = getattr(conn, "stream", None)
        if conn is None:
            return False
    return False


def is_connection_limit_refusal(exc: BaseException) -> bool:
    """Whether a failed dial was a listener's connection-limit refusal (``REFUSAL``)."""
    marker = REFUSAL_LINE.decode()
    return any(marker in str(err) for err in causes(exc))


def inbound_slots_of(swarm: Any) -> InboundConnectionSlots | None:
    return getattr(swarm, "registry_inbound_slots", None)
