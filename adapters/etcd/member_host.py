"""The MemberHost port on this host: etcd processes on our data dir, with peer certificates."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import trio

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.errors import EtcdRequestRejected
from adapters.etcd.local_client import PEER_TLS_DIR
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.peer_tls import local_addresses, write_peer_tls
from adapters.etcd.process import EtcdProcess
from adapters.etcd.process_args import holds_member
from adapters.etcd.status import fetch_status
from application.ports import StorageUnavailable
from domain.cluster import EtcdEndpoint
from domain.etcd_timing import EtcdTiming

log = logging.getLogger("registry-service")


class EtcdMemberHost:
    def __init__(
        self,
        endpoint: EtcdEndpoint,
        data_dir: Path,
        *,
        psk: bytes | None,
        binary: str = "etcd",
        start_timeout: float = 120.0,
    ) -> None:
        self._endpoint = endpoint
        self._data_dir = data_dir
        self._psk = psk
        self._binary = binary
        self._start_timeout = start_timeout
        self.timing: EtcdTiming | None = None  # set once chosen (None: etcd's defaults)

    def holds_member(self) -> bool:
        return holds_member(self._data_dir)

    def restart_process(self) -> EtcdProcess:
        return self._process(require_quorum=False)

    def new_process(
        self, initial_cluster: str, state: Literal["new", "existing"],
        start_timeout: float | None = None,
    ) -> EtcdProcess:
        return self._process(
            initial_cluster=initial_cluster, initial_cluster_state=state,
            start_timeout=self._start_timeout if start_timeout is None else start_timeout,
        )

    def _process(self, **options: Any) -> EtcdProcess:
        """Our member: clients on the data dir's unix socket; peer certificates minted afresh."""
        peer_tls_dir = self._data_dir / PEER_TLS_DIR
        peer_tls = None
        if self._endpoint.peer_tls:
            assert self._psk is not None  # peer_tls_wanted() turns TLS on only with a key
            ips = [self._endpoint.ip, *local_addresses()]
            peer_tls = write_peer_tls(peer_tls_dir, self._psk, self._endpoint.member_name, ips)
        else:
            # Stale certificates would make `leave` believe the peers talk TLS.
            shutil.rmtree(peer_tls_dir, ignore_errors=True)
        return EtcdProcess(
            self._endpoint, self._data_dir, binary=self._binary,
            client_socket=True, peer_tls=peer_tls, timing=self.timing, **options,
        )

    async def wait_for_leader(self, process: EtcdProcess, seconds: float) -> bool:
        """Stops the process if interrupted."""
        try:
            return await _wait_for_leader(process, seconds)
        except BaseException:
            with trio.CancelScope(shield=True):
                await process.stop()
            raise

    async def update_peer_url(self, process: EtcdProcess) -> None:
        """Point this member's peer URL at its scheme now (http <-> https); needs quorum.

        A data dir from before peer TLS holds an http:// peer URL. etcd keeps
        that URL across restarts and ignores our flags for it, so we change it
        through the cluster: the other members then dial us over https. Until
        then they cannot reach us, but we reach them, which raft can live with
        for the moment. On failure we retry at the next start.
        """
        membership = EtcdClusterMembership(process.client_url, timeout=5.0)
        wanted = process.endpoint.peer_url
        try:
            members = await membership.list_members()
            own = next((m for m in members if m.name == process.endpoint.member_name), None)
            if own is None or own.peer_urls == (wanted,):
                return
            await membership.update_peer_urls(own.member_id, [wanted])
            log.warning("etcd: moved member %s's peer URL from %s to %s", own.name,
                        ",".join(own.peer_urls), wanted)
        except (StorageUnavailable, EtcdRequestRejected) as exc:
            log.warning("etcd: could not move this member's peer URL to %s (%s); the next start "
                        "tries again", wanted, exc)
        finally:
            membership.close()

    def move_aside(self) -> Path:
        data_dir = self._data_dir
        aside = data_dir.with_name(f"{data_dir.name}.removed-{time.strftime('%Y%m%dT%H%M%S')}")
        data_dir.rename(aside)
        return aside


async def _wait_for_leader(process: EtcdProcess, seconds: float) -> bool:
    """True once the member knows a leader; False if it exits or ``seconds`` pass first."""
    connection = EtcdConnection(process.client_url, timeout=1.0)
    deadline = time.monotonic() + seconds
    try:
        while process.running and time.monotonic() < deadline:
            try:
                if (await fetch_status(connection, require_leader=False)).has_leader:
                    return True
            except StorageUnavailable:
                pass  # etcd 3.4 answers nothing before it has reached a quorum once
            await trio.sleep(0.1)
        return False
    finally:
        connection.close()
