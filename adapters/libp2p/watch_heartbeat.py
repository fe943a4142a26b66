"""Watch streams that notice within seconds when their instance stops answering.

A registry-service that is stopped (SIGSTOP, a hung machine) or cut off by the network
sends nothing, and TCP takes minutes to notice; a quiet watch stream gets a PROGRESS
line only every 5 s. So while a stream waits for its next line, its connection is
pinged whenever nothing was heard from the instance for ``idle`` s: a Yamux PING frame
(upstream/yamux_ping.py: answered in the peer's muxer, no stream), or on a connection
that is not Yamux a libp2p ping (`/ipfs/ping/1.0.0`). A line or a ping answer is a sign
of life.

- After ``silent_after`` s without one, ``on_silence(provider, True)`` is called (the view
  marks itself stale); the next sign of life calls ``on_silence(provider, False)``.
- After ``abandon_after`` s without one, the stream ends with a ConnectionError and the
  watch resumes elsewhere. Abandoning later than flagging keeps a loaded instance, slow
  to answer a ping, from being dropped for a mere hiccup (each drop costs a reconnect).

Pings are shared per connection: the views of one node send one ping at a time over it
(py-libp2p also answers at most 2 concurrent ping streams per peer, and resets more).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from weakref import WeakKeyDictionary

import trio
from libp2p.abc import IHost, IMuxedConn
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from adapters.libp2p.upstream.yamux_ping import NotYamux, yamux_ping
from adapters.libp2p.watch_client import Libp2pWatchStream, Libp2pWatchTransport

PING_PROTOCOL = TProtocol("/ipfs/ping/1.0.0")
PING_SIZE = 32

SilenceListener = Callable[[str, bool], object]


class HeartbeatWatchTransport:
    """Each stream's heartbeat runs in ``nursery`` until the stream is closed."""

    def __init__(
        self,
        inner: Libp2pWatchTransport,
        host: IHost,
        nursery: trio.Nursery,
        *,
        on_silence: SilenceListener | None = None,
        idle: float = 0.4,
        ping_timeout: float = 0.7,
        silent_after: float = 1.2,
        abandon_after: float = 4.0,
    ) -> None:
        self._inner = inner
        self._host = host
        self._nursery = nursery
        self._on_silence = on_silence or (lambda provider, silent: None)
        self._timing = (idle, ping_timeout, silent_after, abandon_after)

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> HeartbeatWatchStream:
        stream = await self._inner.open_watch(request, avoid)
        watched = HeartbeatWatchStream(stream, _pings(self._host, stream), self._on_silence,
                                       *self._timing)
        self._nursery.start_soon(watched.heartbeat)
        return watched


class HeartbeatWatchStream:
    def __init__(
        self,
        inner: Libp2pWatchStream,
        pings: _PeerPings,
        on_silence: SilenceListener,
        idle: float,
        ping_timeout: float,
        silent_after: float,
        abandon_after: float,
    ) -> None:
        self._inner = inner
        self.provider = inner.provider
        self._pings = pings
        self._on_silence = on_silence
        self._idle, self._ping_timeout = idle, ping_timeout
        self._silent_after, self._abandon_after = silent_after, abandon_after
        self._last_line = trio.current_time()
        self._silent = True  # until a first line or ping answer (the view waits for one)
        self._dead: str | None = None
        self._reading: trio.CancelScope | None = None
        self._beating = trio.CancelScope()

    async def next_line(self) -> bytes | None:
        if self._dead:
            raise ConnectionError(self._dead)
        self._reading = trio.CancelScope()
        with self._reading:
            line = await self._inner.next_line()
            self._last_line = trio.current_time()
            if self._silent:
                self._heard()
            return line
        raise ConnectionError(self._dead or "watch stream abandoned")

    async def close(self) -> None:
        self._beating.cancel()
        await self._inner.close()

    def _quiet(self) -> float:
        return trio.current_time() - max(self._last_line, self._pings.last_answer)

    async def heartbeat(self) -> None:
        with self._beating:
            while True:
                quiet = self._quiet()
                if quiet >= self._abandon_after:
                    self._dead = (f"{self.provider} answered neither a line nor a ping for "
                                  f"{quiet:.1f} s")
                    if self._reading is not None:
                        self._reading.cancel()
                    return
                if quiet >= self._silent_after and not self._silent:
                    self._silent = True
                    self._on_silence(self.provider, True)
                if quiet < self._idle:
                    await trio.sleep(self._idle - quiet)
                    continue
                # The attempt ends when the next verdict (silent, abandoned) is due, at latest.
                due = (self._abandon_after if self._silent else self._silent_after) - quiet
                with trio.move_on_after(max(0.01, min(self._ping_timeout, due))):
                    await self._pings.ping_unless_heard_within(self._idle)
                if self._quiet() < self._idle:
                    self._heard()
                else:
                    await trio.sleep(0.05)  # a failed ping: try again, without spinning

    def _heard(self) -> None:
        if self._silent:
            self._silent = False
            self._on_silence(self.provider, False)


class _PeerPings:
    """One connection's pings: one at a time, the answer shared."""

    def __init__(self, host: IHost, peer: ID, connection: IMuxedConn) -> None:
        self._host = host
        self._peer = peer
        self._connection = connection
        self._yamux = True
        self._lock = trio.Lock()
        self.last_answer = -float("inf")  # trio.current_time() of the last answer

    async def ping_unless_heard_within(self, seconds: float) -> None:
        async with self._lock:
            if trio.current_time() - self.last_answer < seconds:
                return  # another stream's ping was answered meanwhile
            try:
                if self._yamux:
                    await yamux_ping(self._connection)
                else:
                    await _ping(self._host, self._peer)
            except NotYamux:
                self._yamux = False
                return
            except Exception:
                return  # no answer: the caller's silence grows
            self.last_answer = trio.current_time()


_PINGS: WeakKeyDictionary[IMuxedConn, _PeerPings] = WeakKeyDictionary()


def _pings(host: IHost, stream: Libp2pWatchStream) -> _PeerPings:
    connection = stream.connection
    pings = _PINGS.get(connection)
    if pings is None:
        pings = _PINGS[connection] = _PeerPings(
            host, ID.from_base58(stream.provider), connection)
    return pings


async def _ping(host: IHost, peer: ID) -> None:
    """One libp2p ping on a new stream: 32 random bytes, echoed."""
    stream = await host.new_stream(peer, [PING_PROTOCOL])
    try:
        payload = os.urandom(PING_SIZE)
        await stream.write(payload)
        echoed = b""
        while len(echoed) < PING_SIZE:
            chunk = await stream.read(PING_SIZE - len(echoed))
            if not chunk:
                raise ConnectionError("ping stream closed before the echo")
            echoed += chunk
        if echoed != payload:
            raise ConnectionError("ping echo differs")
        await stream.close()
    except BaseException:
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            await stream.reset()
        raise
