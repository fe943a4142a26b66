"""adapters/libp2p/direct_receive.py: what py-libp2p's TCP stream returns, read from the
kernel socket directly; real TCP sockets over loopback."""

from __future__ import annotations

import gc
import socket
import struct

import pytest
import trio
import trio.testing
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.io.trio import TrioTCPStream
from tcp_pair import tcp_pair
from trio_tasks import awaiting

from adapters.libp2p.direct_receive import receive
from adapters.libp2p.pnet import PskConnection
from domain.psk import psk_from_passphrase

PSK = psk_from_passphrase("physarum")


def _as_trio_stream(sock: socket.socket) -> TrioTCPStream:
    """As a listener hands it over (trio makes the socket non-blocking)."""
    return TrioTCPStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))


async def _with_bytes_waiting(
    data: bytes,
) -> tuple[socket.socket, socket.socket, TrioTCPStream]:
    """A pair whose second socket (trio's, as a listener hands it over) has ``data`` in."""
    a, b = tcp_pair()
    stream = _as_trio_stream(b)
    a.sendall(data)
    await trio.sleep(0.01)
    return a, b, stream


class _Steps(trio.abc.Instrument):
    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task, self.count = task, 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.count += task is self.task


async def test_bytes_waiting_are_returned_after_a_turn_for_the_others() -> None:
    a, b, stream = await _with_bytes_waiting(b"hello")
    with a:
        steps = _Steps(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(steps)
        try:
            assert await receive(b, 100) == b"hello"
        finally:
            trio.lowlevel.remove_instrument(steps)
        assert steps.count == 1  # the task yielded once (a checkpoint, as trio's read)
        await stream.close()


async def test_a_read_waits_for_bytes_then_ends_with_the_stream() -> None:
    a, b = tcp_pair()
    stream = _as_trio_stream(b)
    got: list[bytes] = []

    async def read_twice() -> None:
        got.append(await receive(b, 100))
        got.append(await receive(b, 100))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_twice)
        await trio.testing.wait_all_tasks_blocked()
        assert not got
        a.sendall(b"x")
        await trio.testing.wait_all_tasks_blocked()
        a.close()  # the peer's FIN
    assert got == [b"x", b""]
    await stream.close()


async def test_a_socket_closed_here_while_a_read_waits_reads_empty_as_upstreams() -> None:
    a, b = tcp_pair()
    with a:
        stream = _as_trio_stream(b)
        got: list[bytes] = []

        async def read() -> None:
            got.append(await receive(b, 100))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            await stream.close()  # trio tells the waiting read
        assert got == [b""]
        assert await receive(b, 100) == b""  # and a read after the close


async def test_a_reset_is_a_closed_connection_as_upstreams() -> None:
    a, b = tcp_pair()
    stream = _as_trio_stream(b)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()  # RST
    await trio.sleep(0.05)
    with pytest.raises(ConnectionClosedError):
        await receive(b, 100)
    await stream.close()


async def test_a_cancelled_read_takes_no_bytes() -> None:
    a, b, stream = await _with_bytes_waiting(b"kept")
    with a:
        with trio.CancelScope() as scope:
            scope.cancel()
            await receive(b, 100)
        assert scope.cancelled_caught
        assert await receive(b, 100) == b"kept"
        await stream.close()


async def test_a_psk_connection_waiting_for_its_peer_keeps_none_of_the_streams_frames() -> None:
    a, b = tcp_pair()
    mine = PskConnection(_as_trio_stream(a), PSK, initiator=True, expect_multistream=False)
    peer = PskConnection(_as_trio_stream(b), PSK, initiator=False, expect_multistream=False)
    await mine.write(b"first")
    assert await peer.read(5) == b"first"  # the nonce is in: steady state from here
    got: list[bytes] = []

    async def read() -> None:
        got.append(await peer.read(100))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        (reader,) = nursery.child_tasks
        names = awaiting(reader)
        assert "receive" in names
        assert not {"receive_some", "_nonblocking_helper"} & set(names), names
        await mine.write(b"second")
    assert got == [b"second"]
    await mine.close()
    await peer.close()


async def test_a_waiting_read_keeps_no_exception_alive() -> None:
    a, b = tcp_pair()
    with a:
        stream = _as_trio_stream(b)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive, b, 100)
            await trio.testing.wait_all_tasks_blocked()
            gc.collect()
            assert not [o for o in gc.get_objects() if isinstance(o, BlockingIOError)]
            a.sendall(b"x")
        await stream.close()
