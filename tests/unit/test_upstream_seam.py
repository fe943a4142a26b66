"""adapters/libp2p/upstream: the check before applying, and the small per-host changes.

Each "upstream" test pins py-libp2p 0.8.1's behaviour as it is; when one fails after an
upgrade, upstream changed and our change can likely go (docs/py-libp2p.md).
"""

from __future__ import annotations

import pytest
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID

from adapters.libp2p import upstream
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.upstream.auto_dialer import disable_auto_dialer
from adapters.libp2p.upstream.rate_limiter_memory import TRACKED_PEERS, cap_rate_limiter_memory
from adapters.libp2p.upstream.requirements import Needs, UpstreamDrift, check


def a_peer_id() -> ID:
    return ID.from_pubkey(create_new_key_pair().public_key)


def test_every_name_our_changes_need_is_in_the_installed_py_libp2p() -> None:
    upstream.check.cache_clear()
    upstream.check()  # raises UpstreamDrift, naming the change, otherwise


def test_a_missing_name_fails_loudly_naming_the_change() -> None:
    gone = Needs("yamux window", "libp2p.stream_muxer.yamux.yamux:Yamux._write_frame_renamed")
    with pytest.raises(UpstreamDrift, match=r"yamux window: .*_write_frame_renamed is gone"):
        check((gone,))


def test_a_changed_signature_fails_loudly() -> None:
    moved = Needs("inbound slots", "libp2p.network.swarm:Swarm.upgrade_inbound_raw_conn",
                  ("self", "conn", "maddr"))
    with pytest.raises(UpstreamDrift, match=r"inbound slots: .* now takes"):
        check((moved,))


def test_another_py_libp2p_version_fails_before_anything_is_applied() -> None:
    with pytest.raises(UpstreamDrift, match=r"written for 9\.9\.9"):
        check(upstream.NEEDS, expected_version="9.9.9")


def test_every_host_we_build_has_the_changes() -> None:
    host = build_host(NodeSettings(key_pair=ephemeral_identity()))
    network = host.get_network()
    assert network.registry_inbound_slots.limit == NodeSettings.max_inbound_connections
    assert network._resource_manager.connection_rate_limiter.config.max_peers == TRACKED_PEERS
    network.auto_connector.record_disconnect(a_peer_id())
    assert network.auto_connector._recent_disconnects == {}


def test_upstream_auto_connector_remembers_every_departed_peer_unless_it_dials() -> None:
    network = new_host(key_pair=create_new_key_pair()).get_network()
    for _ in range(3):
        network.auto_connector.record_disconnect(a_peer_id())
    assert len(network.auto_connector._recent_disconnects) == 3
    disable_auto_dialer(network)
    network.auto_connector.record_disconnect(a_peer_id())
    assert len(network.auto_connector._recent_disconnects) == 3


def test_upstream_rate_limiter_tracks_a_thousand_peers_and_ours_fewer() -> None:
    network = new_host(key_pair=create_new_key_pair()).get_network()
    config = network._resource_manager.connection_rate_limiter.config
    assert config.max_peers == 1000
    cap_rate_limiter_memory(network)
    assert config.max_peers == TRACKED_PEERS


def test_the_dht_key_of_a_rendezvous_cid_is_its_multihash_as_upstream_provides_it() -> None:
    from cid import make_cid

    from adapters.libp2p.upstream.dht_keys import provider_key

    registry = "bafkreib3awi7x6rvt6llc6uvuz7jlhlymmuzw4ke4iixjt4ieiz4yiq2xi"
    assert provider_key(registry) == make_cid(registry).multihash
