"""The resource manager gets a peer id parsed once per peer, not once per stream.

py-libp2p 0.8.1's ``SwarmConn._handle_muxed_stream`` hands
``ResourceManager.acquire_stream`` the peer id of every inbound stream as a base58
string, which it parses back into an ``ID`` (base58, multihash) for its allow-list
check: 4.1 % of a daemon's CPU serving a js-libp2p client's gets (py-spy).
``acquire_stream`` takes an ``ID`` as well; ours hands it one from a small cache.
A string that does not parse goes through as it came (upstream then treats the peer as
not allow-listed, as before). tests/unit/test_stream_peer_ids.py pins upstream's parse.
"""

from __future__ import annotations

from typing import Any

from libp2p.peer.id import ID

CACHED_PEER_IDS = 1024  # about the connected peers of a busy instance


def parse_stream_peer_ids_once(network: Any) -> None:
    manager = getattr(network, "_resource_manager", None)
    if manager is None or getattr(manager.acquire_stream, "parses_once", False):
        return
    acquire = manager.acquire_stream
    parsed: dict[str, ID] = {}

    def acquire_stream(peer_id: Any, direction: Any) -> bool:
        if isinstance(peer_id, str) and peer_id:
            known = parsed.get(peer_id)
            if known is None:
                try:
                    known = ID.from_string(peer_id)
                except Exception:  # upstream's own parse would fail the same way
                    return bool(acquire(peer_id, direction))
                if len(parsed) >= CACHED_PEER_IDS:
                    parsed.clear()
                parsed[peer_id] = known
            peer_id = known
        return bool(acquire(peer_id, direction))

    acquire_stream.parses_once = True  # type: ignore[attr-defined]
    manager.acquire_stream = acquire_stream
