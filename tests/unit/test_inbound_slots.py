"""adapters/libp2p/upstream/inbound_slots.py: a slot ends with its connection.

The "upstream" test pins py-libp2p 0.8.1's behaviour as it is (a slot held for the
swarm's whole life); when it fails after an upgrade, upstream fixed it and our change
can likely go. The others run our change on real hosts over loopback.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.multistream_messages import HEADER_MESSAGE
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.upstream.inbound_slots import (
    REFUSAL,
    REFUSAL_LOG_INTERVAL,
    InboundConnectionSlots,
    enable_keepalive,
    inbound_slots_of,
    is_connection_limit_refusal,
)

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
PSK = b"k" * 32


async def _connect_and_leave(server: Any, times: int, psk: bytes | None = None) -> None:
    for _ in range(times):
        settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk, dht_server=False)
        client = build_host(settings)
        async with client.run(listen_addrs=[]):
            await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
            await client.close()


async def _wait_for(check: Any, within: float = 5.0) -> None:
    with trio.fail_after(within):
        while not check():
            await trio.sleep(0.02)


async def test_upstream_still_holds_an_inbound_slot_for_the_swarms_whole_life() -> None:
    server = new_host(key_pair=create_new_key_pair())
    async with server.run(listen_addrs=[LOOPBACK]):
        await _connect_and_leave(server, 3)
        await _wait_for(lambda: not server.get_network().connections)
        await trio.sleep(0.2)
        # Connections gone, slots still taken: the leak our change fixes.
        assert server.get_network()._inbound_limiter.borrowed_tokens == 3
        await server.close()


async def test_our_slot_ends_with_its_connection() -> None:
    server = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=PSK))
    slots = inbound_slots_of(server.get_network())
    assert slots is not None
    async with server.run(listen_addrs=[LOOPBACK]):
        await _connect_and_leave(server, 5, psk=PSK)
        await _wait_for(lambda: slots.open == 0)
        assert slots.refused == 0
        await server.close()


async def test_a_connection_over_the_limit_is_refused_with_a_reason_the_dialer_can_read() -> None:
    server = build_host(
        NodeSettings(key_pair=ephemeral_identity(), psk=PSK, max_inbound_connections=1)
    )
    slots = inbound_slots_of(server.get_network())
    assert slots is not None and slots.limit == 1
    held = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=PSK, dht_server=False))
    late = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=PSK, dht_server=False))
    later = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=PSK, dht_server=False))
    async with server.run(listen_addrs=[LOOPBACK]), held.run([]), late.run([]), later.run([]):
        target = PeerInfo(server.get_id(), server.get_addrs())
        await held.connect(target)
        with pytest.raises(Exception) as refused:
            await late.connect(target)
        assert is_connection_limit_refusal(refused.value), refused.value
        assert slots.refused >= 1 and slots.open == 1  # (the dialer may retry once)
        # The connection already served is untouched by the refusal.
        assert held.get_network().connections.get(server.get_id())
        await held.close()
        await _wait_for(lambda: slots.open == 0)
        # (py-libp2p's negative dial cache keeps ``late`` from trying again so soon)
        await later.connect(target)  # a slot is free again
        await later.close()
        await late.close()
        await server.close()


def test_a_refusal_is_the_multistream_header_and_one_line_no_negotiation_sends() -> None:
    assert REFUSAL.startswith(HEADER_MESSAGE)
    rest = REFUSAL[len(HEADER_MESSAGE):]
    assert rest[0] == len(rest) - 1 and rest.endswith(b"\n")
    assert rest[1:-1] == b"/p2p-registry/refused/connection-limit"


class _Socketless:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    async def write(self, data: bytes) -> None:
        self.written += data

    async def read(self, n: int | None = None) -> bytes:
        return b""

    async def close(self) -> None:
        self.closed = True


async def test_refusals_are_logged_at_most_once_per_interval(caplog) -> None:
    now = [1000.0]
    slots = InboundConnectionSlots(1, clock=lambda: now[0])
    slots.limiter.acquire_on_behalf_of_nowait("held")
    caplog.set_level(logging.INFO, logger="adapters.libp2p.upstream.inbound_slots")
    conns = [_Socketless() for _ in range(3)]
    await slots.handle(None, conns[0], None)
    await slots.handle(None, conns[1], None)
    now[0] += REFUSAL_LOG_INTERVAL
    await slots.handle(None, conns[2], None)
    lines = [r for r in caplog.records if "refused an inbound connection" in r.getMessage()]
    assert len(lines) == 2 and "(--max-inbound-connections)" in lines[0].getMessage()
    assert all(c.written == REFUSAL and c.closed for c in conns)
    assert slots.refused == 3


def test_accepted_sockets_get_tcp_keepalive() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(
        server.getsockname()
    ) as left:

        class Inner:
            socket = left

        class Outer:
            stream = Inner()

        assert enable_keepalive(Outer())
        assert left.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert left.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
