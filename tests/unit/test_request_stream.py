"""adapters/libp2p/request_stream.py: one request per stream, within its timeout."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import trio
from libp2p.network.stream.exceptions import StreamEOF

from adapters.libp2p.request_stream import answer_one_request


class RequestStream:
    """A stream carrying ``request`` (then EOF), or nothing ever (``silent``)."""

    def __init__(self, request: bytes = b"", *, silent: bool = False) -> None:
        self.chunks = [] if silent else [request]
        self.silent = silent
        self.written = b""
        self.closed_write = self.closed = self.was_reset = False
        self.muxed_conn = SimpleNamespace(peer_id="QmPeer")

    async def read(self, n: int | None = None) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        if self.silent:
            await trio.sleep_forever()
        raise StreamEOF()

    async def write(self, data: bytes) -> None:
        self.written += data

    async def close_write(self) -> None:
        self.closed_write = True

    async def close(self) -> None:
        self.closed = True

    async def reset(self) -> None:
        self.was_reset = True


async def echo(request: bytes, peer: str) -> bytes:
    return b"answer to " + request + b" from " + peer.encode()


async def test_a_request_is_answered_and_the_stream_closed() -> None:
    stream = RequestStream(b"svc")
    await answer_one_request(stream, echo, label="/get/0.1", timeout=5,  # type: ignore[arg-type]
                             max_request=100)
    assert stream.written == b"answer to svc from QmPeer"
    assert stream.closed_write and stream.closed and not stream.was_reset


async def test_a_request_that_never_comes_is_reset_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = RequestStream(silent=True)
    started = trio.current_time()
    with trio.fail_after(5):
        await answer_one_request(stream, echo, label="/get/0.1",  # type: ignore[arg-type]
                                 timeout=0.2, max_request=100)
    assert 0.2 <= trio.current_time() - started < 2
    assert stream.was_reset and not stream.written
    assert "/get/0.1 from QmPeer failed: timed out" in caplog.text


async def test_a_request_over_the_limit_is_reset(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    stream = RequestStream(b"x" * 101)
    await answer_one_request(stream, echo, label="/get/0.1", timeout=5,  # type: ignore[arg-type]
                             max_request=100)
    assert stream.was_reset and not stream.written
    assert "exceeds 100 bytes" in caplog.text
