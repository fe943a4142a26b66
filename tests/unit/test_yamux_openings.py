"""upstream/yamux_window.py, frame by frame: a stream's SYN (ours) or ACK (the peer's) goes
out in one write with that stream's first frame, and none is kept for a stream that ended
without writing."""

from __future__ import annotations

import struct

import trio
from libp2p.peer.id import ID
from libp2p.stream_muxer.yamux.yamux import (
    FLAG_ACK,
    FLAG_FIN,
    FLAG_RST,
    FLAG_SYN,
    TYPE_DATA,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
)

from adapters.libp2p.upstream.yamux_window import _PRUNE_ABOVE, BatchedWindowYamux


class Written:
    """The secure channel under the muxer: each write, split into its frames."""

    def __init__(self) -> None:
        self.writes: list[list[tuple[int, int, int]]] = []

    async def write(self, data: bytes) -> None:
        frames, at = [], 0
        while at < len(data):
            _, kind, flags, stream_id, length = struct.unpack(
                YAMUX_HEADER_FORMAT, data[at:at + 12])
            frames.append((kind, flags, stream_id))
            at += 12 + (length if kind == TYPE_DATA else 0)
        self.writes.append(frames)


def muxer(*, we_dialled: bool) -> tuple[BatchedWindowYamux, Written]:
    written = Written()
    mux = BatchedWindowYamux(written, ID(b"\x00" * 34), is_initiator=we_dialled)  # type: ignore[arg-type]
    return mux, written


def frame(kind: int, flags: int, stream_id: int, data: bytes = b"") -> bytes:
    length = len(data) if kind == TYPE_DATA else 0
    return struct.pack(YAMUX_HEADER_FORMAT, 0, kind, flags, stream_id, length) + data


async def test_the_ack_of_a_peers_stream_goes_out_with_its_first_frame() -> None:
    mux, written = muxer(we_dialled=False)  # the peer dialled: its streams are odd
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_ACK, 1))
    assert written.writes == []
    await mux._write_frame(frame(TYPE_DATA, 0, 1, b"echo"))
    await mux._write_frame(frame(TYPE_DATA, 0, 1, b"answer"))
    assert written.writes == [
        [(TYPE_WINDOW_UPDATE, FLAG_ACK, 1), (TYPE_DATA, 0, 1)],
        [(TYPE_DATA, 0, 1)],
    ]


async def test_a_stream_ended_before_it_wrote_sends_its_fin_acknowledged() -> None:
    mux, written = muxer(we_dialled=False)
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_ACK, 3))
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_FIN, 3))
    assert written.writes == [[(TYPE_WINDOW_UPDATE, FLAG_ACK, 3),
                               (TYPE_WINDOW_UPDATE, FLAG_FIN, 3)]]


async def test_a_refusal_is_a_reset_alone() -> None:
    mux, written = muxer(we_dialled=False)
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_ACK, 5))
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_RST, 5))
    assert written.writes == [[(TYPE_WINDOW_UPDATE, FLAG_RST, 5)]]


async def test_our_syn_goes_out_with_our_first_frame_and_a_reset_unsent_stream_sends_nothing(
) -> None:
    mux, written = muxer(we_dialled=True)  # ours are odd
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 1))
    await mux._write_frame(frame(TYPE_DATA, 0, 1, b"/multistream/1.0.0\n"))
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, 3))
    await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_RST, 3))
    assert written.writes == [[(TYPE_WINDOW_UPDATE, FLAG_SYN, 1), (TYPE_DATA, 0, 1)]]


async def test_owed_openings_of_finished_streams_are_not_kept() -> None:
    # Streams the peer opened and reset before we wrote a thing: thousands over a
    # connection's life; what is owed for them stays bounded by the live streams.
    mux, _ = muxer(we_dialled=False)
    for stream_id in range(1, 20_001, 2):
        await mux._write_frame(frame(TYPE_WINDOW_UPDATE, FLAG_ACK, stream_id))
        await trio.lowlevel.checkpoint()
    assert len(mux._book.unsent_opening) <= _PRUNE_ABOVE + 1
