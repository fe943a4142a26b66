"""What to tell an operator whose `status` reaches no local etcd member."""

from __future__ import annotations

from entrypoints.common.instance_file import instance_file
from entrypoints.common.local_etcd import LocalEtcd


def no_local_member(local: LocalEtcd, cause: str) -> str:
    """One line: no instance runs there (no socket or instance file), or its etcd does not
    answer."""
    socket = local.socket_path
    flags = "give the --etcd-* flags the daemon runs with"
    running = instance_file(local.data_dir)  # written once serving, removed when stopping
    if not socket.exists() or not running.exists():
        return (f"no registry-service is running with data dir {local.data_dir} and etcd client "
                f"port {local.endpoint.client_port} (no {running if socket.exists() else socket})"
                f": start it, or {flags}")
    return (f"the etcd member of the registry-service with data dir {local.data_dir} does not "
            f"answer ({cause}): the daemon may be stopping or starting; otherwise {flags}")
