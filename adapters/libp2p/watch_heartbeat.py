"""A watch stream that ends within seconds when its instance stops answering.

A registry-service that is stopped (SIGSTOP, a hung machine) or cut off by the network
sends nothing, and TCP takes minutes to notice. A quiet watch stream gets a PROGRESS line
only every 5 s. So while the stream has been quiet for ``idle`` seconds, the instance is
pinged (libp2p ping, `/ipfs/ping/1.0.0`, which every py-libp2p and go-libp2p host
answers) over the same connection; no answer within ``timeout`` ends the stream with a
ConnectionError, and the watch resumes elsewhere. A line or a ping answer is a sign of
life; the stream ends at most ``idle + timeout`` after the last one.
"""

from __future__ import annotations

import os

import trio
from libp2p.abc import IHost
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from adapters.libp2p.watch_client import Libp2pWatchStream, Libp2pWatchTransport

PING_PROTOCOL = TProtocol("/ipfs/ping/1.0.0")
PING_SIZE = 32


class HeartbeatWatchTransport:
    """Libp2pWatchTransport whose streams are watched by a heartbeat run in ``nursery``."""

    def __init__(
        self,
        inner: Libp2pWatchTransport,
        host: IHost,
        nursery: trio.Nursery,
        *,
        idle: float = 0.5,
        timeout: float = 0.8,
    ) -> None:
        self._inner = inner
        self._host = host
        self._nursery = nursery
        self._idle = idle
        self._timeout = timeout

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> HeartbeatWatchStream:
        stream = await self._inner.open_watch(request, avoid)
        watched = HeartbeatWatchStream(stream, self._idle, self._timeout)
        self._nursery.start_soon(watched.beat, self._host)
        return watched


class HeartbeatWatchStream:
    def __init__(self, inner: Libp2pWatchStream, idle: float, timeout: float) -> None:
        self._inner = inner
        self.provider = inner.provider
        self._idle = idle
        self._timeout = timeout
        self._last_heard = trio.current_time()
        self._dead: str | None = None
        self._reading: trio.CancelScope | None = None
        self._beating = trio.CancelScope()

    async def next_line(self) -> bytes | None:
        if self._dead:
            raise ConnectionError(self._dead)
        self._reading = trio.CancelScope()
        with self._reading:
            line = await self._inner.next_line()
            self._last_heard = trio.current_time()
            return line
        raise ConnectionError(self._dead or "watch stream abandoned")

    async def close(self) -> None:
        self._beating.cancel()
        await self._inner.close()

    async def beat(self, host: IHost) -> None:
        with self._beating:
            peer = ID.from_base58(self.provider)
            while True:
                quiet = trio.current_time() - self._last_heard
                if quiet < self._idle:
                    await trio.sleep(self._idle - quiet)
                    continue
                try:
                    with trio.fail_after(self._timeout):
                        await _ping(host, peer)
                except Exception as exc:
                    if trio.current_time() - self._last_heard < self._timeout:
                        continue  # lines came meanwhile: alive after all
                    self._end(f"{self.provider} answered neither a line nor a ping for "
                              f"{self._idle + self._timeout:.1f} s ({type(exc).__name__})")
                    return
                self._last_heard = trio.current_time()

    def _end(self, reason: str) -> None:
        self._dead = reason
        if self._reading is not None:
            self._reading.cancel()


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
