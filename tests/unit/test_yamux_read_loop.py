"""upstream/yamux_read_loop.py, frame by frame: what each frame the peer sends does to its
stream, and which frames end the connection."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from libp2p.peer.id import ID
from libp2p.stream_muxer.exceptions import MuxedStreamEOF, MuxedStreamReset
from libp2p.stream_muxer.yamux.yamux import (
    FLAG_ACK,
    FLAG_FIN,
    FLAG_RST,
    FLAG_SYN,
    MAX_WINDOW_SIZE,
    TYPE_DATA,
    TYPE_GO_AWAY,
    TYPE_PING,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
    YamuxStream,
)

from adapters.libp2p.upstream.yamux_window import BatchedWindowYamux


class Wire:
    """The secure channel under the muxer: frames fed in, each write's frames recorded."""

    def __init__(self) -> None:
        self._inbound = bytearray()
        self._more = trio.Event()
        self.ended = False
        self.closed = False
        self.writes: list[list[tuple[int, int, int, int]]] = []

    def feed(self, data: bytes) -> None:
        self._inbound += data
        self._more.set()

    def end(self) -> None:
        self.ended = True
        self._more.set()

    async def read(self, n: int | None = None) -> bytes:
        while not self._inbound and not self.ended:
            self._more = trio.Event()
            await self._more.wait()
        size = len(self._inbound) if n is None else n
        data = bytes(self._inbound[:size])
        del self._inbound[:size]
        return data

    async def write(self, data: bytes) -> None:
        frames, at = [], 0
        while at < len(data):
            _, kind, flags, stream_id, length = struct.unpack(
                YAMUX_HEADER_FORMAT, data[at:at + 12])
            frames.append((kind, flags, stream_id, length))
            at += 12 + (length if kind == TYPE_DATA else 0)
        self.writes.append(frames)

    async def close(self) -> None:
        self.closed = True


def frame(kind: int, flags: int, stream_id: int, data: bytes = b"", *, length: int = 0) -> bytes:
    if kind == TYPE_DATA:
        length = len(data)
    return struct.pack(YAMUX_HEADER_FORMAT, 0, kind, flags, stream_id, length) + data


@asynccontextmanager
async def reading() -> AsyncIterator[tuple[BatchedWindowYamux, Wire]]:
    """A muxer the peer dialled (its streams are odd), its read loop running."""
    wire = Wire()
    mux = BatchedWindowYamux(wire, ID(b"\x00" * 34), is_initiator=False)  # type: ignore[arg-type]
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(mux.handle_incoming)
            yield mux, wire
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()


async def accepted(mux: BatchedWindowYamux) -> YamuxStream:
    stream = await mux.new_stream_receive_channel.receive()
    assert isinstance(stream, YamuxStream)
    return stream


async def test_a_syn_with_data_opens_a_stream_whose_ack_goes_out_with_its_first_frame() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_DATA, FLAG_SYN, 1, b"/multistream/1.0.0\n"))
        stream = await accepted(mux)
        assert stream.stream_id == 1 and not stream.is_initiator
        assert await stream.read(100) == b"/multistream/1.0.0\n"
        assert wire.writes == []  # the ACK is owed, not sent alone
        await stream.write(b"echo")
        assert wire.writes == [[(TYPE_WINDOW_UPDATE, FLAG_ACK, 1, 0), (TYPE_DATA, 0, 1, 4)]]


async def test_data_then_fin_reads_the_data_then_the_end() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 1, length=1000))
        stream = await accepted(mux)
        assert stream.send_window == 256 * 1024 + 1000
        wire.feed(frame(TYPE_DATA, 0, 1, b"request") + frame(TYPE_WINDOW_UPDATE, FLAG_FIN, 1))
        assert await stream.read(100) == b"request"
        with pytest.raises(MuxedStreamEOF):
            await stream.read(100)
        assert stream.recv_closed and not stream.closed


async def test_a_window_update_and_a_fin_on_an_ack_both_count() -> None:
    # Our own stream: the peer acknowledges it with a grant, then answers and ends in
    # one frame (py-libp2p's loop ignored a FIN that came with an ACK).
    async with reading() as (mux, wire):
        stream = await mux.open_stream()
        window = stream.send_window
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_ACK, stream.stream_id, length=500))
        await trio.testing.wait_all_tasks_blocked()
        assert stream.send_window == window + 500
        wire.feed(frame(TYPE_DATA, FLAG_ACK | FLAG_FIN, stream.stream_id, b"answer"))
        assert await stream.read(100) == b"answer"
        with pytest.raises(MuxedStreamEOF):
            await stream.read(100)


async def test_a_reset_reaches_the_reader_and_finishes_the_stream() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_DATA, FLAG_SYN, 1, b"x"))
        stream = await accepted(mux)
        assert await stream.read(100) == b"x"
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_RST, 1))
        with pytest.raises((MuxedStreamReset, MuxedStreamEOF)):
            await stream.read(100)
        assert stream.reset_received and stream.closed
        assert 1 not in mux.streams  # nothing kept for it


async def test_a_syn_with_a_reset_is_handed_over_reset_and_never_acknowledged() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_SYN | FLAG_RST, 1))
        stream = await accepted(mux)
        assert stream.reset_received
        await trio.testing.wait_all_tasks_blocked()
        assert wire.writes == []


async def test_a_second_syn_for_a_stream_is_refused_with_a_reset() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 1))
        first = await accepted(mux)
        wire.feed(frame(TYPE_DATA, FLAG_SYN, 1, b"again"))
        await trio.testing.wait_all_tasks_blocked()
        assert wire.writes == [[(TYPE_WINDOW_UPDATE, FLAG_RST, 1, 0)]]
        assert mux.streams[1] is first and not mux.stream_buffers[1]


async def test_frames_of_a_finished_stream_are_dropped() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_DATA, 0, 7, b"late") + frame(TYPE_WINDOW_UPDATE, FLAG_FIN, 7))
        wire.feed(frame(TYPE_DATA, FLAG_SYN, 9, b"next"))
        assert (await accepted(mux)).stream_id == 9
        assert set(mux.streams) == {9}


async def test_a_ping_is_answered_and_an_answer_measures_the_round_trip() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_PING, FLAG_SYN, 0, length=0xC0FFEE))
        await trio.testing.wait_all_tasks_blocked()
        assert wire.writes == [[(TYPE_PING, FLAG_ACK, 0, 0xC0FFEE)]]
        mux._ping_sent_time = trio.current_time() - 0.25
        wire.feed(frame(TYPE_PING, FLAG_ACK, 0, length=7))
        await mux._ping_event.wait()
        assert mux._rtt >= 0.25


async def woken(stream: YamuxStream) -> None:
    """A reader waiting for more, told the stream is gone."""
    with pytest.raises((MuxedStreamEOF, MuxedStreamReset)):
        await stream.read(100)


@pytest.mark.parametrize("ending", [
    frame(TYPE_GO_AWAY, 0, 0, length=0),
    struct.pack(YAMUX_HEADER_FORMAT, 0, TYPE_DATA, 0, 1, MAX_WINDOW_SIZE + 1),
    struct.pack(YAMUX_HEADER_FORMAT, 0, 9, 0, 1, 0),
    b"",  # the peer closed the connection
    b"\x00\x00\x00",  # ... mid-header
], ids=["go-away", "oversized-data", "unknown-type", "eof", "eof-mid-header"])
async def test_these_end_the_connection_and_wake_every_reader(ending: bytes) -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_DATA, FLAG_SYN, 1, b"x"))
        stream = await accepted(mux)
        await stream.read(100)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(woken, stream)
            await trio.testing.wait_all_tasks_blocked()
            wire.feed(ending)
            if not ending or len(ending) < 12:
                wire.end()
            await mux.event_closed.wait()
        assert wire.closed and stream.reset_received and not mux.streams


async def test_a_read_takes_what_is_asked_and_leaves_the_rest() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_DATA, FLAG_SYN, 1, b"abcdef"))
        stream = await accepted(mux)
        assert await stream.read(4) == b"abcd"
        assert await stream.read(100) == b"ef"


async def test_a_waiting_read_is_woken_by_the_next_frame() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 1))
        stream = await accepted(mux)
        async with trio.open_nursery() as nursery:
            got: list[bytes] = []

            async def read() -> None:
                got.append(await stream.read(100))

            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            assert got == []
            wire.feed(frame(TYPE_DATA, 0, 1, b"late"))
        assert got == [b"late"]


@pytest.mark.parametrize(("ending", "readable"), [
    (FLAG_FIN, True),  # the data, then the end
    (FLAG_RST, False),  # a reset wins over unread data
])
async def test_unread_data_survives_a_fin_but_not_a_reset(ending: int, readable: bool) -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 1))
        stream = await accepted(mux)
        wire.feed(frame(TYPE_DATA, 0, 1, b"unread") + frame(TYPE_WINDOW_UPDATE, ending, 1))
        await trio.testing.wait_all_tasks_blocked()
        if readable:
            assert await stream.read(100) == b"unread"
            with pytest.raises(MuxedStreamEOF):
                await stream.read(100)
        else:
            with pytest.raises(MuxedStreamReset):
                await stream.read(100)


async def test_a_read_of_a_finished_stream_ends_and_leaves_nothing_behind() -> None:
    async with reading() as (mux, wire):
        wire.feed(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 1))
        stream = await accepted(mux)
        await stream.reset()
        with pytest.raises((MuxedStreamEOF, MuxedStreamReset)):
            await stream.read(100)
        assert 1 not in mux.stream_events and 1 not in mux.streams
