"""py-libp2p 0.8.1's resource manager, sized so that our own connection limit acts first.

``new_host`` gives every host a ResourceManager whose connection limits
(``new_connection_limits_with_defaults``: 64 pending and 256 established inbound, 1024
established in all; ``ResourceLimits.max_connections`` 1000) undercut
``--max-inbound-connections`` (1024). Measured with benchmarks/watch_load.py: the 257th
client connected at once was dropped in ``Swarm.add_conn`` ("[ADDCONN_DENY] ...
Established inbound limit exceeded: 256 >= 256"), after its handshake, so it saw a
failed stream negotiation instead of our readable refusal.

InboundConnectionSlots already bounds inbound connections, handshaking or established,
and refuses the one over the limit readably. So the resource manager's inbound limits
are set to that same number (never reached before ours refuses), its outbound limit
kept (at least ``outbound``), and its totals to their sum.
"""

from __future__ import annotations

from typing import Any


def size_resource_manager(network: Any, max_inbound: int, outbound: int) -> None:
    manager = getattr(network, "_resource_manager", None)
    if manager is None:
        return
    limits = manager.connection_limits  # shared with its tracker and lifecycle manager
    limits.max_pending_inbound = max_inbound
    limits.max_established_inbound = max_inbound
    limits.max_established_outbound = max(outbound, limits.max_established_outbound or 0)
    limits.max_established_total = max_inbound + limits.max_established_outbound
    manager.limits.max_connections = limits.max_established_total
