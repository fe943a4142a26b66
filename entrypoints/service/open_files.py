"""Enough open files for the connections the daemon may hold.

Each inbound libp2p connection is a socket. Go raises its soft RLIMIT_NOFILE to the hard
limit at start; Python does not, and a soft limit of 1024 (systemd's default) would make
the daemon fail on accept() before --max-inbound-connections is reached.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger("registry-service")

# etcd's client socket, gRPC, metrics, logs, the listeners and outbound connections.
SPARE = 512


def ensure_open_files(max_inbound_connections: int) -> int:
    """Raise the soft open-file limit as far as needed (up to the hard one); return it."""
    wanted = max_inbound_connections + SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "--max-inbound-connections %d needs about %d open files, but the hard limit is "
            "%d: connections past it will fail to open (raise it: LimitNOFILE= in systemd, "
            "ulimits.nofile in compose, ulimit -n)", max_inbound_connections, wanted, hard,
        )
    return target
