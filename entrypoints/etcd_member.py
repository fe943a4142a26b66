"""Start this instance's etcd member: a new cluster, a restart, or a join."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import trio

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.errors import EtcdRequestRejected
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.peer_tls import local_addresses, write_peer_tls
from adapters.etcd.process import EtcdProcess, EtcdStartFailed
from adapters.etcd.process_args import holds_member
from adapters.etcd.status import fetch_status
from adapters.libp2p.deadline_transport import DeadlineTransport
from adapters.libp2p.node import Libp2pNode, peer_info_of
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application.cluster import EtcdStart, choose_etcd_start, join_cluster
from application.ports import StorageUnavailable
from entrypoints.local_etcd import LocalEtcd
from entrypoints.settings import DaemonSettings

log = logging.getLogger("registry-service")

# After a restart, how long to wait for a leader before serving without one.
# A member removed while it was down learns so from its peers within this
# time, and etcd then exits.
RESTART_SETTLE = 5.0


class StartupError(RuntimeError):
    """The daemon cannot start as configured (shown without a traceback)."""


async def start_etcd_member(settings: DaemonSettings, node: Libp2pNode) -> EtcdProcess:
    data_dir = settings.etcd_data_dir
    start = choose_etcd_start(
        has_member_data=holds_member(data_dir), new_cluster=settings.new_etcd_cluster
    )
    if start is EtcdStart.RESTART:
        restarted = await _restart(settings)
        if restarted is not None:
            return restarted
        start = EtcdStart.JOIN
    if start is EtcdStart.NEW:
        endpoint = settings.etcd
        return await _launch(settings, f"{endpoint.member_name}={endpoint.peer_url}", "new")
    return await _join(settings, node)


async def _restart(settings: DaemonSettings) -> EtcdProcess | None:
    """The member in the data dir, running; the daemon serves whether it has quorum or not.

    None when the cluster had removed this member: its data dir is then moved
    aside (etcd refuses to run on it again) and the caller joins afresh.
    """
    log.info("etcd: restarting member %s from %s", settings.etcd.member_name,
             settings.etcd_data_dir)
    process = _member_process(settings, require_quorum=False)
    # Not waiting for quorum: when the other members are down too, one of them
    # has to come up first, and it would wait for the others forever.
    await process.start(wait=False)
    try:
        has_leader = await _wait_for_leader(process, RESTART_SETTLE)
    except BaseException:
        with trio.CancelScope(shield=True):
            await process.stop()
        raise
    if process.running:
        if not has_leader:
            log.warning(
                "etcd: member %s has no quorum yet (most members down?); serving, but requests "
                "fail until a majority of the members is back", settings.etcd.member_name
            )
        else:
            await _migrate_peer_url(process)
        return process
    if not process.was_removed():
        raise EtcdStartFailed(
            f"etcd {settings.etcd.member_name} exited with code {process.exit_code} right "
            f"after restarting; last lines of {process.log_path}:\n{process.log_tail()}"
        )
    await process.stop()  # closes its log
    aside = _move_aside(settings.etcd_data_dir)
    log.warning(
        "etcd: member %s had been removed from the cluster; its old data dir is now %s; "
        "joining afresh", settings.etcd.member_name, aside
    )
    return None


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


async def _join(settings: DaemonSettings, node: Libp2pNode) -> EtcdProcess:
    if settings.local or not settings.bootstraps:
        raise StartupError(
            "nothing to join: start the first instance with --new-etcd-cluster, "
            "or give --bootstrap peers of a running registry-service"
        )
    started = time.monotonic()
    # --join-timeout bounds the whole join: the request under way is cut off at the
    # deadline, and each asks once (join_cluster retries every second, not the
    # client's back-off of up to 8 s).
    deadline = trio.current_time() + settings.join_timeout
    # Bootstraps that serve the registry are asked first, over the connection we have.
    bootstraps = [peer_info_of(b) for b in settings.bootstraps if b.peer_id != str(node.peer_id)]
    client = Libp2pRegistryClient(node.host, node.rendezvous, preferred=bootstraps, attempts=1)
    initial_cluster = await join_cluster(
        DeadlineTransport(client, deadline), settings.etcd, timeout=settings.join_timeout,
        sleep=trio.sleep,
    )
    log.info("etcd: added to the cluster as %s after %.1f s", settings.etcd.member_name,
             time.monotonic() - started)
    # Healthy = promoted from learner to voting member, which a running
    # instance does once our member has caught up.
    return await _launch(settings, initial_cluster, "existing",
                         start_timeout=max(deadline - trio.current_time(), 0.0))


async def _launch(
    settings: DaemonSettings, initial_cluster: str, state: Literal["new", "existing"],
    start_timeout: float | None = None,
) -> EtcdProcess:
    log.info("etcd: starting member %s (%s cluster %s, data dir %s)", settings.etcd.member_name,
             state, initial_cluster, settings.etcd_data_dir)
    process = _member_process(
        settings, initial_cluster=initial_cluster, initial_cluster_state=state,
        start_timeout=settings.join_timeout if start_timeout is None else start_timeout,
    )
    await process.start()
    return process


def _member_process(settings: DaemonSettings, **options: Any) -> EtcdProcess:
    """Our member: clients on the data dir's unix socket; peer certificates minted afresh."""
    local = LocalEtcd(settings.etcd, settings.etcd_data_dir)
    peer_tls = None
    if settings.etcd.peer_tls:
        assert settings.psk is not None  # peer_tls_wanted() turns TLS on only with a key
        ips = [settings.etcd.ip, *local_addresses()]
        peer_tls = write_peer_tls(local.peer_tls_dir, settings.psk, settings.etcd.member_name, ips)
    else:
        # Stale certificates would make `leave` believe the peers talk TLS.
        shutil.rmtree(local.peer_tls_dir, ignore_errors=True)
    return EtcdProcess(
        settings.etcd, settings.etcd_data_dir, binary=settings.etcd_binary,
        client_socket=True, peer_tls=peer_tls, **options,
    )


async def _migrate_peer_url(process: EtcdProcess) -> None:
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


def _move_aside(data_dir: Path) -> Path:
    aside = data_dir.with_name(f"{data_dir.name}.removed-{time.strftime('%Y%m%dT%H%M%S')}")
    data_dir.rename(aside)
    return aside
