"""multistream-select's messages: a uvarint length, then the text and a newline."""

from __future__ import annotations

MULTISTREAM_HEADER = b"/multistream/1.0.0"  # the text; on the wire: HEADER_MESSAGE
NOT_SUPPORTED = b"na"
# What our listeners send where an echo belongs when a limit is reached (docs/protocol.md).
CONNECTION_LIMIT_REFUSAL = b"/p2p-registry/refused/connection-limit"
STREAM_LIMIT_REFUSAL = b"/p2p-registry/refused/stream-limit"
_MAX_LENGTH_BYTES = 3  # 2 MiB: far above any protocol id or "ls" answer


def encoded(text: bytes) -> bytes:
    """One message as sent: the uvarint length (these texts are < 128 bytes), text, newline."""
    if len(text) >= 127:
        raise ValueError("multistream texts here are shorter than 127 bytes")
    return bytes([len(text) + 1]) + text + b"\n"


HEADER_MESSAGE = encoded(MULTISTREAM_HEADER)


def next_message(data: bytes | bytearray | memoryview, at: int = 0) -> tuple[int, int] | None:
    """Where the text of the message at ``at`` starts and ends (newline included), or None
    while it is incomplete. ValueError if its length prefix is longer than ever sent."""
    length = 0
    for index in range(_MAX_LENGTH_BYTES):
        if at + index >= len(data):
            return None
        byte = data[at + index]
        length |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            start = at + index + 1
            return (start, start + length) if len(data) >= start + length else None
    raise ValueError("multistream message length prefix too long")
