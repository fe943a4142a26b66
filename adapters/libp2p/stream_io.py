"""Half-close framing of the reference protocol: one request per stream."""

from __future__ import annotations

from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.stream_muxer.yamux.yamux import YamuxStream

from adapters.libp2p.upstream.yamux_window import BatchedWindowYamux

_READ_SIZE = 64 * 1024


class MessageTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"message exceeds {limit} bytes")
        self.limit = limit


async def read_to_end(stream: INetStream, limit: int) -> bytes:
    """Read until the peer closes its write side; refuse more than ``limit`` bytes.

    py-libp2p's ``read`` returns what is buffered and raises StreamEOF at the end
    (it never returns b"" for EOF), hence the loop.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await stream.read(_READ_SIZE)
        except StreamEOF:
            break
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise MessageTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


async def write_final(stream: INetStream, data: bytes) -> None:
    """Write ``data`` and half-close: in one Noise message where our muxer carries the stream.

    A stream whose multistream echo is still owed (see pipelined_multiselect) sends
    it in front of ``data``.
    """
    own_final = getattr(stream, "write_final", None)
    if own_final is not None:
        await own_final(data)
        return
    muxed = getattr(stream, "muxed_stream", None)  # NetStream has it; INetStream does not say
    conn = getattr(muxed, "conn", None)
    if (
        data
        and isinstance(conn, BatchedWindowYamux)
        and isinstance(muxed, YamuxStream)
        and await conn.send_final(muxed, data)
    ):
        await stream.close_write()  # type: ignore[attr-defined]  # the FIN went out already
        return
    if data:
        await stream.write(data)
    await stream.close_write()  # type: ignore[attr-defined]  # NetStream has it
