"""What adapters/libp2p changes for mixed Go/JS networks, pinned down in-process.

- Signed peer records (node.accept_older_peer_records): the "upstream" test asserts
  py-libp2p 0.8.1's behaviour as it is; when it fails after an upgrade, upstream
  changed and the workaround can likely go. The others check our hosts.
- The server-mode rule of our routing table (kad.ServerModeKadDHT) against peers
  that query before our identify of them has finished.
"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.identity.identify.identify import ID as IdentifyID
from libp2p.kad_dht.pb.kademlia_pb2 import Message
from libp2p.kad_dht.utils import maybe_consume_signed_record
from libp2p.peer.envelope import Envelope, seal_record
from libp2p.peer.id import ID
from libp2p.peer.peer_record import PeerRecord
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host, running_node
from adapters.libp2p.upstream.kad import speaks_kad

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


def dht_server_settings() -> NodeSettings:
    return NodeSettings(
        key_pair=ephemeral_identity(), listen=["/ip4/127.0.0.1/tcp/0"], dht_server=True
    )


def slow_down_identify(host: Any, delay: float) -> None:
    """Answer identify requests late, as a busy or distant peer does."""
    answer = host.get_mux().handlers[IdentifyID]

    async def late(stream: Any) -> None:
        await trio.sleep(delay)
        await answer(stream)

    host.set_stream_handler(IdentifyID, late)


async def test_a_dht_server_that_asks_before_identify_is_done_still_joins_our_table():
    # Go and JS DHT nodes query as soon as *they* have identified us; our identify of
    # them may not be finished yet. The server-mode rule must wait for it, not refuse.
    async with running_node(dht_server_settings()) as ours, running_node(
        dht_server_settings()
    ) as other:
        slow_down_identify(other.host, delay=1.0)
        await other.host.connect(PeerInfo(ours.peer_id, ours.host.get_addrs()))
        await other.dht.add_known_server(ours.peer_id)
        await other.dht.peer_routing.find_closest_peers_network(b"some key")
        # The request has been served and identify is still running: the race is real.
        assert speaks_kad(ours.host, other.peer_id) is None
        with trio.fail_after(5):
            while not ours.dht.routing_table.peer_in_table(other.peer_id):
                await trio.sleep(0.05)
        assert speaks_kad(ours.host, other.peer_id) is True


async def test_a_client_that_asks_before_identify_is_done_stays_out_of_our_table():
    # The same wait must not let DHT clients in (short-lived CLI clients, go/js nodes
    # in client mode): identify tells that they do not serve KAD.
    client_settings = NodeSettings(key_pair=ephemeral_identity(), dht_server=False)
    async with running_node(dht_server_settings()) as ours, running_node(
        client_settings
    ) as client:
        slow_down_identify(client.host, delay=0.5)
        await client.host.connect(PeerInfo(ours.peer_id, ours.host.get_addrs()))
        await client.dht.add_known_server(ours.peer_id)
        await client.dht.peer_routing.find_closest_peers_network(b"some key")
        with trio.fail_after(5):
            while speaks_kad(ours.host, client.peer_id) is None:
                await trio.sleep(0.05)
        # Identify is done: let every task it woke (the server-mode rule's) run to its end.
        await trio.testing.wait_all_tasks_blocked(cushion=0.05)
        assert speaks_kad(ours.host, client.peer_id) is False
        assert not ours.dht.routing_table.peer_in_table(client.peer_id)
