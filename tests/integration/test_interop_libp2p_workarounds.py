"""The py-libp2p behaviours we work around for mixed Go/JS networks, pinned down.

Each "upstream" test asserts py-libp2p 0.8.1's behaviour as it is; when one fails
after an upgrade, upstream changed and the matching workaround in adapters/libp2p
can likely go. The other tests check the workaround on our own hosts.
"""

from __future__ import annotations

from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.kad_dht.pb.kademlia_pb2 import Message
from libp2p.kad_dht.utils import maybe_consume_signed_record
from libp2p.peer.envelope import Envelope, seal_record
from libp2p.peer.id import ID
from libp2p.peer.peer_record import PeerRecord
from multiaddr import Multiaddr

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host

OLD_ADDR = Multiaddr("/ip4/127.0.0.1/tcp/4001")
NEW_ADDR = Multiaddr("/ip4/127.0.0.1/tcp/4002")


def signed_records() -> tuple[ID, Envelope, Envelope]:
    """Two genuine records of one peer, as js-libp2p issues them: an older and a newer one."""
    keys = create_new_key_pair()
    peer_id = ID.from_pubkey(keys.public_key)
    older = seal_record(PeerRecord(peer_id, [OLD_ADDR], seq=1_000), keys.private_key)
    newer = seal_record(PeerRecord(peer_id, [NEW_ADDR], seq=2_000), keys.private_key)
    return peer_id, older, newer


def relayed(peer_id: ID, envelope: Envelope) -> Message.Peer:
    """A provider or closer peer as a py-libp2p DHT server relays it, signed record included."""
    peer = Message.Peer()
    peer.id = peer_id.to_bytes()
    peer.addrs.append(OLD_ADDR.to_bytes())
    peer.signedRecord = envelope.marshal_envelope()
    return peer


def our_host():  # type: ignore[no-untyped-def]
    return build_host(NodeSettings(key_pair=ephemeral_identity()))


def test_upstream_still_takes_an_older_genuine_record_for_an_invalid_one():
    host = new_host(key_pair=create_new_key_pair())
    peer_id, older, newer = signed_records()
    assert host.get_peerstore().consume_peer_record(newer, 7200)
    assert host.get_peerstore().consume_peer_record(older, 7200) is False
    # ...so its DHT drops the peer ("invalid-signed-record, skipping provider").
    assert maybe_consume_signed_record(relayed(peer_id, older), host) is False


def test_our_hosts_keep_the_newer_record_and_the_peer():
    host = our_host()
    peerstore = host.get_peerstore()
    peer_id, older, newer = signed_records()
    assert peerstore.consume_peer_record(newer, 7200)
    assert maybe_consume_signed_record(relayed(peer_id, older), host) is True
    held = peerstore.get_peer_record(peer_id)
    assert held is not None and held.record().seq == 2_000
    assert NEW_ADDR in peerstore.addrs(peer_id)


def test_our_hosts_still_refuse_a_forged_record():
    host = our_host()
    peer_id, _, newer = signed_records()
    assert host.get_peerstore().consume_peer_record(newer, 7200)
    impostor = create_new_key_pair()
    forged = seal_record(PeerRecord(peer_id, [OLD_ADDR], seq=1), impostor.private_key)
    assert host.get_peerstore().consume_peer_record(forged, 7200) is False
    assert maybe_consume_signed_record(relayed(peer_id, forged), host) is False
