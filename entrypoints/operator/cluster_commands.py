"""Operator commands on an instance's etcd member: leave, snapshot save and restore, compact."""

from __future__ import annotations

import shutil
from pathlib import Path

import trio

from application.cluster.leave import leave_cluster
from application.cluster.member_start import StartupError
from domain.cluster import EtcdEndpoint
from entrypoints.common.local_etcd import LocalEtcd
from entrypoints.operator.container import OperatorContainer


async def leave_stopped_instance(
    etcd: OperatorContainer, local: LocalEtcd, *, etcd_binary: str = "etcd"
) -> str:
    """Remove a stopped instance's member from its cluster for good, then its data dir.

    Its etcd runs once more, briefly, and asks for its own removal; the rest
    of the cluster must have quorum.
    """
    endpoint, data_dir = local.endpoint, local.data_dir
    if not etcd.holds_member()(data_dir):
        raise StartupError(f"{data_dir} holds no etcd member: nothing to leave")
    if await _answers(etcd, local.client_url):
        raise StartupError(
            f"an etcd answers at {local.client_url}: is this registry-service running? "
            "Stop it first, or run it with --leave so that it leaves when it stops"
        )
    # As the daemon ran it: the same socket, and the certificates it minted last.
    process = etcd.member_process(endpoint, data_dir, binary=etcd_binary, client_socket=True,
                                  peer_tls=local.existing_peer_tls())
    await process.start()
    membership = etcd.membership(local.client_url)
    try:
        remaining = await leave_cluster(
            membership, endpoint.member_name, confirm_removed=process.wait_removed,
            sleep=trio.sleep,
        )
    finally:
        membership.close()
        with trio.CancelScope(shield=True):
            await process.stop()
    shutil.rmtree(data_dir)
    names = ", ".join(m.name or "(unstarted)" for m in remaining)
    return f"{endpoint.member_name} left the cluster ({names} remain); removed {data_dir}"


async def snapshot_save(etcd: OperatorContainer, local: LocalEtcd, path: Path) -> str:
    size = await etcd.save_snapshot()(local.client_url, path)
    return f"saved a snapshot of {local.endpoint.member_name} to {path} ({size} bytes)"


def snapshot_restore(
    etcd: OperatorContainer,
    snapshot: Path,
    endpoint: EtcdEndpoint,
    data_dir: Path,
    *,
    etcdctl: str = "etcdctl",
    skip_hash_check: bool = False,
) -> str:
    etcd.restore_snapshot()(
        snapshot, endpoint, data_dir, etcdctl=etcdctl, skip_hash_check=skip_hash_check
    )
    return (
        f"restored {snapshot} into {data_dir} as the one member {endpoint.member_name} of a new "
        "cluster; start registry-service with the same --etcd-* flags, then let the other "
        "instances join it with empty data dirs"
    )


async def compact(etcd: OperatorContainer, local: LocalEtcd, keep: int) -> str:
    connection = etcd.connection(local.client_url)
    try:
        target, current = await etcd.compact_history()(connection, keep)
    finally:
        connection.close()
    return (
        f"compacted the registry's history before revision {target} (current {current}); "
        "watchers resuming from older revisions get RESET and the current state"
    )


async def _answers(etcd: OperatorContainer, client_url: str) -> bool:
    connection = etcd.connection(client_url, timeout=1.0)
    try:
        return await etcd.answers()(connection)  # type: ignore[no-any-return]
    finally:
        connection.close()
