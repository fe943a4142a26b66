"""A Yamux keep-alive ping on a connection: py-libp2p answers them but offers no call.

A watch stream's heartbeat must learn within a second whether the instance behind a
quiet connection is alive. A libp2p ping (`/ipfs/ping/1.0.0`) costs a new stream, a
multistream-select negotiation and a handler task on the server; with 60 quiet views
pinging one loaded instance that was enough to time pings out and drop streams
(benchmarks/bench_view.py, load 16 on 2 cores). A Yamux PING frame (12 bytes, spec
type 0x2) is answered inside the peer's muxer read loop, by py-libp2p, go-yamux and
js-yamux alike, and costs no stream.

py-libp2p 0.8.1's Yamux sends its own PING every 30 s to measure RTT, answers a PING
with SYN by an ACK, and on an ACK sets ``_ping_event`` and updates ``_rtt`` from
``_ping_sent_time``. We send a PING the same way, set ``_ping_sent_time`` as its loop
does (so its RTT stays right), and wait for any ACK: the peer's muxer answered.
"""

from __future__ import annotations

import random
import struct

import trio
from libp2p.abc import IMuxedConn
from libp2p.stream_muxer.yamux.yamux import FLAG_SYN, TYPE_PING, YAMUX_HEADER_FORMAT, Yamux


class NotYamux(TypeError):
    """The connection is not multiplexed by Yamux (no keep-alive ping there)."""


async def yamux_ping(conn: IMuxedConn) -> None:
    """Return when the peer's Yamux answers a PING; the caller bounds the wait."""
    if not isinstance(conn, Yamux):
        raise NotYamux(type(conn).__name__)
    if conn._ping_event.is_set():  # the answer to an earlier ping: wait for a new one
        conn._ping_event = trio.Event()
    nonce = random.getrandbits(32)
    await conn._write_frame(struct.pack(YAMUX_HEADER_FORMAT, 0, TYPE_PING, FLAG_SYN, 0, nonce))
    conn._ping_sent_time = trio.current_time()
    while True:
        event = conn._ping_event  # py-libp2p's own RTT ping may replace it meanwhile
        with trio.move_on_after(0.05):
            await event.wait()
        if event.is_set():
            return
