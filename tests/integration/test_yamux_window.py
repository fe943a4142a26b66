"""adapters/libp2p/yamux_window.py on real hosts over loopback (TCP + PSK + Noise + Yamux).

Window updates are batched as go-yamux batches them: a small request/response
costs half the frames py-libp2p's own Yamux sends, and flow control still lets
transfers far larger than the window through, both ways.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.stream_muxer.yamux import yamux

import adapters.libp2p.node as node_module
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import Libp2pNode, NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.yamux_window import BatchedWindowYamux
from domain import parse_bootstrap

ECHO = TProtocol("/test-echo/0.1")
PSK = b"w" * 32


@asynccontextmanager
async def two_nodes() -> AsyncIterator[tuple[Libp2pNode, Libp2pNode]]:
    async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                         listen=["/ip4/127.0.0.1/tcp/0"])) as server:

        async def echo(stream):  # type: ignore[no-untyped-def]
            await stream.write(await read_to_end(stream, 64 << 20))
            await stream.close()

        server.host.set_stream_handler(ECHO, echo)
        async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                             dht_server=False)) as client:
            failures = await connect_bootstraps(
                client, [parse_bootstrap(server.full_addrs()[0])], 5)
            assert not failures
            yield server, client


async def exchange(client: Libp2pNode, server: Libp2pNode, payload: bytes) -> bytes:
    stream = await client.host.new_stream(server.peer_id, [ECHO])
    await stream.write(payload)
    await stream.close_write()  # type: ignore[attr-defined]
    reply = await read_to_end(stream, 64 << 20)
    await stream.close()
    return reply


def count_frames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    write_frame = yamux.Yamux._write_frame

    async def counted(self: yamux.Yamux, data: bytes) -> None:
        _, kind, flags, _, _ = struct.unpack(yamux.YAMUX_HEADER_FORMAT, data[:12])
        seen.append((kind, flags))
        await write_frame(self, data)

    monkeypatch.setattr(yamux.Yamux, "_write_frame", counted)
    return seen


async def frames_of_small_exchanges(monkeypatch: pytest.MonkeyPatch) -> float:
    seen = count_frames(monkeypatch)
    async with two_nodes() as (server, client):
        for _ in range(5):
            await exchange(client, server, b"bench-service")
        seen.clear()
        for _ in range(20):
            assert await exchange(client, server, b"bench-service") == b"bench-service"
        await trio.sleep(0.1)
        return len(seen) / 20


async def test_our_hosts_mux_with_the_batched_window_yamux() -> None:
    async with two_nodes() as (server, client):
        await exchange(client, server, b"x")
        for node in (client, server):
            for connections in node.host.get_network().connections.values():
                for connection in connections:
                    assert isinstance(connection.muxed_conn, BatchedWindowYamux)


async def test_a_small_exchange_costs_half_the_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = await frames_of_small_exchanges(monkeypatch)
    monkeypatch.setattr(node_module, "use_batched_window_yamux", lambda network: None)
    stock = await frames_of_small_exchanges(monkeypatch)
    # SYN, ACK, 2 x multistream header, 2 x protocol, request, FIN, answer, FIN.
    assert ours <= 10.5
    assert stock >= 2 * ours - 1


@pytest.mark.parametrize("size", [3 << 20])
async def test_transfers_far_larger_than_the_window_still_flow(size: int) -> None:
    payload = bytes(range(256)) * (size // 256)
    async with two_nodes() as (server, client):
        with trio.fail_after(60):  # a flow-control stall would hang here
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(exchange, client, server, payload)
            assert await exchange(client, server, payload) == payload
