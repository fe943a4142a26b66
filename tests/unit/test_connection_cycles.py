"""adapters/libp2p/upstream/connection_cycles.py: a closed connection is freed at once.

The "upstream" test pins py-libp2p 0.8.1 as it is: a connection's objects survive its
close in reference cycles, until the cyclic GC runs. When it fails after an upgrade,
upstream cut the cycles and our change can likely go. The others run real hosts over
loopback with the cyclic GC off, so only reference counting can free anything.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
PSK = b"c" * 32
CLIENTS = 3
SETTLE = 2.0


@contextmanager
def cyclic_gc_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def record_connections(network: Any) -> list[weakref.ref[Any]]:
    """Weak references to every SwarmConn, muxer and secure session the server adds."""
    seen: list[weakref.ref[Any]] = []
    add_conn = network.add_conn

    async def recording_add_conn(muxed_conn: Any, direction: str = "unknown") -> Any:
        swarm_conn = await add_conn(muxed_conn, direction)
        seen.extend(weakref.ref(o) for o in (swarm_conn, muxed_conn, muxed_conn.secured_conn))
        return swarm_conn

    network.add_conn = recording_add_conn
    return seen


async def serve_short_lived_clients(
    server: Any, psk: bytes | None, then: Callable[[], Awaitable[None]]
) -> None:
    """Serve a few clients that connect and leave, then call ``then`` once all closed."""
    async with server.run(listen_addrs=[LOOPBACK]):
        for _ in range(CLIENTS):
            settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk, dht_server=False)
            client = build_host(settings) if psk else new_host(key_pair=create_new_key_pair())
            async with client.run(listen_addrs=[]):
                await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
                await client.close()
        with trio.fail_after(5):
            while server.get_network().connections:
                await trio.sleep(0.02)
        await then()
        await server.close()


def alive(refs: list[weakref.ref[Any]]) -> list[str]:
    return [type(o).__name__ for r in refs if (o := r()) is not None]


async def test_upstream_connections_outlive_their_close_until_the_cyclic_gc_runs() -> None:
    server = new_host(key_pair=create_new_key_pair())
    refs = record_connections(server.get_network())
    with cyclic_gc_off():
        async def check() -> None:
            assert len(refs) == 3 * CLIENTS
            await trio.sleep(SETTLE)  # the connections' last tasks end
            assert alive(refs), "upstream freed closed connections without the cyclic GC"
            gc.collect()
            assert alive(refs) == []

        await serve_short_lived_clients(server, None, check)


async def test_our_connections_are_freed_when_they_close_without_the_cyclic_gc() -> None:
    server = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=PSK))
    refs = record_connections(server.get_network())
    with cyclic_gc_off():
        async def check() -> None:
            assert len(refs) == 3 * CLIENTS
            with trio.move_on_after(SETTLE):  # the connections' last tasks end
                while alive(refs):
                    await trio.sleep(0.05)
            assert alive(refs) == []

        await serve_short_lived_clients(server, PSK, check)


@pytest.mark.parametrize("calls", [1, 2])
def test_a_scope_closes_once_and_then_drops_its_closure(calls: int) -> None:
    server = build_host(NodeSettings(key_pair=ephemeral_identity()))
    manager = server.get_network()._resource_manager
    scope = manager.open_connection(peer_id="peer", direction="inbound")
    assert manager._current_connections == 1
    for _ in range(calls):
        scope.close()
    assert manager._current_connections == 0
    assert "close" not in vars(scope)  # no closure over the scope is left on it
