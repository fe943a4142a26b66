"""Client side of `/watch/0.1` on libp2p: one stream, read line by line."""

from __future__ import annotations

import contextlib

from libp2p.abc import IMuxedConn, INetStream
from libp2p.network.stream.exceptions import StreamEOF

from adapters.libp2p.registry_client import Libp2pRegistryClient
from domain.watch_wire import MAX_EVENT_LINE_BYTES, WATCH_PROTOCOL

_READ_SIZE = 64 * 1024


class Libp2pWatchStream:
    def __init__(self, provider: str, stream: INetStream) -> None:
        self.provider = provider
        self._stream = stream
        self._buffer = bytearray()
        self._ended = False

    @property
    def connection(self) -> IMuxedConn:
        """The multiplexed connection the stream runs on (its heartbeat pings over it)."""
        return self._stream.muxed_conn

    async def next_line(self) -> bytes | None:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if self._ended:
                return None
            if len(self._buffer) > MAX_EVENT_LINE_BYTES:
                raise ConnectionError(f"watch event line longer than {MAX_EVENT_LINE_BYTES} bytes")
            try:
                chunk = await self._stream.read(_READ_SIZE)
            except StreamEOF:
                chunk = b""
            except Exception as exc:  # reset, closed connection: the stream is gone
                raise ConnectionError(f"watch stream lost: {exc!r}") from exc
            if not chunk:
                self._ended = True
            self._buffer += chunk

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._stream.reset()


class Libp2pWatchTransport:
    """WatchTransport over a registry client's discovery and fail-over."""

    def __init__(self, client: Libp2pRegistryClient) -> None:
        self._client = client

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> Libp2pWatchStream:
        provider, stream = await self._client.open_stream(WATCH_PROTOCOL, request, avoid)
        return Libp2pWatchStream(str(provider.peer_id), stream)
