"""Three trio tasks fewer per Yamux connection: no RTT loop, one stale-stream sweeper for
all, and the read loop run by ``start``'s own task.

py-libp2p 0.8.1's ``Yamux.start`` runs, beside each connection's read loop:
- ``_measure_rtt_loop``: a PING every 30 s, for the window auto-tuning that
  yamux_window.py turns off (every stream's RTT estimate reads 0): at 1000 connected
  proxies, 33 pings a second on an idle instance and 1000 tasks for nothing;
- ``_stale_stream_sweeper``: every 30 s, drops the bookkeeping of closed streams
  nobody cleaned up. Here one task sweeps every live connection of the process.
Each task costs a connection its task, coroutine frame, cancel scope and timer:
part of the ~100 KB a connected watcher costs (docs/performance.md, bench_scale.py).
Upstream's ``start`` also runs the read loop as a child task in a nursery of its own,
a task and a nursery per connection that wait for nothing else (an inbound connection's
read loop runs in its listener's task instead: inbound_connection_task.py). Yamux PINGs we send
ourselves (yamux_ping.py) are answered as before: the read loop handles them.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import trio
from libp2p.stream_muxer.yamux.yamux import _STALE_STREAM_SWEEP_INTERVAL

from adapters.libp2p.set_events import set_for_good
from adapters.libp2p.upstream.inbound_connection_task import read_by_its_listener

# Connections of this trio run whose closed streams the shared sweeper reclaims.
_swept: weakref.WeakSet[Any] = weakref.WeakSet()
_sweeping = False


async def start_without_extra_tasks(muxer: Any) -> None:
    """``Yamux.start`` whose own task is the read loop: no nursery, no child task."""
    if muxer.event_started.is_set():
        return
    _sweep_with_the_others(muxer)
    # Upstream's ready signal: the loop has started before the connection counts as up.
    # Here nothing runs between the signal and the loop's first read.
    muxer._established = True
    muxer.event_started = set_for_good(muxer.event_started)
    if read_by_its_listener(muxer):  # inbound_connection_task.py: its listener reads it
        return
    try:
        await muxer.handle_incoming()
    finally:
        with contextlib.suppress(trio.ClosedResourceError):  # close() or a read error did
            muxer.new_stream_send_channel.close()


def _sweep_with_the_others(muxer: Any) -> None:
    global _sweeping
    _swept.add(muxer)
    if not _sweeping:
        _sweeping = True
        trio.lowlevel.spawn_system_task(_sweep_forever, name="yamux stale-stream sweeper")


async def _sweep_forever() -> None:
    global _sweeping
    try:
        while _swept:
            await trio.sleep(_STALE_STREAM_SWEEP_INTERVAL)
            for muxer in list(_swept):
                if muxer.event_shutting_down.is_set():
                    _swept.discard(muxer)
                    continue
                async with muxer.streams_lock:
                    muxer._sweep_stale_streams()
    finally:
        _sweeping = False
