"""Yamux with go-yamux's window updates: batched, not one or two per read.

py-libp2p 0.8.1's Yamux sends a WINDOW_UPDATE after almost every read, and on
loopback its window auto-tuning (which assumes a 1 ms round trip) doubles each
new stream's window on every one of them: a 13-byte request and a 200-byte
answer cost 20 frames, 10 of them window updates (benchmarks/trace_frames.py),
each a Noise encryption, a PSK pass and a socket send.

This muxer keeps the wire plain Yamux and changes only when window updates go out:
- a stream's window stays at Yamux's initial 256 KiB (no doubling on every read),
  but a stream we open asks for 4 MiB in its SYN, as go-yamux does when configured
  with a larger window;
- what a read consumed is given back, no more (py-libp2p grants twice a small read),
  and told to the peer once it adds up to FLUSH_AT (half the window), as go-yamux
  and js-yamux do. The peer can always send at least FLUSH_AT more bytes, so nothing
  stalls, and never more than the window past what we have read.
SYN, ACK, FIN and RST frames and all data go out unchanged, but for three merges
that go-yamux, js-yamux and py-libp2p all read:
- the SYN of a stream we open (a WINDOW_UPDATE with that grant, as go-yamux sends
  it) goes out in one write with that stream's first frame (py-libp2p sends it on
  its own, and the opener always writes next: the multistream header);
- the ACK of a stream the peer opened goes out in one write with that stream's first
  frame, as js-yamux sends it (py-libp2p sends it on its own the moment the SYN
  arrives: a Noise message and a socket send of its own per request, a third of what
  a daemon writes for a js-libp2p client's get). No opener waits for the ACK before
  it writes, and the listener always writes next: the multistream echo;
- :meth:`BatchedWindowYamux.send_final` writes a last DATA frame and its FIN frame
  to the secure channel at once: one Noise message, one socket send. The FIN stays a
  frame of its own because js-yamux 8 handles a DATA frame's FIN flag before its
  data and drops the data.
A one-shot request is then one Noise message where it was three (SYN, DATA, FIN), and
its answer one where it was two (ACK, then the answer and FIN).

It also holds the peer to the window: py-libp2p 0.8.1 only logs "peer exceeded receive
window" and keeps buffering, so a peer that ignores flow control could fill our memory
through a stream whose handler is not reading. A stream's unread bytes can never
legitimately pass the window we granted (256 KiB, or GROWN_WINDOW once grown); the bytes
of a frame that would pass it are dropped and the stream is ended for receiving (its
handler reads what came within the window, then the end), as go-yamux ends the session.
"""

from __future__ import annotations

import struct
from typing import Any, cast

from libp2p.abc import IMuxedConn, ISecureConn
from libp2p.peer.id import ID
from libp2p.stream_muxer.muxer_multistream import MuxerMultistream
from libp2p.stream_muxer.yamux.yamux import (
    DEFAULT_WINDOW_SIZE,
    FLAG_ACK,
    FLAG_FIN,
    FLAG_RST,
    FLAG_SYN,
    HEADER_SIZE,
    MAX_MESSAGE_SIZE,
    TYPE_DATA,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
    Yamux,
    YamuxStream,
)

from adapters.libp2p.upstream.inbound_connection_task import take_new_streams
from adapters.libp2p.upstream.yamux_read_loop import read_frames, read_stream
from adapters.libp2p.upstream.yamux_tasks import start_without_extra_tasks

FLUSH_AT = DEFAULT_WINDOW_SIZE // 2
GROWN_WINDOW = 4 * 1024 * 1024  # a list of 10 000 records is ~2.6 MB
_PRUNE_ABOVE = 256  # withheld counts kept before those of finished streams are dropped


class _FixedWindowStream(YamuxStream):
    """A Yamux stream whose receive window stays what it was granted.

    py-libp2p's ``_auto_tune_and_send_window_update`` runs on every read: it takes the
    stream's window lock, doubles the window per assumed round trip and grants twice
    what a small read consumed, ~5 % of a daemon's CPU under a js-libp2p client's gets.
    Here a read gives back what it consumed, withheld until it adds up to FLUSH_AT."""

    async def _auto_tune_and_send_window_update(self, *, bytes_read: int = 0) -> None:
        if bytes_read <= 0:
            return
        self.recv_window += bytes_read
        owed = cast("BatchedWindowYamux", self.conn).owe_window(self.stream_id, bytes_read)
        if owed:
            await self.send_window_update(owed)  # upstream's: a closed connection is no error


class _StreamsWithFixedWindow(dict[int, YamuxStream]):
    def __setitem__(self, stream_id: int, stream: YamuxStream) -> None:
        stream.__class__ = _FixedWindowStream  # the same object layout: no copy, no dict
        super().__setitem__(stream_id, stream)


class ReceiveWindowExceeded(Exception):
    """The peer sent a stream more than the window we granted it."""


class _WindowBoundBuffer(bytearray):
    """A stream's unread bytes, refusing to grow past the window the peer was granted.

    py-libp2p appends each DATA frame with ``extend`` inside a ``try`` that, on any error,
    logs it (one line) and ends the stream for receiving. Once refused, the stream keeps
    nothing more. The opening frame of a stream the peer opens is refused without raising:
    there py-libp2p would leave the stream registered and never announced.
    """

    def __init__(
        self, stream_id: int, grown: set[int], initial: bytes, *, peer_opened: bool
    ) -> None:
        super().__init__(initial)
        self._stream_id = stream_id
        self._grown = grown  # the connection's set, not the muxer: no reference cycle
        self._fresh = peer_opened and not initial
        self._refused = False

    def extend(self, data: Any) -> None:
        if self._refused:
            return
        window = GROWN_WINDOW if self._stream_id in self._grown else DEFAULT_WINDOW_SIZE
        if len(self) + len(data) > window:
            self._refused = True
            if self._fresh:
                return
            raise ReceiveWindowExceeded(
                f"the peer sent {len(self) + len(data)} unread bytes on a stream with a "
                f"{window}-byte window (it ignores Yamux flow control); the stream is ended"
            )
        self._fresh = False
        super().extend(data)


class _BuffersBoundByWindow(dict[int, bytearray]):
    """The muxer's ``stream_buffers`` (each stream's unread bytes, bound by its window)
    and the window bookkeeping of its connection. The bookkeeping lives here, not on the
    muxer: py-libp2p, the swarm and the swarm connection set 28 attributes on a Yamux
    object, the most CPython 3.11 keeps in an instance's compact (shared-key) dict; one
    more and each connection's ``__dict__`` takes 1 584 bytes instead of 288
    (tests/integration/test_yamux_window.py checks a served connection's)."""

    def __init__(self, *, we_dialled: bool) -> None:
        super().__init__()
        self.grown: set[int] = set()  # streams we opened, granted GROWN_WINDOW
        self.withheld: dict[int, int] = {}  # window consumed, not told yet (< FLUSH_AT)
        self.unsent_opening: set[int] = set()  # their SYN (ours) or ACK (theirs) owed
        self._peer_parity = 0 if we_dialled else 1  # Yamux: the dialler's streams are odd

    def __setitem__(self, stream_id: int, buffer: bytearray) -> None:
        super().__setitem__(stream_id, _WindowBoundBuffer(
            stream_id, self.grown, bytes(buffer),
            peer_opened=stream_id % 2 == self._peer_parity,
        ))


class BatchedWindowYamux(Yamux):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = _StreamsWithFixedWindow()
        self.stream_buffers = _BuffersBoundByWindow(we_dialled=self.is_initiator_value)
        take_new_streams(self)

    @property
    def _book(self) -> _BuffersBoundByWindow:
        """This connection's window bookkeeping (kept off the muxer's own ``__dict__``)."""
        return cast(_BuffersBoundByWindow, self.stream_buffers)

    async def start(self) -> None:
        await start_without_extra_tasks(self)

    async def handle_incoming(self) -> None:
        await read_frames(self)

    async def read_stream(self, stream_id: int, n: int = -1) -> bytes:
        return await read_stream(self, stream_id, -1 if n is None else n)

    async def _read_data_body(self, length: int) -> bytes:
        """A DATA frame's body, with upstream's read timeout only if it must be waited for.

        Upstream arms a timer per frame (a cancel scope with a deadline: ~3 % of a
        daemon's CPU under a js client's gets), but a body usually came in the same
        Noise message as its header and sits in the session's buffer already."""
        conn = self.secured_conn
        if getattr(conn, "high_watermark", 0) - getattr(conn, "low_watermark", 0) >= length:
            return await conn.read(length)
        return await super()._read_data_body(length)

    async def _write_frame(self, data: bytes) -> None:
        _, kind, flags, stream_id, length = struct.unpack(
            YAMUX_HEADER_FORMAT, data[:HEADER_SIZE]
        )
        if kind == TYPE_WINDOW_UPDATE and stream_id != 0 and length == 0 and flags in (
            FLAG_SYN, FLAG_ACK
        ):
            self._book.unsent_opening.add(stream_id)  # goes out with the stream's first frame
            self._prune_unsent_openings()
            return
        unsent_opening = self._book.unsent_opening
        if stream_id in unsent_opening:
            unsent_opening.discard(stream_id)
            if (stream_id % 2 == 1) == self.is_initiator_value:  # ours (a dialler's are odd)
                if flags & FLAG_RST:
                    return  # the peer never heard of the stream: nothing to reset
                data = struct.pack(
                    YAMUX_HEADER_FORMAT, 0, TYPE_WINDOW_UPDATE, FLAG_SYN, stream_id,
                    self._grow(stream_id),
                ) + data
            elif not flags & FLAG_RST:  # theirs: its ACK (a refusal acknowledges nothing)
                data = struct.pack(
                    YAMUX_HEADER_FORMAT, 0, TYPE_WINDOW_UPDATE, FLAG_ACK, stream_id, 0
                ) + data
        # py-libp2p's own _write_frame formats a debug line per frame, logged or not.
        async with self._write_lock:
            await self.secured_conn.write(data)

    async def send_final(self, stream: YamuxStream, data: bytes) -> bool:
        """Send ``data`` and the FIN in one write; False (nothing sent) if ``data`` does not
        fit the peer's window or one frame, or the stream is closed for sending."""
        size = len(data)
        async with stream.rw_lock.write_lock(), stream.close_lock:
            async with stream.window_lock:
                if (
                    stream.send_closed
                    or stream.closed
                    or size > stream.send_window
                    or size > MAX_MESSAGE_SIZE - HEADER_SIZE
                ):
                    return False
                stream.send_window -= size
                stream.send_closed = True  # close() now only does the bookkeeping
            header = struct.pack(YAMUX_HEADER_FORMAT, 0, TYPE_DATA, 0, stream.stream_id, size)
            fin = struct.pack(
                YAMUX_HEADER_FORMAT, 0, TYPE_WINDOW_UPDATE, FLAG_FIN, stream.stream_id, 0
            )
            await self._write_frame(header + data + fin)  # the SYN, if owed, joins the first
        return True

    def _grow(self, stream_id: int) -> int:
        """The window a stream we open adds in its SYN: an answer larger than 256 KiB (a
        list of thousands) would otherwise stall its sender until we had read half of it,
        and py-libp2p's sender polls for window every 10 ms (a page of `/list/0.2` waited
        ~7 ms for it). Streams the peer opened keep 256 KiB: their requests are small,
        and a peer must not get to fill megabytes of our memory."""
        stream = self.streams.get(stream_id)
        grown = self._book.grown
        if stream is None or not stream.is_initiator or stream_id in grown:
            return 0
        if len(grown) > _PRUNE_ABOVE:
            grown &= set(self.streams)  # in place: each stream's buffer holds this set
        grown.add(stream_id)
        stream.recv_window += GROWN_WINDOW - DEFAULT_WINDOW_SIZE  # py-libp2p's own count
        return GROWN_WINDOW - DEFAULT_WINDOW_SIZE

    def owe_window(self, stream_id: int, consumed: int) -> int:
        """The window to give back to ``stream_id`` now that ``consumed`` more bytes were
        read from it: all that is owed once it adds up to FLUSH_AT, else 0 (withheld)."""
        book = self._book
        owed = book.withheld.pop(stream_id, 0) + consumed
        if owed >= FLUSH_AT:
            return owed
        book.withheld[stream_id] = owed
        if len(book.withheld) > _PRUNE_ABOVE:
            live = self.streams
            book.withheld = {s: n for s, n in book.withheld.items() if s in live}
        return 0

    def _prune_unsent_openings(self) -> None:
        """A stream reset before it wrote anything never takes its SYN or ACK: drop
        those of finished streams, once at least _PRUNE_ABOVE of them may have piled up
        (no rescan per stream when hundreds are open at once)."""
        book = self._book
        if len(book.unsent_opening) > _PRUNE_ABOVE + len(self.streams):
            book.unsent_opening &= set(self.streams)


async def _nothing() -> None:
    return None


class _MuxerMultistreamHonouringOptions(MuxerMultistream):
    async def new_conn(self, conn: ISecureConn, peer_id: ID) -> IMuxedConn:
        protocol, muxer_class = await self._selector.select(
            conn, conn.is_initiator, self.negotiate_timeout
        )
        muxed: IMuxedConn
        if issubclass(muxer_class, Yamux):
            muxed = muxer_class(conn, peer_id, is_initiator=conn.is_initiator, on_close=_nothing)
        else:
            muxed = muxer_class(conn, peer_id)
        return self._annotate_connection(muxed, conn, protocol)


def use_batched_window_yamux(network: Any) -> None:
    """Make the swarm's upgrader mux with BatchedWindowYamux (Mplex stays the fallback)."""
    upgrader = network.upgrader
    current = upgrader.muxer_multistream
    options = {
        protocol: BatchedWindowYamux if muxer is Yamux else muxer
        for protocol, muxer in current.transports.items()
    }
    upgrader.muxer_multistream = _MuxerMultistreamHonouringOptions(
        options, current.negotiate_timeout
    )
