"""`registry-service status`: the local instance, found by the daemon's own --etcd-* flags."""

from __future__ import annotations

import sys

from adapters.etcd.cluster_status import EtcdClusterStatusSource
from application.ports import StorageUnavailable
from application.status import instance_status
from domain.instance_status import InstanceIdentity, InstanceStatus
from entrypoints.instance_file import instance_file, read_instance_file
from entrypoints.local_etcd import LocalEtcd
from entrypoints.status_output import EXIT_TROUBLE, exit_code, human_status, status_json


async def local_status(local: LocalEtcd, *, as_json: bool, timeout: float) -> int:
    path = instance_file(local.data_dir)
    source = EtcdClusterStatusSource(local.client_url, timeout=timeout)
    try:
        identity = read_instance_file(path)
        status = await instance_status(
            source, identity or InstanceIdentity(peer_id="", addresses=())
        )
    except StorageUnavailable as exc:
        print(f"registry-service: no etcd member answers for this instance: {exc}",
              file=sys.stderr)
        return EXIT_TROUBLE
    finally:
        source.close()
    print(status_json(status) if as_json else human_status(status) + _elsewhere_hint(status))
    if identity is None:
        print(f"registry-service: no {path}: is registry-service running with these "
              "--etcd-* flags?", file=sys.stderr)
        return EXIT_TROUBLE
    return exit_code(status)


def _elsewhere_hint(status: InstanceStatus) -> str:
    # Other members' etcd client APIs are unix sockets on their own machines.
    if all(m.raft_index is not None for m in status.members if m.name != status.member):
        return ""
    return ("\n-: not readable from this machine; `registry-cli status` asks every instance "
            "over /status/0.1")
