"""adapters/libp2p/upstream/yamux_ping.py: a Yamux PING over a live connection, answered by
the peer's muxer (py-libp2p 0.8.1 answers it, and keeps no public call to send one)."""

from __future__ import annotations

import multiaddr
import pytest
import trio
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.upstream.yamux_ping import NotYamux, yamux_ping

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")


async def test_a_yamux_ping_is_answered_and_leaves_the_rtt_estimate_right() -> None:
    server = build_host(NodeSettings(key_pair=ephemeral_identity()))
    client = build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))
    async with server.run([LOOPBACK]), client.run([]):
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        [connection] = client.get_network().get_connections(server.get_id())
        muxed = connection.muxed_conn
        for _ in range(3):  # each needs its own answer (an old one does not count)
            with trio.fail_after(2):
                await yamux_ping(muxed)
        assert 0 < muxed.rtt() < 0.5  # type: ignore[attr-defined]  # our pings timed right


async def test_a_connection_that_is_not_yamux_is_named() -> None:
    class Other:
        pass

    with pytest.raises(NotYamux, match="Other"):
        await yamux_ping(Other())  # type: ignore[arg-type]
