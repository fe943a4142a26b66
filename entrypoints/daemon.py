"""The registry-service lifecycle: node, etcd member, handlers, advertising, shutdown."""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import trio

from adapters.etcd.process import EtcdProcess
from adapters.libp2p.identity import KeyAlgorithm, ephemeral_identity, load_or_create_identity
from adapters.libp2p.node import (
    Libp2pNode,
    NodeSettings,
    connect_bootstraps,
    connect_peer,
    running_node,
)
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application.cluster import EtcdStart, choose_etcd_start, request_membership
from domain.bootstrap import BootstrapAddress
from domain.rendezvous import REGISTRY_RENDEZVOUS
from entrypoints.containers import ServiceContainer
from entrypoints.settings import DaemonSettings

log = logging.getLogger("registry-service")

BOOTSTRAP_RETRY_MAX = 60.0
HEALTH_INTERVAL = 5.0
ADVERTISE_TIMEOUT = 60.0


class StartupError(RuntimeError):
    """The daemon cannot start as configured (shown without a traceback)."""


def _identity(settings: DaemonSettings):  # type: ignore[no-untyped-def]
    algo = KeyAlgorithm.parse(settings.algo)
    if settings.ephemeral:
        return ephemeral_identity(algo, settings.bits)
    return load_or_create_identity(settings.keyfile, algo, settings.bits)


async def run_daemon(settings: DaemonSettings, *, ready: trio.Event | None = None) -> None:
    container = ServiceContainer()
    container.config.from_dict(
        {"etcd_client_url": settings.etcd.client_url, "request_timeout": settings.request_timeout}
    )
    metrics = container.metrics()
    prom_host, prom_port = metrics.serve(settings.prom_listen_addr)
    log.info("metrics at http://%s:%d/metrics", prom_host, prom_port)

    node_settings = NodeSettings(
        key_pair=_identity(settings), psk=settings.psk, listen=settings.listen, dht_server=True
    )
    bootstraps = [] if settings.local else settings.bootstraps
    async with running_node(node_settings) as node:
        if bootstraps:
            failures = await connect_bootstraps(node, bootstraps, timeout=5.0)
            for address, exc in failures.items():
                log.warning("bootstrap %s unreachable for now: %s", address, exc)
        etcd = await _start_etcd(settings, node)
        try:
            container.server().attach(node.host)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_advertise_forever, node, settings.advertise_interval)
                nursery.start_soon(_keep_bootstraps_connected, node, bootstraps)
                nursery.start_soon(_watch_storage, container)
                await nursery.start(container.repository().run)
                addrs = node.full_addrs()
                for addr in addrs:
                    log.info("registry-service listening on %s", addr)
                if settings.addr_file:
                    _write_atomically(settings.addr_file, "".join(a + "\n" for a in addrs))
                if ready is not None:
                    ready.set()
                await _wait_for_stop_signal()
                log.info("stopping")
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await etcd.stop()
                log.info("etcd stopped")


async def _start_etcd(settings: DaemonSettings, node: Libp2pNode) -> EtcdProcess:
    data_dir = settings.etcd_data_dir
    start = choose_etcd_start(
        has_member_data=(data_dir / "member").is_dir(), new_cluster=settings.new_etcd_cluster
    )
    endpoint = settings.etcd
    if start is EtcdStart.JOIN:
        if settings.local or not settings.bootstraps:
            raise StartupError(
                "nothing to join: start the first instance with --new-etcd-cluster, "
                "or give --bootstrap peers of a running registry-service"
            )
        client = Libp2pRegistryClient(node.host, node.rendezvous)
        initial_cluster = await request_membership(client, endpoint)
        state: Literal["new", "existing"] = "existing"
    else:
        initial_cluster = f"{endpoint.member_name}={endpoint.peer_url}"
        state = "new"
    log.info("etcd: %s member %s (data dir %s)", start.value, endpoint.member_name, data_dir)
    process = EtcdProcess(
        endpoint, data_dir, initial_cluster=initial_cluster, initial_cluster_state=state,
        binary=settings.etcd_binary,
    )
    await process.start()
    return process


async def _advertise_forever(node: Libp2pNode, interval: float) -> None:
    # py-libp2p republishes provider records only every 22 h; peers that join
    # later, or restarted DHT nodes, need to hear from us much sooner.
    while True:
        try:
            # A lookup that hangs on one unresponsive peer must not stop the loop.
            with trio.move_on_after(ADVERTISE_TIMEOUT):
                stored = await node.rendezvous.advertise(REGISTRY_RENDEZVOUS)
                log.debug("advertised %s (remote copies: %s)", REGISTRY_RENDEZVOUS, stored)
        except Exception as exc:
            log.warning("advertising failed: %s", exc)
        await trio.sleep(interval)


async def _keep_bootstraps_connected(node: Libp2pNode, bootstraps: Sequence[BootstrapAddress]):  # type: ignore[no-untyped-def]
    delay = {b: 1.0 for b in bootstraps}
    while bootstraps:
        connected = node.host.get_network().connections
        for address in bootstraps:
            if address.peer_id == str(node.peer_id) or _is_connected(connected, address):
                continue
            try:
                await connect_peer(node, address, timeout=5.0)
                log.info("connected to bootstrap %s", address)
                delay[address] = 1.0
                await node.rendezvous.advertise(REGISTRY_RENDEZVOUS)
            except Exception as exc:
                log.debug("bootstrap %s still unreachable: %s", address, exc)
                delay[address] = min(delay[address] * 2, BOOTSTRAP_RETRY_MAX)
        await trio.sleep(min(delay.values()))


def _is_connected(connections: dict, address: BootstrapAddress) -> bool:  # type: ignore[type-arg]
    return any(str(peer) == address.peer_id for peer in connections)


async def _watch_storage(container: ServiceContainer) -> None:
    metrics, membership = container.metrics(), container.membership()
    while True:
        try:
            status = await membership.status()
            metrics.set_storage_healthy(True)
            metrics.set_cluster_status(status.members, status.is_leader)
        except Exception as exc:
            log.debug("etcd health probe failed: %s", exc)
            metrics.set_storage_healthy(False)
        await trio.sleep(HEALTH_INTERVAL)


async def _wait_for_stop_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s", signal.Signals(signum).name)
            return


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
