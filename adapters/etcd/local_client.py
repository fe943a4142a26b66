"""Where this instance's etcd member takes client requests: a unix socket in its data dir.

The data dir is 0700, so only its owner (the daemon's user, and root) can
connect; no TCP client port exists for anyone else to reach. etcd resolves
``unix://NAME:PORT`` against its working directory (the data dir), and the
socket file is literally ``NAME:PORT``. The port only keeps the name unique.
"""

from __future__ import annotations

import os
from pathlib import Path

from domain.cluster import EtcdEndpoint

SOCKET_NAME = "client.sock"
# sun_path holds 108 bytes with its NUL.
_SUN_PATH_MAX = 107
PEER_TLS_DIR = "peer-tls"


def socket_file_name(endpoint: EtcdEndpoint) -> str:
    return f"{SOCKET_NAME}:{endpoint.client_port}"


def listen_client_url(endpoint: EtcdEndpoint) -> str:
    """etcd's ``--listen-client-urls`` (relative to its working directory, the data dir)."""
    return f"unix://{socket_file_name(endpoint)}"


def local_client_url(endpoint: EtcdEndpoint, data_dir: Path) -> str:
    """What our own code dials (EtcdConnection): ``unix:/abs/data/dir/client.sock:PORT``."""
    return f"unix:{data_dir.expanduser().absolute() / socket_file_name(endpoint)}"


def dialable_socket_path(path: str) -> tuple[str, int | None]:
    """A path to the socket ``path`` that fits sun_path, and a directory fd to close after.

    A longer path is reached through a descriptor of its directory,
    ``/proc/self/fd/N/NAME``, which is short whatever the data dir; the fd
    must stay open as long as the path is used (gRPC reconnects with it).
    """
    if len(path.encode()) <= _SUN_PATH_MAX:
        return path, None
    directory, name = os.path.split(path)
    fd = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{name}", fd
