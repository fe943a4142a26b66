"""Backups: save a member's snapshot; restore one into a fresh data dir with etcdctl."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import grpc
import trio
from etcd3 import etcdrpc

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.errors import translate_rpc_error
from domain.cluster import EtcdEndpoint


class SnapshotFailed(RuntimeError):
    """No usable snapshot file was written, or the restore did not complete."""


async def save_snapshot(client_url: str, path: Path, *, timeout: float = 300.0) -> int:
    """Stream the member's database into ``path`` (atomically); returns its size in bytes.

    The stream is what ``etcdctl snapshot save`` writes: the bbolt database
    with etcd's SHA-256 appended, which ``etcdctl snapshot restore`` checks.
    It is the member's own copy, so it works without quorum too.
    """
    connection = EtcdConnection(client_url, timeout=timeout)
    part = path.with_name(path.name + ".part")

    def stream() -> int:
        size = 0
        try:
            # The whole registry, which otherwise takes the passphrase or root (the data
            # dir is 0700): for the owner only, whatever the umask or an old .part says.
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as out:
                chunks = connection.maintenance.Snapshot(etcdrpc.SnapshotRequest(), timeout=timeout)
                for chunk in chunks:
                    out.write(chunk.blob)
                    size += len(chunk.blob)
                out.flush()
                os.fsync(out.fileno())
        except grpc.RpcError as exc:
            part.unlink(missing_ok=True)
            raise translate_rpc_error(exc, client_url, timeout) from exc
        if size == 0:
            part.unlink(missing_ok=True)
            raise SnapshotFailed(f"etcd at {client_url} sent an empty snapshot")
        part.replace(path)
        return size

    try:
        # gRPC's streaming iterator blocks; a worker thread keeps trio responsive.
        return await trio.to_thread.run_sync(stream)
    finally:
        connection.close()


def restore_snapshot(
    snapshot: Path,
    endpoint: EtcdEndpoint,
    data_dir: Path,
    *,
    etcdctl: str = "etcdctl",
    skip_hash_check: bool = False,
) -> None:
    """A one-member cluster (this member) in ``data_dir``, holding the snapshot's data.

    ``registry-service`` started on that data dir resumes it as a restart;
    other instances then join it with empty data dirs. ``skip_hash_check``
    admits a database file copied from a member's data dir
    (``member/snap/db``), which carries no hash.
    """
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SnapshotFailed(f"{data_dir} is not empty: move it aside first")
    if not snapshot.is_file():
        raise SnapshotFailed(f"no snapshot file at {snapshot}")
    binary = shutil.which(etcdctl)
    if binary is None:
        raise SnapshotFailed(
            f"{etcdctl!r} not found: install Debian's etcd-client (apt-get install etcd-client)"
        )
    if data_dir.exists():
        data_dir.rmdir()  # etcdctl insists on creating it
    argv = [
        binary, "snapshot", "restore", str(snapshot),
        "--name", endpoint.member_name,
        "--initial-cluster", f"{endpoint.member_name}={endpoint.peer_url}",
        "--initial-advertise-peer-urls", endpoint.peer_url,
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    if skip_hash_check:
        argv.append("--skip-hash-check")
    result = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, "ETCDCTL_API": "3"}, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise SnapshotFailed(f"etcdctl snapshot restore failed: {detail[-1] if detail else '?'}")

