"""Keep the resource manager's per-peer connection rate limiter small.

py-libp2p 0.8.1's ResourceManager rate-limits new connections per peer id with one
token bucket per peer (about 1 KB each, with its history), evicting the least recently
used only past 1000 peers. Every short-lived client brings a new peer id, so on a
daemon the buckets only ever fill to that cap (~1 MB) and never limit anyone twice.
Our inbound slots bound connections; the buckets stay for peers that reconnect often.
"""

from __future__ import annotations

from typing import Any

TRACKED_PEERS = 128


def cap_rate_limiter_memory(network: Any, tracked_peers: int = TRACKED_PEERS) -> None:
    manager = getattr(network, "_resource_manager", None)
    limiter = getattr(manager, "connection_rate_limiter", None)
    if limiter is not None:
        limiter.config.max_peers = tracked_peers
