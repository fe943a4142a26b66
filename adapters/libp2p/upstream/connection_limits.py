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
are set a little above that number (its count of a closing connection may lag ours, and
ours must be the one that refuses), its outbound limit kept (at least ``outbound``), and
its totals to their sum.
"""

from __future__ import annotations

from typing import Any

SLACK = 64  # connections the resource manager may still count after our slot is free


def size_resource_manager(network: Any, max_inbound: int, outbound: int) -> None:
    manager = getattr(network, "_resource_manager", None)
    if manager is None:
        return
    limits = manager.connection_limits  # shared with its tracker and lifecycle manager
    limits.max_pending_inbound = max_inbound + SLACK
    limits.max_established_inbound = max_inbound + SLACK
    limits.max_established_outbound = max(outbound, limits.max_established_outbound or 0)
    limits.max_established_total = (limits.max_established_inbound
                                    + limits.max_established_outbound)
    manager.limits.max_connections = limits.max_established_total
