"""libp2p ping (`/ipfs/ping/1.0.0`) of many providers at once, with a round trip in ns.

py-libp2p's own ping client rounds to whole milliseconds; a loopback instance answers
in well under one. The wire is the same: 32 random bytes, echoed back.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Sequence

import multiaddr
import trio
from libp2p.abc import IHost
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
        try:
            peer = ID.from_base58(provider.peer_id)
            stream = None
            with trio.move_on_after(connect_timeout(timeout)):
                if not self.host.get_network().connections.get(peer):
                    addrs = [multiaddr.Multiaddr(a) for a in provider.addrs]
                    await self.host.connect(PeerInfo(peer, addrs))
                stream = await self.host.new_stream(peer, [PING_PROTOCOL])
            if stream is None:
                return
            try:
                with trio.move_on_after(timeout):
                    payload = secrets.token_bytes(PING_LENGTH)
                    started = time.perf_counter_ns()
                    await stream.write(payload)
                    echoed = await read_exactly(stream, PING_LENGTH)
                    rtt = time.perf_counter_ns() - started
                    if echoed == payload:
                        results[provider.peer_id] = rtt
            finally:
                with trio.move_on_after(1.0), contextlib.suppress(Exception):
                    await stream.reset()
        except Exception:
            pass  # unreachable, refused, or not speaking ping: no answer, None
