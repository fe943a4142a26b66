"""A user-space TCP relay on loopback that adds a fixed delay: a slow link without netem.

    python delay_relay.py TARGET_PORT RTT_MS     # prints "ready PORT", runs until SIGTERM

Each connection to PORT is relayed to 127.0.0.1:TARGET_PORT; every chunk is held for
RTT_MS / 2 in each direction (order kept), so a round trip through it takes RTT_MS more.
``probe_multistream_rtt`` measures that round trip to a libp2p listener behind it with
a real exchange (the PSK nonce, the multistream-select header, then a proposal the
listener refuses with "na": one full round trip), independently of the code under test.
"""

from __future__ import annotations

import os
import socket
import sys
import time

import trio

CHUNK = 65536


async def _pipe(source: trio.SocketStream, sink: trio.SocketStream, one_way: float) -> None:
    send, receive = trio.open_memory_channel[tuple[float, bytes]](1024)

    async def read() -> None:
        async with send:
            while data := await source.receive_some(CHUNK):
                await send.send((trio.current_time() + one_way, data))

    async def write() -> None:
        async with receive:
            async for due, data in receive:
                await trio.sleep_until(due)
                await sink.send_all(data)
        await sink.send_eof()

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            nursery.start_soon(write)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


async def _relay(client: trio.SocketStream, target_port: int, one_way: float) -> None:
    try:
        server = await trio.open_tcp_stream("127.0.0.1", target_port)
    except OSError:
        await client.aclose()
        return
    async with client, server, trio.open_nursery() as nursery:
        nursery.start_soon(_pipe, client, server, one_way)
        nursery.start_soon(_pipe, server, client, one_way)


async def main(target_port: int, rtt_ms: float) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    print(f"ready {port}", flush=True)
    one_way = rtt_ms / 2000

    async def handle(stream: trio.SocketStream) -> None:
        await _relay(stream, target_port, one_way)

    await trio.serve_listeners(handle, listeners)


def probe_multistream_rtt(port: int, psk: bytes | None, tries: int = 5) -> float:
    """The lowest of ``tries`` round trips (s) to the libp2p listener at 127.0.0.1:port."""
    return min(_multistream_round_trip(port, psk) for _ in range(tries))


_HEADER = b"\x13/multistream/1.0.0\n"
_PROPOSAL = b"\x0f/no/such/1.0.0\n"  # refused with "na"


class _Cipher:
    """The PSK v1 stream cipher of one direction (nothing without a PSK)."""

    def __init__(self, psk: bytes | None, nonce: bytes) -> None:
        from adapters.libp2p.xsalsa20 import XSalsa20

        self._stream = XSalsa20(psk, nonce) if psk is not None else None

    def xor(self, data: bytes) -> bytes:
        return self._stream.xor(data) if self._stream is not None else data


def _multistream_round_trip(port: int, psk: bytes | None) -> float:
    from adapters.libp2p.xsalsa20 import NONCE_SIZE

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        nonce = os.urandom(NONCE_SIZE) if psk is not None else b""
        out = _Cipher(psk, nonce)
        sock.sendall(nonce + out.xor(_HEADER))
        raw = b""
        while psk is not None and len(raw) < NONCE_SIZE:
            raw += sock.recv(CHUNK)
        inbound = _Cipher(psk, raw[:NONCE_SIZE])
        opened = inbound.xor(raw[NONCE_SIZE:]) if psk is not None else raw
        while not opened.startswith(_HEADER):
            opened += inbound.xor(_received(sock))
        opened = opened[len(_HEADER):]
        started = time.perf_counter()
        sock.sendall(out.xor(_PROPOSAL))
        while b"na\n" not in opened:
            opened += inbound.xor(_received(sock))
        return time.perf_counter() - started


def _received(sock: socket.socket) -> bytes:
    chunk = sock.recv(CHUNK)
    if not chunk:
        raise ConnectionError("the listener closed the connection")
    return chunk


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]), float(sys.argv[2]))
