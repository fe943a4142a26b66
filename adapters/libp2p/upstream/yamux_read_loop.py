"""A Yamux connection's read loop: each frame read, applied to its stream, and nothing else.

py-libp2p 0.8.1's ``Yamux.handle_incoming`` does the same work per frame, and around it
formats up to six debug lines (f-strings, so they cost whether logged or not; several
print the peer id), builds a dict of type names and a list of flag names, and takes the
session's stream lock for work that never awaits. With a js-libp2p client's gets it was
~10 % of a daemon's CPU in itself, more than the Noise ciphers (docs/performance.md).

This loop keeps py-libp2p's objects and their bookkeeping (``streams``,
``stream_buffers``, ``stream_events``, a stream's windows and flags,
``_finalize_stream_locked``, ``_cleanup_on_error``, the new-stream channel, the PING
RTT fields), so the rest of py-libp2p's Yamux (streams' reads and writes, ``close``,
``open_stream``, the stale-stream sweeper) works on it unchanged. What differs:
- the stream lock is not taken: between looking a stream up and changing it nothing
  awaits, so no other task can run in between (trio switches only at an await);
- a read or protocol error ends the connection, as in go-yamux and js-yamux
  (py-libp2p logged some and read on, from wherever the stream of frames then stood);
- a frame of an unknown type ends the connection, as in go-yamux (py-libp2p ignored
  it and read on).
tests/unit/test_yamux_read_loop.py drives it frame by frame; the integration suite
(js-libp2p, go-libp2p and our own clients, resets, flow control) runs on it.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

import trio
from libp2p.io.exceptions import IncompleteReadError
from libp2p.io.utils import read_exactly
from libp2p.stream_muxer.exceptions import MuxedStreamEOF, MuxedStreamReset
from libp2p.stream_muxer.yamux.yamux import (
    FLAG_ACK,
    FLAG_FIN,
    FLAG_RST,
    FLAG_SYN,
    HEADER_SIZE,
    MAX_WINDOW_SIZE,
    TYPE_DATA,
    TYPE_GO_AWAY,
    TYPE_PING,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
    YamuxStream,
)

log = logging.getLogger(__name__)

_HEADER = struct.Struct(YAMUX_HEADER_FORMAT)
_GO_AWAY_REASONS = {0: "normal", 1: "protocol error", 2: "internal error",
                    0x1005: "closed by its connection manager"}


class _ConnectionEnds(Exception):
    """The peer said goodbye: the connection is closed."""


class _ProtocolBroken(_ConnectionEnds):
    """The peer broke the protocol: the connection is closed."""


async def read_frames(muxer: Any) -> None:
    """Read and apply frames until the connection ends; then clean it up as py-libp2p does
    (unless ``close()`` ended it, which cleans up itself)."""
    try:
        while not muxer.event_shutting_down.is_set():
            _, kind, flags, stream_id, length = _HEADER.unpack(
                await read_exactly(muxer.secured_conn, HEADER_SIZE))
            if kind == TYPE_DATA:
                if length > MAX_WINDOW_SIZE:
                    raise _ProtocolBroken(f"a DATA frame of {length} bytes on stream {stream_id}")
                body = await muxer._read_data_body(length) if length else b""
                if flags & FLAG_SYN:
                    await _opened_by_peer(muxer, stream_id, flags, body=body)
                else:
                    _data(muxer, stream_id, flags, body)
            elif kind == TYPE_WINDOW_UPDATE:
                if flags & FLAG_SYN:
                    await _opened_by_peer(muxer, stream_id, flags, window=length)
                else:
                    _window_update(muxer, stream_id, flags, length)
            elif kind == TYPE_PING:
                await _ping(muxer, flags, length)
            elif kind == TYPE_GO_AWAY:
                raise _ConnectionEnds(f"GO_AWAY ({_GO_AWAY_REASONS.get(length, length)})")
            else:
                raise _ProtocolBroken(f"a frame of unknown type {kind}")
        return
    except IncompleteReadError as exc:
        if not exc.is_clean_close:
            log.debug("Yamux connection from %s cut mid-frame: %s", muxer.peer_id, exc)
    except trio.TooSlowError:
        log.warning("Yamux: a DATA frame's body from %s did not come in time; "
                    "closing the connection", muxer.peer_id)
    except _ProtocolBroken as exc:
        log.warning("Yamux: %s sent %s; closing the connection", muxer.peer_id, exc)
    except _ConnectionEnds as exc:
        log.debug("Yamux connection from %s ends: %s", muxer.peer_id, exc)
    except Exception as exc:
        log.debug("Yamux connection from %s ends: %r", muxer.peer_id, exc)
    muxer.event_shutting_down.set()
    await muxer._cleanup_on_error()


async def _opened_by_peer(
    muxer: Any, stream_id: int, flags: int, *, body: bytes = b"", window: int = 0
) -> None:
    """A SYN: a new stream, announced (ACK owed) and handed to the new-stream channel; a
    SYN for a stream that exists is refused with a RST."""
    if stream_id in muxer.streams:
        await muxer._write_frame(
            _HEADER.pack(0, TYPE_WINDOW_UPDATE, FLAG_RST, stream_id, 0))
        return
    stream = YamuxStream(stream_id, muxer, False)
    muxer.streams[stream_id] = stream
    muxer.stream_buffers[stream_id] = bytearray()
    event = muxer.stream_events[stream_id] = trio.Event()
    stream.send_window += window
    if body:
        _take(muxer, stream, body)
        event.set()
    if flags & FLAG_FIN:
        stream.recv_closed = True
        event.set()
    if flags & FLAG_RST:
        stream.closed = stream.reset_received = True
        event.set()
        muxer._finalize_stream_locked(stream, fully_closed=True)
    else:
        await muxer._write_frame(_HEADER.pack(0, TYPE_WINDOW_UPDATE, FLAG_ACK, stream_id, 0))
    await muxer.new_stream_send_channel.send(stream)  # a reset one too: its handler sees it


def _data(muxer: Any, stream_id: int, flags: int, body: bytes) -> None:
    stream = muxer.streams.get(stream_id)
    if stream is None:
        return  # a stream already finished: what it still carries is dropped
    if body:
        _take(muxer, stream, body)
    muxer.stream_events[stream_id].set()  # with or without data: a FIN or RST wakes too
    _end_flags(muxer, stream, flags)


def _window_update(muxer: Any, stream_id: int, flags: int, increment: int) -> None:
    stream = muxer.streams.get(stream_id)
    if stream is None:
        return
    stream.send_window += increment  # an ACK's too: its length is a grant, as go-yamux reads it
    if flags & (FLAG_FIN | FLAG_RST):
        muxer.stream_events[stream_id].set()
    _end_flags(muxer, stream, flags)


def _take(muxer: Any, stream: YamuxStream, body: bytes) -> None:
    """Buffer a frame's data for the stream's reader. Our buffer refuses data past the
    granted window (yamux_window.py): the stream is then ended for receiving."""
    try:
        muxer.stream_buffers[stream.stream_id].extend(body)
    except Exception as exc:
        log.warning("Yamux stream %s from %s: %s", stream.stream_id, muxer.peer_id, exc)
        stream.recv_closed = True
        if stream.send_closed:
            stream.closed = True
        return
    stream.recv_window = max(stream.recv_window - len(body), 0)


def _end_flags(muxer: Any, stream: YamuxStream, flags: int) -> None:
    if flags & FLAG_FIN:
        stream.recv_closed = True
        if stream.send_closed:
            stream.closed = True
    if flags & FLAG_RST:
        stream.closed = stream.reset_received = True
    if stream.closed:
        muxer._finalize_stream_locked(stream, fully_closed=True)


async def _ping(muxer: Any, flags: int, value: int) -> None:
    if flags & FLAG_SYN:
        await muxer._write_frame(_HEADER.pack(0, TYPE_PING, FLAG_ACK, 0, value))
    elif flags & FLAG_ACK:  # py-libp2p's RTT estimate, smoothed as its own loop does
        rtt = trio.current_time() - muxer._ping_sent_time
        muxer._rtt = rtt if muxer._rtt == 0.0 else (muxer._rtt + rtt) / 2
        muxer._ping_event.set()


async def read_stream(muxer: Any, stream_id: int, n: int = -1) -> bytes:
    """``Yamux.read_stream``: up to ``n`` buffered bytes of a stream (all with -1), waiting
    for some; the same answers in the same order as py-libp2p's, without its five debug
    f-strings and its stream lock per call."""
    while True:
        stream = muxer.streams.get(stream_id)
        if stream is None or muxer.event_shutting_down.is_set():
            raise MuxedStreamEOF("Stream closed")
        buffer = muxer.stream_buffers.get(stream_id)
        if buffer is None:
            raise MuxedStreamReset("Stream was reset") if stream.reset_received else (
                MuxedStreamEOF("Stream buffer closed"))
        # Data that came before a FIN is read even after a reset; a reset otherwise wins.
        if buffer and (stream.recv_closed or not stream.reset_received):
            if n == -1 or n >= len(buffer):
                data = bytes(buffer)
                buffer.clear()
            else:
                data = bytes(buffer[:n])
                del buffer[:n]
            if stream.closed:
                muxer._finalize_stream_locked(stream, fully_closed=True)
            return data
        if stream.reset_received:
            raise MuxedStreamReset("Stream was reset")
        if stream.recv_closed:
            raise MuxedStreamEOF("Stream is closed for receiving")
        if stream.closed:
            raise MuxedStreamReset("Stream is reset or closed")
        event = muxer.stream_events.get(stream_id)
        if event is None:
            raise MuxedStreamEOF("Stream was removed")
        await event.wait()
        if muxer.stream_events.get(stream_id) is event:  # not for a stream finished meanwhile
            muxer.stream_events[stream_id] = trio.Event()
