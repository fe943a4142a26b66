"""adapters/libp2p/peer_janitor.py: peers gone for the grace period are forgotten."""

from __future__ import annotations

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.peer.peerstore import PeerStore
from multiaddr import Multiaddr

from adapters.libp2p.peer_janitor import PeerJanitor


def a_peer_id() -> ID:
    return ID.from_pubkey(create_new_key_pair().public_key)


class FakeNetwork:
    def __init__(self) -> None:
        self.connections: dict[ID, list[object]] = {}


class FakeHost:
    def __init__(self) -> None:
        self.peer_id = a_peer_id()
        self.peerstore = PeerStore()
        self.network = FakeNetwork()

    def get_id(self) -> ID:
        return self.peer_id

    def get_peerstore(self) -> PeerStore:
        return self.peerstore

    def get_network(self) -> FakeNetwork:
        return self.network

    def knows(self, peer_id: ID) -> None:
        self.peerstore.add_addrs(peer_id, [Multiaddr("/ip4/127.0.0.1/tcp/4001")], 3600)


def test_only_peers_gone_for_the_grace_period_and_not_kept_are_forgotten() -> None:
    host = FakeHost()
    gone, connected, server, bootstrap, recent = (a_peer_id() for _ in range(5))
    for peer in (gone, connected, server, bootstrap, host.peer_id):
        host.knows(peer)
    host.network.connections[connected] = [object()]
    now = [0.0]
    janitor = PeerJanitor(host, lambda p: p == server, kept=lambda: [str(bootstrap)],  # type: ignore[arg-type]
                          grace=60, clock=lambda: now[0])
    assert janitor.sweep() == 0  # first seen gone now
    now[0] = 30
    host.knows(recent)
    assert janitor.sweep() == 0
    now[0] = 61
    assert janitor.sweep() == 1
    assert not host.peerstore.has_peer(gone)
    for peer in (connected, server, bootstrap, recent, host.peer_id):
        assert host.peerstore.has_peer(peer)
    now[0] = 91
    assert janitor.sweep() == 1 and not host.peerstore.has_peer(recent)
    assert janitor.forgotten == 2


def test_a_peer_that_comes_back_starts_its_grace_period_again() -> None:
    host = FakeHost()
    peer = a_peer_id()
    host.knows(peer)
    now = [0.0]
    janitor = PeerJanitor(host, lambda p: False, grace=60, clock=lambda: now[0])  # type: ignore[arg-type]
    janitor.sweep()
    now[0] = 50
    host.network.connections[peer] = [object()]
    janitor.sweep()
    del host.network.connections[peer]
    now[0] = 100
    assert janitor.sweep() == 0  # gone since 50 only
    now[0] = 111
    assert janitor.sweep() == 1
