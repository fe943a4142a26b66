"""libp2p ping (`/ipfs/ping/1.0.0`) of many providers at once, with a round trip in ns.

py-libp2p's own ping client rounds to whole milliseconds; a loopback instance answers
in well under one. The wire is the same: 32 random bytes, echoed back, as many times
as the pinger likes on one stream. A host keeps one idle ping stream per peer between
resolves (go-libp2p's ping service pings on one stream too), so a proxy's repeated
resolve costs one round trip per instance, not a stream negotiation as well.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Sequence
from weakref import WeakKeyDictionary

import multiaddr
import trio
from libp2p.abc import IHost, INetStream
from libp2p.host.ping import ID as PING_PROTOCOL
from libp2p.host.ping import PING_LENGTH, PingService
from libp2p.io.utils import read_exactly
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from domain.instance_verdict import Provider

# Connecting takes several round trips (TCP, PSK nonces, multistream, Noise, Yamux)
# before the one the ping measures: a provider gets this many ping timeouts to connect,
# and at least CONNECT_FLOOR s. A dead instance on a reachable host refuses at once.
CONNECT_ROUNDS = 10
CONNECT_FLOOR = 1.0
CONNECT_CEILING = 10.0
# Idle ping streams kept per host (py-libp2p's handler ends one after 10 s without a
# ping; the next ping then finds it closed and opens another).
MAX_IDLE_STREAMS = 1024

# Per host: peer id -> its idle ping stream (none while a ping uses it).
_IDLE: WeakKeyDictionary[IHost, dict[ID, INetStream]] = WeakKeyDictionary()


def connect_timeout(ping_timeout: float) -> float:
    return min(CONNECT_CEILING, max(CONNECT_FLOOR, CONNECT_ROUNDS * ping_timeout))


def serve_ping(host: IHost) -> None:
    """Answer `/ipfs/ping/1.0.0` (py-libp2p's hosts do by default; a caller's may not)."""
    if PING_PROTOCOL not in host.get_mux().handlers:
        host.set_stream_handler(PING_PROTOCOL, PingService(host).handle_ping)


class Libp2pPinger:
    """Pinger over a running host: each provider is connected (if not yet) and pinged once."""

    def __init__(self, host: IHost) -> None:
        self.host = host
        self._idle = _IDLE.setdefault(host, {})

    async def ping_all(
        self, providers: Sequence[Provider], timeout_ns: int
    ) -> dict[str, int | None]:
        results: dict[str, int | None] = {p.peer_id: None for p in providers}
        timeout = timeout_ns / 1e9
        async with trio.open_nursery() as nursery:
            for provider in providers:
                nursery.start_soon(self._ping_one, provider, timeout, results)
        return results

    async def _ping_one(
        self, provider: Provider, timeout: float, results: dict[str, int | None]
    ) -> None:
        with contextlib.suppress(ValueError):  # not a peer id: no answer
            peer = ID.from_base58(provider.peer_id)
            kept = self._idle.pop(peer, None)
            if kept is not None and self.host.get_network().connections.get(peer):
                rtt, timed_out = await self._round_trip(peer, kept, timeout)
                if rtt is not None or timed_out:  # one timeout per resolve, not two
                    results[provider.peer_id] = rtt
                    return
                # the peer closed the idle stream (its handler's idle timeout): a new one
            stream = await self._open(peer, provider.addrs, timeout)
            if stream is not None:
                results[provider.peer_id], _ = await self._round_trip(peer, stream, timeout)

    async def _open(self, peer: ID, addrs: list[str], timeout: float) -> INetStream | None:
        with trio.move_on_after(connect_timeout(timeout)):
            try:
                if not self.host.get_network().connections.get(peer):
                    await self.host.connect(PeerInfo(peer, [multiaddr.Multiaddr(a) for a in addrs]))
                return await self.host.new_stream(peer, [PING_PROTOCOL])
            except Exception:
                return None  # unreachable, refused, or not speaking ping
        return None

    async def _round_trip(
        self, peer: ID, stream: INetStream, timeout: float
    ) -> tuple[int | None, bool]:
        """The round trip in ns (None: no answer) and whether the timeout passed; the stream
        is kept for the next ping if it answered."""
        rtt = None
        with trio.move_on_after(timeout) as scope:
            try:
                payload = secrets.token_bytes(PING_LENGTH)
                started = time.perf_counter_ns()
                await stream.write(payload)
                echoed = await read_exactly(stream, PING_LENGTH)
                if echoed == payload:
                    rtt = time.perf_counter_ns() - started
            except Exception:
                rtt = None
        if rtt is not None and peer not in self._idle and self._room():
            self._idle[peer] = stream
        else:
            # A close, not a reset: the peer's handler then ends quietly.
            with trio.move_on_after(1.0), contextlib.suppress(Exception):
                await stream.close()
        return rtt, scope.cancelled_caught

    def _room(self) -> bool:
        if len(self._idle) >= MAX_IDLE_STREAMS:  # forget those of peers no longer connected
            connections = self.host.get_network().connections
            for gone in [p for p in self._idle if not connections.get(p)]:
                del self._idle[gone]
        return len(self._idle) < MAX_IDLE_STREAMS
