"""One request per stream, with multistream-select pipelined: one round trip, not three.

py-libp2p's ``new_stream`` negotiates in lock-step: it sends the multistream header
and waits for the echo, sends the protocol id and waits for the echo, and only
then may the request go out. On loopback those two extra round trips were two
thirds of a get's latency. The multistream-select spec lets the dialer send its
proposal without waiting (go-libp2p's lazy negotiation does), and every listener
reads the messages in order and leaves what follows for the protocol's handler.
So the header, the protocol id and the request go out in one write, and the two
echoes are checked in front of the answer. The bytes on the wire are those of a
lock-step negotiation; only their timing differs.

The half-close goes with them (one Noise message with our muxer) only to a peer
known to read a request to its end whatever the timing: one whose identify lists
``/status/0.1``, i.e. a registry-service of ours. js-libp2p 3 loses the answer of a
handler whose stream the dialer half-closed before the handler ran, so every other
peer gets the half-close once the echoes are in: two round trips.

A peer that does not speak the protocol answers ``na``; the request behind it is
then garbage to its multistream reader, which resets or closes the stream. Either
way the ``na`` arrives first and becomes ``ProtocolNotSupportedError``.
"""

from __future__ import annotations

from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF, StreamReset
from libp2p.peer.id import ID
from libp2p.protocol_muxer.exceptions import MultiselectClientError, ProtocolNotSupportedError
from libp2p.utils.varint import encode_delim

from adapters.libp2p.multistream_messages import (
    MULTISTREAM_HEADER,
    NOT_SUPPORTED,
    STREAM_LIMIT_REFUSAL,
    next_message,
)
from adapters.libp2p.stream_io import MessageTooLarge
from adapters.libp2p.upstream.final_write import write_final
from domain.instance_status import STATUS_PROTOCOL_ID


def reads_past_early_close(host: IHost, peer_id: ID) -> bool:
    """Whether ``peer_id`` identified as a registry-service of ours (see the module doc)."""
    try:
        return STATUS_PROTOCOL_ID in host.get_peerstore().get_protocols(peer_id)
    except Exception:  # PeerStoreError: not identified (yet)
        return False


async def send_pipelined(
    host: IHost, peer_id: ID, protocol: str, payload: bytes, *, close: bool
) -> INetStream:
    """A new stream carrying header, proposal and ``payload`` in one write; with
    ``close``, its write side closed in the same write."""
    stream = await host.get_network().new_stream(peer_id)
    message = encode_delim(MULTISTREAM_HEADER) + encode_delim(protocol.encode()) + payload
    try:
        stream.set_protocol(TProtocol(protocol))
        if close:
            await write_final(stream, message)
        else:
            await stream.write(message)
    except BaseException:
        await stream.reset()
        raise
    return stream


async def read_pipelined_reply(
    stream: INetStream, protocol: str, limit: int, *, closed: bool
) -> bytes:
    """The answer after the two echoes, read to the end; at most ``limit`` bytes of it.

    Unless ``closed``, the write side is closed once both echoes are in. A reset
    ends the read like an end of stream: what came before it (an ``na``, or a
    partial answer the caller rejects as empty or malformed) still counts.
    """
    overhead = len(encode_delim(MULTISTREAM_HEADER)) + len(encode_delim(protocol.encode()))
    received = bytearray()
    while True:
        try:
            # All that is buffered: a fixed size would shift a big buffered answer down
            # by that much on every read (py-libp2p's Yamux deletes from the front).
            chunk = await stream.read()
        except (StreamEOF, StreamReset):
            break
        if not chunk:
            break
        received += chunk
        if len(received) > limit + overhead:
            raise MessageTooLarge(limit)
        if not closed and _echoes_in(received):
            _answer(received, protocol)  # an "na" ends it here
            await stream.close_write()  # type: ignore[attr-defined]  # NetStream has it
            closed = True
    return _answer(received, protocol)


def _answer(received: bytearray, protocol: str) -> bytes:
    # Views, not slices: an answer of tens of MB is copied once, into the bytes returned.
    rest = _take_echo(memoryview(received), MULTISTREAM_HEADER, protocol, "multistream header")
    return bytes(_take_echo(rest, protocol.encode(), protocol, "protocol id"))


def _echoes_in(data: bytearray) -> bool:
    first = next_message(data)
    return first is not None and next_message(data, first[1]) is not None


def _take_echo(data: memoryview, expected: bytes, protocol: str, what: str) -> memoryview:
    """``data`` after its first multistream message, which must be ``expected``."""
    try:
        span = next_message(data)
    except ValueError:
        span = None
    if span is None:
        # Not a refusal (those come after the echoes): the stream or connection broke.
        state = "truncated" if data else "no"
        raise MultiselectClientError(f"{state} multistream-select answer for {protocol}")
    message = bytes(data[span[0] : span[1]])
    if message == NOT_SUPPORTED + b"\n":
        raise ProtocolNotSupportedError(f"protocols not supported: {protocol}")
    if message == STREAM_LIMIT_REFUSAL + b"\n":
        raise MultiselectClientError(
            f"the registry-service refused the {protocol} stream: this connection has as many "
            "streams open as it allows (--max-streams-per-connection)"
        )
    if message != expected + b"\n":
        raise MultiselectClientError(f"unexpected {what} answer {message[:64]!r} for {protocol}")
    return data[span[1] :]
