"""Our own peer id stays in the peerstore, and the peerstore holds every connected peer.

py-libp2p 0.8.1's PeerStore keeps at most ``max_peers`` (1000) peers and, past that,
evicts those without addresses first (``_enforce_peer_limit``). The host's own entry
(its keys) has no addresses, so it went first: measured with 1000 watching clients
(benchmarks/bench_scale.py), the next identify found no public key of our own
(``PeerStoreError: peer ID not found``) and the daemon stopped.

Here the limit covers what the host may be connected to (every inbound and outbound
connection, and as many again of peers that left within the janitor's grace period),
and eviction never takes the host's own entry.
"""

from __future__ import annotations

from typing import Any

# Peers kept beyond the connection limits: those that just left (the janitor forgets
# them GRACE seconds later), bootstraps and DHT servers.
SPARE_PEERS = 256


def keep_own_peer(host: Any, connected: int) -> None:
    """Size the peerstore for ``connected`` peers at once; never evict the host itself."""
    peerstore = host.get_peerstore()
    own = host.get_id()
    peerstore.max_peers = max(peerstore.max_peers, 2 * connected + SPARE_PEERS)
    evict = peerstore._enforce_peer_limit

    def enforce_peer_limit() -> None:
        mine = peerstore.peer_data_map.pop(own, None)
        if mine is None:
            evict()
            return
        peerstore.max_peers -= 1  # the others share what is left
        try:
            evict()
        finally:
            peerstore.max_peers += 1
            peerstore.peer_data_map[own] = mine

    peerstore._enforce_peer_limit = enforce_peer_limit
