"""Noise transport messages taken straight from what the PSK layer holds decrypted.

py-libp2p 0.8.1 reads each Noise message through four layers of awaits (its length
reader, ``read_exactly`` twice, the raw connection's read under its lock, twice) and
formats three debug lines for it, logged or not. A js-libp2p client sends each Yamux
frame as a message of its own, six per `/get/0.1`, so a daemon pays that six times per
request. The PSK layer receives the bytes of many messages at once: when the next one
is whole among them, it is taken and decrypted without an await. Otherwise the PSK layer
receives until it is whole (``PskConnection.read_message``): one await, where upstream's
six nested coroutines were kept by every idle connection, waiting (~1 KB each). The
bytes, their order and the error at the end of the stream are upstream's.
tests/unit/test_noise_reads.py fails if upstream's framing changes.
"""

from __future__ import annotations

from libp2p.network.connection.raw_connection import RawConnection
from libp2p.security.noise.io import BaseNoiseMsgReadWriter, NoiseTransportReadWriter

from adapters.libp2p.pnet import PskConnection

NOISE_LENGTH_BYTES = 2  # Noise's transport messages are framed with a 2-byte length
_upstream_read_msg = BaseNoiseMsgReadWriter.read_msg


async def _read_msg(self: NoiseTransportReadWriter, prefix_encoded: bool = False) -> bytes:
    if prefix_encoded:  # the handshake's framing: not a transport message
        return await _upstream_read_msg(self, prefix_encoded)
    raw = self.read_writer.read_write_closer
    if type(raw) is RawConnection:  # the swarm wraps what a listener accepts once more
        raw = raw.stream
    if type(raw) is PskConnection:
        packet = raw.buffered_message(NOISE_LENGTH_BYTES)
        if packet is None:
            packet = await raw.read_message(NOISE_LENGTH_BYTES)
        return self.decrypt(packet)
    return self.decrypt(await self.read_writer.read_msg())


def read_buffered_noise_messages() -> None:
    """Process-wide: every Noise transport session reads as above."""
    NoiseTransportReadWriter.read_msg = _read_msg  # type: ignore[method-assign,assignment]
