"""A client node with exactly one connection to a registry-service, for tests that show a
bad stream costs only itself: the good streams around it ride the same connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
from libp2p.abc import INetStream
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF, StreamReset
from libp2p.peer.id import ID
from registry_process import RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import Libp2pNode, NodeSettings, connect_bootstraps, running_node
from domain import parse_bootstrap, psk_from_passphrase


@dataclass
class OneConnection:
    node: Libp2pNode
    peer: ID

    def muxed_conn(self) -> object:
        """The one connection to the registry-service (fails if there is none or several)."""
        conns = self.node.host.get_network().get_connections(self.peer)
        assert len(conns) == 1, f"{len(conns)} connections to the registry-service"
        return conns[0].muxed_conn

    async def stream(self, protocol_id: str) -> INetStream:
        """A negotiated stream, checked to ride the one connection."""
        stream = await self.node.host.new_stream(self.peer, [TProtocol(protocol_id)])
        assert stream.muxed_conn is self.muxed_conn(), "a new connection was dialled"
        return stream

    async def raw_stream(self) -> INetStream:
        """A stream with no negotiation at all, on the one connection."""
        stream = await self.node.host.get_network().new_stream(self.peer)
        assert stream.muxed_conn is self.muxed_conn(), "a new connection was dialled"
        return stream


@asynccontextmanager
async def one_connection(registry: RegistryProcess) -> AsyncIterator[OneConnection]:
    assert registry.passphrase is not None
    settings = NodeSettings(ephemeral_identity(), psk=psk_from_passphrase(registry.passphrase),
                            dht_server=False)
    async with running_node(settings) as node:
        boot = parse_bootstrap(registry.addrs[0])
        assert not await connect_bootstraps(node, [boot], 5)
        yield OneConnection(node, ID.from_base58(boot.peer_id))


async def read_until_end(stream: INetStream, timeout: float) -> tuple[bytes, str]:
    """Everything the stream carries, and how it ended: "eof" or "reset"."""
    got = b""
    with trio.fail_after(timeout):
        while True:
            try:
                chunk = await stream.read()
            except StreamEOF:
                return got, "eof"
            except StreamReset:
                return got, "reset"
            if not chunk:
                return got, "eof"
            got += chunk


async def send(stream: INetStream, payload: bytes) -> INetStream:
    await stream.write(payload)
    await stream.close_write()  # type: ignore[attr-defined]  # NetStream has it
    return stream
