"""PskConnection hands its bytes to the kernel at once, and awaits only for what is left."""

from __future__ import annotations

import socket

import trio
import trio.testing
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection.raw_connection import RawConnection
from scheduler_probe import others_ran_while
from tcp_pair import tcp_pair

from adapters.libp2p.immediate_send import send_now, socket_under
from adapters.libp2p.pnet import PskConnection
from domain.psk import psk_from_passphrase

PSK = psk_from_passphrase("physarum")


def test_trio_keeps_the_socket_it_wraps_where_we_look() -> None:
    """Upstream: fails if trio renames or drops ``SocketType._sock``."""
    a, b = tcp_pair()
    with a, b:
        assert trio.socket.from_stdlib_socket(a)._sock is a  # type: ignore[attr-defined]


def test_the_socket_is_found_under_either_shape_of_tcp_stream() -> None:
    a, b = tcp_pair()
    with a, b:
        tcp = TrioTCPStream(trio.SocketStream(trio.socket.from_stdlib_socket(a)))
        assert socket_under(tcp) is a  # accepted: the listener's TrioTCPStream
        assert socket_under(RawConnection(tcp, initiator=True)) is a  # dialled
        assert socket_under(trio.testing.memory_stream_pair()[0]) is None
        assert socket_under(object()) is None


def test_send_now_takes_what_the_kernel_takes_and_never_raises() -> None:
    a, b = tcp_pair()
    with b:
        a.setblocking(False)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        big = b"x" * (8 << 20)
        assert 0 < send_now(a, big) < len(big)  # a partial send
        while send_now(a, big):
            pass
        assert send_now(a, b"more") == 0  # would block
        a.close()
        assert send_now(a, b"after close") == 0


async def _psk_pair() -> tuple[PskConnection, PskConnection, socket.socket, socket.socket]:
    a, b = tcp_pair()
    mine = PskConnection(TrioTCPStream(trio.SocketStream(trio.socket.from_stdlib_socket(a))),
                         PSK, initiator=True, expect_multistream=False)
    peer = PskConnection(TrioTCPStream(trio.SocketStream(trio.socket.from_stdlib_socket(b))),
                         PSK, initiator=False, expect_multistream=False)
    await mine.send_nonce()
    return mine, peer, a, b


async def _read_n(conn: PskConnection, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = await conn.read(n - len(out))
        assert chunk, "unexpected end of stream"
        out += chunk
    return bytes(out)


async def test_a_write_the_kernel_takes_does_not_pass_through_the_scheduler() -> None:
    mine, peer, a, b = await _psk_pair()
    with a, b:

        async def write_twice() -> None:
            await mine.write(b"hello")
            await mine.write(b" world")

        assert not await others_ran_while(write_twice)
        assert await _read_n(peer, 11) == b"hello world"


async def test_what_the_kernel_does_not_take_at_once_still_arrives_in_order() -> None:
    mine, peer, a, b = await _psk_pair()
    with a, b:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        chunks = [bytes([n]) * (1 << 20) for n in range(1, 5)]  # 4 MiB: far past the buffer
        received = b""

        async def reader() -> None:
            nonlocal received
            received = await _read_n(peer, sum(map(len, chunks)))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            for chunk in chunks:
                await mine.write(chunk)
        assert received == b"".join(chunks)
