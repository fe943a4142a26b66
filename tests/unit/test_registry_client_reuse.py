"""A kept-open Libp2pRegistryClient asks its last provider without a new DHT lookup."""

from __future__ import annotations

from dataclasses import dataclass, field

from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.registry_client import Libp2pRegistryClient

ECHOES = b"\x13/multistream/1.0.0\n\x09/get/0.1\n"  # the listener's multistream answers

PROVIDER = PeerInfo(ID(b"\x00\x24" + b"p" * 36), [])


class FakeStream:
    def __init__(self, reply: bytes) -> None:
        self._reply = [reply]

    def set_protocol(self, protocol: str) -> None: ...

    async def write(self, data: bytes) -> None: ...

    async def close_write(self) -> None: ...

    async def close(self) -> None: ...

    async def read(self, n: int | None = None) -> bytes:
        if not self._reply:
            raise StreamEOF()
        return self._reply.pop()


@dataclass
class FakeNetwork:
    connections: dict = field(default_factory=dict)
    streams: int = 0

    async def new_stream(self, peer_id: ID) -> FakeStream:
        self.streams += 1
        self.connections[peer_id] = ["conn"]
        return FakeStream(ECHOES + b"reply")


@dataclass(eq=False)  # hashed by identity, as py-libp2p's hosts are
class FakeHost:
    network: FakeNetwork = field(default_factory=FakeNetwork)

    def get_network(self) -> FakeNetwork:
        return self.network

    def get_peerstore(self) -> object:
        raise AssertionError("provider has no addresses to add")

    async def connect(self, info: PeerInfo) -> None:  # providers found are dialled first
        self.network.connections[info.peer_id] = ["conn"]


@dataclass
class FakeRendezvous:
    lookups: int = 0

    async def find_peers(self, namespace: str) -> list[PeerInfo]:
        self.lookups += 1
        return [PROVIDER]


async def test_second_request_reuses_the_connected_provider_without_a_lookup() -> None:
    host, rendezvous = FakeHost(), FakeRendezvous()
    client = Libp2pRegistryClient(host, rendezvous)  # type: ignore[arg-type]
    assert await client.request("/get/0.1", b"x") == b"reply"
    assert await client.request("/get/0.1", b"x") == b"reply"
    assert (rendezvous.lookups, host.network.streams) == (1, 2)


async def test_a_lost_connection_means_a_new_lookup() -> None:
    host, rendezvous = FakeHost(), FakeRendezvous()
    client = Libp2pRegistryClient(host, rendezvous)  # type: ignore[arg-type]
    await client.request("/get/0.1", b"x")
    host.network.connections.clear()
    await client.request("/get/0.1", b"x")
    assert rendezvous.lookups == 2


def test_the_library_keeps_one_client_per_callers_host() -> None:
    from adapters.libp2p.rendezvous import DhtRendezvous
    from entrypoints.library import _client_for

    host, other_host = FakeHost(), FakeHost()
    dht = object()
    first = _client_for(host, dht)  # type: ignore[arg-type]
    assert _client_for(host, dht) is first  # type: ignore[arg-type]
    assert _client_for(host, DhtRendezvous(dht)) is first  # type: ignore[arg-type]
    assert _client_for(other_host, dht) is not first  # type: ignore[arg-type]
    assert _client_for(host, object()) is not first  # type: ignore[arg-type]
