"""A Yamux DATA frame's body: read from the Noise session's buffer with no timer when
it is there, with upstream's timed read otherwise (upstream/yamux_window.py)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.io.utils import read_exactly
from libp2p.peer.id import ID
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux.yamux import Yamux

from adapters.libp2p.upstream.yamux_window import BatchedWindowYamux


class Messages:
    """A Noise message reader/writer handing out the given messages."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages

    async def read_msg(self) -> bytes:
        return self.messages.pop(0) if self.messages else b""

    async def write_msg(self, msg: bytes) -> None:
        pass

    async def close(self) -> None:
        pass


def _muxer(messages: list[bytes]) -> BatchedWindowYamux:
    keys = create_new_key_pair()
    peer = ID.from_pubkey(keys.public_key)
    session = SecureSession(local_peer=peer, local_private_key=keys.private_key,
                            remote_peer=peer, remote_permanent_pubkey=keys.public_key,
                            is_initiator=True, conn=Messages(messages))  # type: ignore[arg-type]
    return BatchedWindowYamux(session, peer, is_initiator=True)


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    armed: list[float] = []
    fail_after = trio.fail_after

    def counting(seconds: float) -> Any:
        armed.append(seconds)
        return fail_after(seconds)

    monkeypatch.setattr(trio, "fail_after", counting)
    return armed


def test_upstream_arms_a_timer_per_body_and_keeps_the_rest_of_a_message_buffered() -> None:
    """Upstream: what the override relies on (fails if py-libp2p changes either)."""
    assert "trio.fail_after(" in inspect.getsource(Yamux._read_data_body)
    drain = inspect.getsource(SecureSession._drain)
    assert "self.low_watermark" in drain and "self.high_watermark" in drain


async def test_a_body_in_the_same_message_as_its_header_needs_no_timer(
    timers: list[float],
) -> None:
    muxer = _muxer([b"h" * 12 + b"body" * 25])
    assert await read_exactly(muxer.secured_conn, 12) == b"h" * 12
    assert await muxer._read_data_body(100) == b"body" * 25
    assert timers == []


async def test_a_body_still_to_come_is_read_with_upstreams_timer(timers: list[float]) -> None:
    muxer = _muxer([b"h" * 12 + b"bo", b"dy" + b"!" * 6])
    await read_exactly(muxer.secured_conn, 12)
    assert await muxer._read_data_body(10) == b"body!!!!!!"
    assert len(timers) == 1
