"""The receive-window bound of upstream/yamux_window.py, frame by frame."""

from __future__ import annotations

import pytest
from libp2p.stream_muxer.yamux.yamux import DEFAULT_WINDOW_SIZE

from adapters.libp2p.upstream.yamux_window import (
    GROWN_WINDOW,
    ReceiveWindowExceeded,
    _BuffersBoundByWindow,
)

PEERS, OURS = 2, 1  # we dialled: our streams are odd


def buffers() -> _BuffersBoundByWindow:
    return _BuffersBoundByWindow(we_dialled=True)


def test_bytes_within_the_window_are_kept() -> None:
    bufs = buffers()
    bufs[OURS] = bytearray()
    bufs[OURS].extend(b"a" * DEFAULT_WINDOW_SIZE)
    assert len(bufs[OURS]) == DEFAULT_WINDOW_SIZE
    del bufs[OURS][:10]  # the reader takes some: room for as much again
    bufs[OURS].extend(b"b" * 10)


def test_a_frame_past_the_window_raises_and_nothing_more_is_kept() -> None:
    bufs = buffers()
    bufs[OURS] = bytearray()
    bufs[OURS].extend(b"a" * 100)
    with pytest.raises(ReceiveWindowExceeded, match="ignores Yamux flow control"):
        bufs[OURS].extend(b"b" * DEFAULT_WINDOW_SIZE)
    bufs[OURS].extend(b"c")  # py-libp2p ended the stream; later frames are dropped
    assert bytes(bufs[OURS]) == b"a" * 100


def test_the_opening_frame_of_a_peers_stream_is_refused_quietly() -> None:
    # Raising there would leave the stream registered in py-libp2p and never announced.
    bufs = buffers()
    bufs[PEERS] = bytearray()
    bufs[PEERS].extend(b"a" * (DEFAULT_WINDOW_SIZE + 1))
    bufs[PEERS].extend(b"b")
    assert bufs[PEERS] == b""


def test_a_grown_stream_may_hold_the_grown_window() -> None:
    bufs = buffers()
    bufs[OURS] = bytearray()
    bufs.grown.add(OURS)  # the connection's set, shared: growth counts at once
    bufs[OURS].extend(b"a" * GROWN_WINDOW)
    with pytest.raises(ReceiveWindowExceeded):
        bufs[OURS].extend(b"b")
