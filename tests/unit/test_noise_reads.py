"""adapters/libp2p/upstream/noise_reads.py: Noise messages taken whole from the PSK layer's
buffer, the same bytes in the same order as upstream's reads, over either shape of raw
connection (a dialer's PskConnection, or the RawConnection the swarm wraps an accepted
one in)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from libp2p.io.abc import ReadWriteCloser
from libp2p.io.exceptions import IncompleteReadError
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.security.noise.io import (
    BaseNoiseMsgReadWriter,
    NoisePacketReadWriter,
    NoiseTransportReadWriter,
)
from trio_tasks import awaiting

from adapters.libp2p.pnet import PskConnection
from adapters.libp2p.upstream import noise_reads
from domain.psk import psk_from_passphrase

PSK = psk_from_passphrase("physarum")


class CountedRaw(ReadWriteCloser):
    """A raw connection over a trio in-memory stream that counts its reads."""

    def __init__(self, stream: trio.abc.Stream, max_read: int) -> None:
        self.stream, self.max_read, self.reads = stream, max_read, 0

    async def read(self, n: int | None = None) -> bytes:
        self.reads += 1
        return await self.stream.receive_some(min(n or self.max_read, self.max_read))

    async def write(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def close(self) -> None:
        await self.stream.aclose()

    def get_remote_address(self) -> tuple[str, int] | None:
        return ("127.0.0.1", 4001)


class Marked:
    """A stand-in for the Noise session's cipher: framing is what is under test."""

    def encrypt(self, data: bytes) -> bytes:
        return b"<" + data + b">"

    def decrypt(self, data: bytes) -> bytes:
        assert data[:1] == b"<" and data[-1:] == b">", data
        return bytes(data[1:-1])


def noise_over(raw: Any) -> NoiseTransportReadWriter:
    return NoiseTransportReadWriter(raw, Marked())  # type: ignore[arg-type]


def noise_pair() -> tuple[NoiseTransportReadWriter, NoiseTransportReadWriter]:
    """Noise over the PSK layer, dialer and listener, over a trio in-memory stream."""
    a, b = trio.testing.memory_stream_pair()
    return (noise_over(PskConnection(CountedRaw(a, 65536), PSK, initiator=True,
                                     expect_multistream=False)),
            noise_over(PskConnection(CountedRaw(b, 65536), PSK, initiator=False,
                                     expect_multistream=False)))


@pytest.fixture(autouse=True)
def ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NoiseTransportReadWriter, "read_msg", NoiseTransportReadWriter.read_msg)
    noise_reads.read_buffered_noise_messages()


def test_upstream_frames_noise_messages_as_the_fast_path_reads_them() -> None:
    assert NoisePacketReadWriter.size_len_bytes == noise_reads.NOISE_LENGTH_BYTES
    assert noise_reads._upstream_read_msg is BaseNoiseMsgReadWriter.read_msg
    assert NoiseTransportReadWriter.read_msg is noise_reads._read_msg


MESSAGES = [b"", b"a", b"header+data" * 20, bytes(range(256)) * 40, b"fin"]


@pytest.mark.parametrize("wrapped", [False, True], ids=["dialer", "accepted"])
@pytest.mark.parametrize("max_read", [65536, 513], ids=["whole", "short-reads"])
async def test_the_same_messages_in_the_same_order(
    wrapped: bool, max_read: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    awaited: list[int] = []
    upstream_read = NoisePacketReadWriter.read_msg

    async def counted(self: NoisePacketReadWriter) -> bytes:
        awaited.append(1)
        return await upstream_read(self)

    monkeypatch.setattr(NoisePacketReadWriter, "read_msg", counted)
    a, b = trio.testing.memory_stream_pair()
    sender_raw = CountedRaw(a, 65536)
    receiver_raw = CountedRaw(b, max_read)
    sender = noise_over(PskConnection(sender_raw, PSK, initiator=True,
                                      expect_multistream=False))
    receiving = PskConnection(receiver_raw, PSK, initiator=False, expect_multistream=False)
    receiver = noise_over(RawConnection(receiving, False) if wrapped else receiving)
    # Several messages in one write, as a peer's frames come in one TCP read.
    framed = b"".join(sender.read_writer.encode_msg(sender.encrypt(m)) for m in MESSAGES)
    await sender.read_writer.read_write_closer.write(framed)
    got = [await receiver.read_msg() for _ in MESSAGES]
    assert got == MESSAGES
    assert not awaited  # none went through upstream's message reader
    if max_read == 65536:
        # The nonce and every message came in one raw read, the rest taken from the buffer.
        assert receiver_raw.reads == 1


async def test_a_message_not_whole_in_the_buffer_waits_for_the_rest() -> None:
    sender, receiver = noise_pair()
    framed = sender.read_writer.encode_msg(sender.encrypt(b"x" * 1000))
    raw = sender.read_writer.read_write_closer
    async with trio.open_nursery() as nursery:
        got: list[bytes] = []

        async def read() -> None:
            got.append(await receiver.read_msg())

        nursery.start_soon(read)
        await raw.write(framed[:500])
        await trio.testing.wait_all_tasks_blocked()
        assert not got
        await raw.write(framed[500:])
    assert got == [b"x" * 1000]


async def test_a_waiting_read_keeps_none_of_upstreams_message_reader_frames() -> None:
    """An idle connection waits here for good: each nested coroutine is memory it keeps."""
    sender, receiver = noise_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver.read_msg)
        await sender.read_writer.read_write_closer.write(b"")  # our nonce, nothing else
        await trio.testing.wait_all_tasks_blocked()
        (reader,) = nursery.child_tasks
        names = awaiting(reader)
        assert "read_message" in names
        assert not {"read_length", "read_exactly", "next_msg_len"} & set(names), names
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("cut", [0, 1, 2, 700], ids=["boundary", "in-length", "length", "body"])
async def test_an_end_of_stream_raises_what_upstreams_reader_raises(cut: int) -> None:
    async def end_after(read: Any) -> Exception:
        a, b = trio.testing.memory_stream_pair()
        sender = PskConnection(CountedRaw(a, 65536), PSK, initiator=True,
                               expect_multistream=False)
        receiver = noise_over(PskConnection(CountedRaw(b, 65536), PSK, initiator=False,
                                            expect_multistream=False))
        framed = receiver.read_writer.encode_msg(b"<" + b"y" * 998 + b">")
        await sender.write(framed[:cut])
        await a.aclose()
        with pytest.raises(Exception) as raised:
            await read(receiver)
        return raised.value

    ours = await end_after(lambda receiver: receiver.read_msg())
    upstream = await end_after(lambda receiver: receiver.read_writer.read_msg())
    assert type(ours) is type(upstream) is IncompleteReadError
    assert (ours.expected_bytes, ours.received_bytes, ours.is_clean_close) == (
        upstream.expected_bytes, upstream.received_bytes, upstream.is_clean_close)
