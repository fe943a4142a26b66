"""A stream's last write and its half-close, in one Noise message where our Yamux carries it."""

from __future__ import annotations

from libp2p.abc import INetStream
from libp2p.stream_muxer.yamux.yamux import YamuxStream

from adapters.libp2p.upstream.yamux_window import BatchedWindowYamux


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
