"""Pipelined multistream-select: the dialer's one write, the listener's owed echoes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.protocol_muxer.exceptions import (
    MultiselectClientError,
    MultiselectError,
    ProtocolNotSupportedError,
)
from libp2p.protocol_muxer.multiselect_communicator import MultiselectCommunicator
from libp2p.utils.varint import encode_delim

from adapters.libp2p.pipelined_request import read_pipelined_reply
from adapters.libp2p.upstream.pipelined_multiselect import PipelinedMultiselect

HEADER = encode_delim(b"/multistream/1.0.0")
GET = encode_delim(b"/get/0.1")
NA = encode_delim(b"na")


class FakeStream:
    """Reads hand out ``chunks`` in turn, then EOF; writes are recorded."""

    def __init__(self, *chunks: bytes, peer_done: bool = False) -> None:
        self.chunks = list(chunks)
        self.written: list[bytes] = []
        self.closed_write = False
        self.muxed_stream = SimpleNamespace(recv_closed=peer_done)

    async def read(self, n: int | None = None) -> bytes:
        if not self.chunks:
            raise StreamEOF()
        return self.chunks.pop(0)

    async def write(self, data: bytes) -> None:
        self.written.append(data)

    async def close_write(self) -> None:
        self.closed_write = True

    async def close(self) -> None:
        self.closed_write = True


async def _answer(stream) -> None:  # type: ignore[no-untyped-def]
    request = await stream.read()
    await stream.write(b"answer to " + request)


def _listener() -> PipelinedMultiselect:
    ours = PipelinedMultiselect()
    ours.add_handler("/get/0.1", _answer)  # type: ignore[arg-type]
    return ours


async def test_a_pipelined_request_gets_echoes_and_answer_in_one_write() -> None:
    stream = FakeStream(HEADER + GET + b"svc", peer_done=True)
    protocol, handler = await _listener().negotiate(MultiselectCommunicator(stream))  # type: ignore[arg-type]
    assert protocol == "/get/0.1" and stream.written == []  # nothing sent yet: owed
    assert handler is not None
    await handler(stream)  # type: ignore[arg-type]
    assert stream.written == [HEADER + GET + b"answer to svc"]


async def test_a_lock_step_dialer_gets_each_answer_before_it_sends_more() -> None:
    stream = FakeStream(HEADER, GET)
    protocol, handler = await _listener().negotiate(MultiselectCommunicator(stream))  # type: ignore[arg-type]
    assert protocol == "/get/0.1"
    assert stream.written == [HEADER, GET]  # as py-libp2p's Multiselect answers
    assert handler is _answer


async def test_a_request_not_yet_half_closed_gets_the_echoes_at_once() -> None:
    # The dialer may wait for them before it half-closes: owing them would deadlock.
    stream = FakeStream(HEADER + GET + b"svc")
    _, handler = await _listener().negotiate(MultiselectCommunicator(stream))  # type: ignore[arg-type]
    assert stream.written == [HEADER + GET]
    await handler(stream)  # type: ignore[arg-type, misc]
    assert stream.written == [HEADER + GET, b"answer to svc"]


async def test_an_unknown_proposal_is_answered_na_then_the_next_is_taken() -> None:
    stream = FakeStream(HEADER + encode_delim(b"/nope/1") + GET + b"svc", peer_done=True)
    protocol, handler = await _listener().negotiate(MultiselectCommunicator(stream))  # type: ignore[arg-type]
    assert protocol == "/get/0.1"
    await handler(stream)  # type: ignore[arg-type, misc]
    assert stream.written == [HEADER + NA + GET + b"answer to svc"]


async def test_a_request_behind_an_unknown_proposal_still_gets_the_na() -> None:
    # What a pipelining dialer sends to a peer without the protocol: the request is
    # no multistream message, but the "na" must reach the dialer before the reset.
    stream = FakeStream(HEADER + encode_delim(b"/nope/1") + b'{"not": "a message"}')
    with pytest.raises(MultiselectError):
        await _listener().negotiate(MultiselectCommunicator(stream))  # type: ignore[arg-type]
    assert b"".join(stream.written) == HEADER + NA


async def test_the_dialer_reads_the_answer_behind_the_echoes() -> None:
    stream = FakeStream(HEADER + GET + b"ans", b"wer")
    assert await read_pipelined_reply(stream, "/get/0.1", 100, closed=True) == b"answer"  # type: ignore[arg-type]


async def test_the_dialer_closes_its_write_side_once_the_echoes_are_in() -> None:
    stream = FakeStream(HEADER, GET, b"answer")
    assert await read_pipelined_reply(stream, "/get/0.1", 100, closed=False) == b"answer"  # type: ignore[arg-type]
    assert stream.closed_write


async def test_na_means_the_protocol_is_not_spoken() -> None:
    stream = FakeStream(HEADER + NA)
    with pytest.raises(ProtocolNotSupportedError):
        await read_pipelined_reply(stream, "/get/0.2", 100, closed=False)  # type: ignore[arg-type]
    assert not stream.closed_write


@pytest.mark.parametrize("reply", [b"", HEADER[:5], HEADER + encode_delim(b"/other/1")])
async def test_a_broken_negotiation_is_no_refusal(reply: bytes) -> None:
    stream = FakeStream(reply) if reply else FakeStream()
    with pytest.raises(MultiselectClientError) as caught:
        await read_pipelined_reply(stream, "/get/0.1", 100, closed=True)  # type: ignore[arg-type]
    assert not isinstance(caught.value, ProtocolNotSupportedError)


class SilentStream(FakeStream):
    """A dialer that sends ``chunks`` and then nothing, never closing."""

    async def read(self, n: int | None = None) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        await trio.sleep_forever()
        raise AssertionError("unreachable")


@pytest.mark.parametrize("sent", [b"", HEADER, HEADER + GET[:3]])
async def test_a_dialer_that_stops_mid_negotiation_times_out(sent: bytes) -> None:
    stream = SilentStream(sent) if sent else SilentStream()
    started = trio.current_time()
    with trio.fail_after(5), pytest.raises(MultiselectError, match="handshake read timeout"):
        await _listener().negotiate(MultiselectCommunicator(stream), 0.2)  # type: ignore[arg-type]
    assert 0.2 <= trio.current_time() - started < 2
