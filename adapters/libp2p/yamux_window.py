"""Yamux with go-yamux's window updates: batched, not one or two per read.

py-libp2p 0.8.1's Yamux sends a WINDOW_UPDATE after almost every read, and on
loopback its window auto-tuning (which assumes a 1 ms round trip) doubles each
new stream's window on every one of them: a 13-byte request and a 200-byte
answer cost 20 frames, 10 of them window updates (benchmarks/trace_frames.py),
each a Noise encryption, a PSK pass and a socket send.

This muxer keeps the wire plain Yamux and changes only when window updates go out:
- a stream's window stays at Yamux's initial 256 KiB, as go-yamux's does until a
  transfer is limited by it (no doubling on every read);
- consumed window is told to the peer once it adds up to FLUSH_AT (half the
  window), as go-yamux and js-yamux do. The peer can always send at least
  FLUSH_AT more bytes, so nothing stalls.
SYN, ACK, FIN and RST frames and all data go out unchanged.

py-libp2p builds its own Yamux class whatever the muxer options say
(MuxerMultistream.new_conn), so :func:`use_batched_window_yamux` swaps in a
MuxerMultistream that builds the class the options name.
"""

from __future__ import annotations

import struct
from typing import Any

import trio
from libp2p.abc import IMuxedConn, ISecureConn
from libp2p.peer.id import ID
from libp2p.stream_muxer.muxer_multistream import MuxerMultistream
from libp2p.stream_muxer.yamux.yamux import (
    DEFAULT_WINDOW_SIZE,
    HEADER_SIZE,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
    Yamux,
    YamuxStream,
)

FLUSH_AT = DEFAULT_WINDOW_SIZE // 2
_PRUNE_ABOVE = 256  # withheld counts kept before those of finished streams are dropped


def _no_round_trip_estimate() -> float:
    return 0.0  # py-libp2p's auto-tuning reads 0 as "do not grow"


class _StreamsWithFixedWindow(dict[int, YamuxStream]):
    def __setitem__(self, stream_id: int, stream: YamuxStream) -> None:
        stream._effective_rtt = _no_round_trip_estimate  # type: ignore[method-assign]
        super().__setitem__(stream_id, stream)


class BatchedWindowYamux(Yamux):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = _StreamsWithFixedWindow()
        self._withheld: dict[int, int] = {}

    async def _write_frame(self, data: bytes) -> None:
        if len(data) == HEADER_SIZE:
            version, kind, flags, stream_id, increment = struct.unpack(
                YAMUX_HEADER_FORMAT, data
            )
            if kind == TYPE_WINDOW_UPDATE and flags == 0 and stream_id != 0:
                owed = self._withheld.pop(stream_id, 0) + increment
                if owed < FLUSH_AT:
                    self._withhold(stream_id, owed)
                    await trio.lowlevel.checkpoint()
                    return
                data = struct.pack(YAMUX_HEADER_FORMAT, version, kind, 0, stream_id, owed)
        await super()._write_frame(data)

    def _withhold(self, stream_id: int, owed: int) -> None:
        self._withheld[stream_id] = owed
        if len(self._withheld) > _PRUNE_ABOVE:
            live = self.streams
            self._withheld = {s: n for s, n in self._withheld.items() if s in live}


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
