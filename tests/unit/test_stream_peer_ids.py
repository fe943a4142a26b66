"""The resource manager's per-stream peer id: parsed once per peer, same accounting."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.network.connection.swarm_connection import SwarmConn
from libp2p.peer.id import ID
from libp2p.rcmgr.manager import ResourceManager
from libp2p.rcmgr.metrics import Direction

from adapters.libp2p.upstream.stream_peer_ids import parse_stream_peer_ids_once


def test_upstream_hands_over_a_string_and_parses_it_per_stream() -> None:
    """Upstream: when this fails, look again whether stream_peer_ids.py is still needed."""
    handler = inspect.getsource(SwarmConn._handle_muxed_stream)
    assert 'str(getattr(self.muxed_conn, "peer_id"' in handler
    assert "rm.acquire_stream(peer_id_str" in handler
    assert "ID.from_string(peer_id)" in inspect.getsource(ResourceManager.acquire_stream)


def _peer() -> str:
    return ID.from_pubkey(create_new_key_pair().public_key).to_base58()


def test_a_real_manager_counts_streams_as_before_with_one_parse_per_peer() -> None:
    manager = ResourceManager()
    seen: list[Any] = []
    acquire = manager.acquire_stream

    def recording(peer_id: Any, direction: Any) -> bool:
        seen.append(peer_id)
        return acquire(peer_id, direction)

    manager.acquire_stream = recording  # type: ignore[method-assign]
    parse_stream_peer_ids_once(SimpleNamespace(_resource_manager=manager))
    parse_stream_peer_ids_once(SimpleNamespace(_resource_manager=manager))  # idempotent
    peer = _peer()
    assert manager.acquire_stream(peer, Direction.INBOUND)
    assert manager.acquire_stream(peer, Direction.INBOUND)
    assert manager._current_streams == 2
    assert isinstance(seen[0], ID) and seen[0].to_base58() == peer
    assert seen[1] is seen[0]  # parsed once
    assert len(seen) == 2  # one wrapper, not two


def test_a_string_that_does_not_parse_goes_through_as_it_came() -> None:
    manager = ResourceManager()
    parse_stream_peer_ids_once(SimpleNamespace(_resource_manager=manager))
    assert manager.acquire_stream("not a peer id", Direction.INBOUND)  # upstream allows it
    assert manager.acquire_stream("", Direction.INBOUND)
    assert manager._current_streams == 2


def test_a_network_without_a_manager_is_left_alone() -> None:
    parse_stream_peer_ids_once(SimpleNamespace(_resource_manager=None))
    parse_stream_peer_ids_once(SimpleNamespace())
