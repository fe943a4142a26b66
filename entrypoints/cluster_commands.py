"""Operator commands on an instance's etcd member: leave, snapshot save, snapshot restore."""

from __future__ import annotations

import shutil
from pathlib import Path

import trio

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.process import EtcdProcess
from adapters.etcd.process_args import holds_member
from adapters.etcd.snapshot import restore_snapshot, save_snapshot
from adapters.etcd.status import answers
from application.cluster import leave_cluster
from domain.cluster import EtcdEndpoint
from entrypoints.etcd_member import StartupError


async def leave_stopped_instance(
    endpoint: EtcdEndpoint, data_dir: Path, *, etcd_binary: str = "etcd"
) -> str:
    """Remove a stopped instance's member from its cluster for good, then its data dir.

    The member itself asks for its removal, so its etcd runs once more,
    briefly; the rest of the cluster must have quorum.
    """
    if not holds_member(data_dir):
        raise StartupError(f"{data_dir} holds no etcd member: nothing to leave")
    if await _answers(endpoint):
        raise StartupError(
            f"an etcd answers at {endpoint.client_url}: is this registry-service running? "
            "Stop it first, or run it with --leave so that it leaves when it stops"
        )
    process = EtcdProcess(endpoint, data_dir, binary=etcd_binary)
    await process.start()
    membership = EtcdClusterMembership(endpoint.client_url)
    try:
        remaining = await leave_cluster(membership, endpoint.member_name, sleep=trio.sleep)
    finally:
        membership.close()
        with trio.CancelScope(shield=True):
            await process.stop()
    shutil.rmtree(data_dir)
    names = ", ".join(m.name or "(unstarted)" for m in remaining)
    return f"{endpoint.member_name} left the cluster ({names} remain); removed {data_dir}"


async def snapshot_save(endpoint: EtcdEndpoint, path: Path) -> str:
    size = await save_snapshot(endpoint.client_url, path)
    # Not the member's name: it also depends on the peer port, which this command is not given.
    return f"saved a snapshot of the etcd member at {endpoint.client_url} to {path} ({size} bytes)"


def snapshot_restore(
    snapshot: Path,
    endpoint: EtcdEndpoint,
    data_dir: Path,
    *,
    etcdctl: str = "etcdctl",
    skip_hash_check: bool = False,
) -> str:
    restore_snapshot(
        snapshot, endpoint, data_dir, etcdctl=etcdctl, skip_hash_check=skip_hash_check
    )
    return (
        f"restored {snapshot} into {data_dir} as the one member {endpoint.member_name} of a new "
        "cluster; start registry-service with the same --etcd-* flags, then let the other "
        "instances join it with empty data dirs"
    )


async def _answers(endpoint: EtcdEndpoint) -> bool:
    connection = EtcdConnection(endpoint.client_url, timeout=1.0)
    try:
        return await answers(connection)
    finally:
        connection.close()
