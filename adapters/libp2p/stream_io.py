"""Half-close framing of the reference protocol: one request per stream."""

from __future__ import annotations

from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF

_READ_SIZE = 64 * 1024


class MessageTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"message exceeds {limit} bytes")
        self.limit = limit


async def read_to_end(stream: INetStream, limit: int) -> bytes:
    """Read until the peer closes its write side; refuse more than ``limit`` bytes.

    py-libp2p's ``read`` returns what is buffered and raises StreamEOF at the end
    (it never returns b"" for EOF), hence the loop.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await stream.read(_READ_SIZE)
        except StreamEOF:
            break
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise MessageTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)
