"""adapters/libp2p/upstream/own_peer_record.py and a failing handler: past 1000 peers the
daemon keeps its own keys, and one handler's exception ends its own stream only."""

from __future__ import annotations

import multiaddr
import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.peer.peerstore import PeerStore, PeerStoreError

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.upstream.final_write import write_final

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
ADDR = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/4001")


def other_peer() -> ID:
    return ID.from_pubkey(ephemeral_identity().public_key)


def test_upstream_evicts_an_entry_without_addresses_first_such_as_our_own() -> None:
    """Why the change exists; fails once py-libp2p stops doing it."""
    store = PeerStore(max_peers=3)
    own = ephemeral_identity()
    own_id = ID.from_pubkey(own.public_key)
    store.add_key_pair(own_id, own)
    for _ in range(3):
        store.add_addrs(other_peer(), [ADDR], 3600)
    with pytest.raises(PeerStoreError):
        store.pubkey(own_id)


def test_our_own_keys_stay_however_many_peers_come() -> None:
    host = build_host(NodeSettings(key_pair=ephemeral_identity()))
    store = host.get_peerstore()
    assert store.max_peers >= 2 * 1024  # room for every connection the limits allow
    store.max_peers = 3  # so that a few peers overflow it
    for _ in range(10):
        store.add_addrs(other_peer(), [ADDR], 3600)
    assert store.pubkey(host.get_id()) == host.get_public_key()
    assert len(store.peer_ids()) <= 3
    assert store.max_peers == 3


async def test_a_handler_that_raises_ends_its_stream_and_the_host_goes_on() -> None:
    server = build_host(NodeSettings(key_pair=ephemeral_identity()))
    client = build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))

    async def broken(stream) -> None:  # type: ignore[no-untyped-def]
        raise PeerStoreError("peer ID not found")

    async def echo(stream) -> None:  # type: ignore[no-untyped-def]
        await write_final(stream, await read_to_end(stream, 1024))

    server.set_stream_handler(TProtocol("/broken/1"), broken)
    server.set_stream_handler(TProtocol("/echo/1"), echo)
    async with server.run([LOOPBACK]), client.run([]):
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        with trio.fail_after(10):
            for _ in range(3):
                with pytest.raises(Exception):  # noqa: B017 - a reset or EOF, as it comes
                    stream = await client.new_stream(server.get_id(), [TProtocol("/broken/1")])
                    await stream.write(b"x")
                    await stream.close_write()
                    if not await stream.read(10):
                        raise EOFError
            stream = await client.new_stream(server.get_id(), [TProtocol("/echo/1")])
            await stream.write(b"still here")
            await stream.close_write()
            assert await read_to_end(stream, 1024) == b"still here"
