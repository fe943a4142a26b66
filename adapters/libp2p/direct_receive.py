"""Receive from the kernel socket itself, not through three layers of streams.

py-libp2p's TCP stream reads through its ``TrioTCPStream`` (a lock), trio's
``SocketStream`` (a conflict check) and trio's socket method wrapper: each a coroutine
per read, and, while a connection waits for its peer, five nested frames it keeps
(~1 KB per idle connection: 1000 connected watchers wait there). PskConnection, the only
reader of its socket once the peer's nonce is in, receives here instead. As trio's own
socket methods: a cancellation is taken before the read, never after bytes came; and
what py-libp2p's stream makes of the ends is kept: b"" at the end of the stream or once
the socket was closed here, ConnectionClosedError on a reset.
"""

from __future__ import annotations

import socket

import trio
from libp2p.io.exceptions import ConnectionClosedError

__all__ = ["receive"]


async def receive(sock: socket.socket, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` from ``sock`` (non-blocking, as trio keeps it) once there are."""
    await trio.lowlevel.checkpoint_if_cancelled()
    waited = False
    while (data := _recv_now(sock, max_bytes)) is None:
        # Waited on outside the ``except``: an exception being handled stays alive (with
        # its traceback) for as long as the handler awaits, ~0.5 KB per idle connection.
        try:
            await trio.lowlevel.wait_readable(sock.fileno())  # a checkpoint
        except trio.ClosedResourceError:  # closed here while waiting
            return b""
        waited = True
    if not waited:
        await trio.lowlevel.cancel_shielded_checkpoint()  # a turn for the others
    return data


def _recv_now(sock: socket.socket, max_bytes: int) -> bytes | None:
    """What the kernel holds (b"" at the end of the stream), None if nothing yet."""
    try:
        return sock.recv(max_bytes)
    except BlockingIOError:
        return None
    except OSError as exc:
        if sock.fileno() == -1:  # closed here
            return b""
        raise ConnectionClosedError(
            f"TCP connection reset by remote peer: {exc}", transport="tcp"
        ) from exc
