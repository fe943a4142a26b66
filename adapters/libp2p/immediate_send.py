"""Hand bytes to the kernel at once, without a pass through trio's scheduler.

trio's ``SocketStream.send_all`` is a checkpoint even when the kernel's send buffer takes
every byte at once. The writer then waits for its next turn while holding its
connection's write locks (the PSK layer's and Yamux's), so every other stream with an
answer to write parks behind it and costs a scheduler pass of its own. PskConnection
first offers its bytes to the socket directly and awaits trio's send only for what the
kernel did not take (a full buffer, or an error, which trio's send then reports as
before). Measured with a js-libp2p client on 32 streams: scheduler steps per `/get/0.1`
14.9 -> 7.6, requests per second 1.14-1.20x (same run; docs/performance.md).

trio keeps the socket object private (``SocketType._sock``);
tests/unit/test_immediate_send.py fails if it goes.
"""

from __future__ import annotations

import socket
from typing import Any

import trio

__all__ = ["send_now", "socket_under"]

# py-libp2p's TCP stream is a TrioTCPStream, or a RawConnection around one.
_LAYERS_TO_LOOK_THROUGH = 3


def socket_under(stream: Any) -> socket.socket | None:
    """The kernel socket under py-libp2p's TCP stream, or None if it is not one."""
    for _ in range(_LAYERS_TO_LOOK_THROUGH):
        if isinstance(stream, trio.SocketStream):
            sock = getattr(stream.socket, "_sock", None)
            return sock if isinstance(sock, socket.socket) else None
        stream = getattr(stream, "stream", None)
    return None


def send_now(sock: socket.socket, data: bytes) -> int:
    """How many bytes of ``data`` the kernel took at once (0 if it would block or failed)."""
    try:
        return sock.send(data)
    except OSError:  # BlockingIOError, or an error trio's awaited send will name
        return 0
