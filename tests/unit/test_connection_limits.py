"""adapters/libp2p/upstream/connection_limits.py: py-libp2p's resource manager never
refuses a connection that --max-inbound-connections admits."""

from __future__ import annotations

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import OUTBOUND_CONNECTIONS, NodeSettings, build_host
from adapters.libp2p.upstream.connection_limits import SLACK


def test_the_resource_manager_admits_as_many_inbound_connections_as_our_slots() -> None:
    host = build_host(NodeSettings(key_pair=ephemeral_identity(), max_inbound_connections=3000))
    manager = host.get_network()._resource_manager  # type: ignore[attr-defined]
    limits = manager.connection_limits
    # Above ours (our slots refuse first, readably); py-libp2p's defaults: 256 and 64.
    assert limits.max_established_inbound == limits.max_pending_inbound == 3000 + SLACK
    assert limits.max_established_outbound >= OUTBOUND_CONNECTIONS
    assert limits.max_established_total == 3000 + SLACK + limits.max_established_outbound
    assert manager.limits.max_connections == limits.max_established_total  # default: 1000
    # What the resource manager enforces is this very object.
    assert manager.connection_tracker.limits is limits
    assert manager.connection_lifecycle.limits is limits
