"""The registry-service lifecycle: node, etcd member, handlers, advertising, shutdown."""

from __future__ import annotations

import dataclasses
import functools
import logging
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from dependency_injector import providers

from application.cluster.etcd_timing import choose_etcd_timing
from application.cluster.health_watch import HEALTH_LEASE, watch_cluster
from application.cluster.janitor import MemberJanitor
from application.cluster.leave import leave_cluster
from application.cluster.member_start import MemberStart, StartupError, start_member
from application.cluster.timing_adoption import adopt_the_clusters_timing
from application.ports import RegistryTransport
from application.prometheus_targets import advertised_metrics_address
from domain.etcd_timing import DEFAULT_TIMING, EtcdTiming
from domain.instance_status import InstanceIdentity
from entrypoints.common.instance_file import (
    instance_file,
    remove_instance_file,
    write_instance_file,
)
from entrypoints.common.local_etcd import LocalEtcd
from entrypoints.service.container import PeerIdInUse, ServiceContainer
from entrypoints.service.gc_thresholds import relax_garbage_collection
from entrypoints.service.open_files import ensure_open_files
from entrypoints.service.settings import DaemonSettings
from entrypoints.service.watch_cut_off import tell_watchers_of_quorum

if TYPE_CHECKING:  # built by the container (entrypoints/service/container.py)
    from adapters.etcd.process import EtcdProcess
    from adapters.files.http_tokens_file import HttpTokensFile
    from adapters.files.writers_file import WritersFile
    from adapters.libp2p.daemon_network import DaemonNetwork
    from adapters.libp2p.node import Libp2pNode
    from entrypoints.service.http_api import HttpApi
    from entrypoints.service.http_settings import HttpSettings

__all__ = ["StartupError", "run_daemon"]

log = logging.getLogger("registry-service")

_ETCD_POLL = 0.2
EXIT_OK, EXIT_FAILED = 0, 1


def _refused_twin(exc: PeerIdInUse, key_file: Path | None) -> StartupError:
    return StartupError(
        f"peer id {exc.peer_id} is already in use by the registry-service at {exc.where}: "
        f"every instance needs a key of its own, and this one read {key_file}. Fix: give this "
        "instance a --keyfile of its own (a missing file is created), or leave --keyfile out "
        "so that it uses <etcd data dir>.key"
    )


async def run_daemon(settings: DaemonSettings, *, ready: trio.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (exit code 0) or until etcd dies (1)."""
    relax_garbage_collection()
    # HTTP connections are sockets too.
    ensure_open_files(settings.max_inbound_connections
                      + (0 if settings.http is None else settings.http.max_connections))
    container = ServiceContainer(settings=providers.Object(settings))
    container.config.from_dict(
        {
            "etcd_client_url": LocalEtcd(settings.etcd, settings.etcd_data_dir).client_url,
            "etcd_timeout": settings.etcd_timeout,
            "request_timeout": settings.request_timeout,
            "health_lease": HEALTH_LEASE,
            "writers_file": None if settings.writers_file is None else str(settings.writers_file),
        }
    )
    writers = container.writers()  # a bad --writers-file stops the start here
    if writers is not None:
        log.info("only the %d peers in %s may add and delete", len(writers.peer_ids),
                 writers.path)
    http_api = None if settings.http is None else _http_api(settings.http, container)
    metrics = container.metrics()
    prom_host, prom_port = metrics.serve(settings.prom_listen_addr)
    log.info("metrics at http://%s:%d/metrics", prom_host, prom_port)
    metrics_address = advertised_metrics_address(prom_host, prom_port, settings.etcd.ip)

    network = container.network()
    key_pair, key_file = network.identity(
        algo=settings.algo, bits=settings.bits, ephemeral=settings.ephemeral,
        keyfile=settings.keyfile, data_dir=settings.etcd_data_dir,
        ran_before=container.member_host().holds_member(),
    )
    async with network.node(key_pair) as node:
        if _joins_by_mdns(settings):
            found = await container.lan_presence().peers_to_join(node)
            settings = dataclasses.replace(settings, bootstraps=found)
            network.bootstraps = found
        try:
            await network.refuse_a_twin_at_the_bootstraps(node)
            metrics.observe_peer_state(node.figures)
            await network.connect_bootstraps(node)
        except PeerIdInUse as exc:
            raise _refused_twin(exc, key_file) from None
        member_host = container.member_host()
        member_host.timing = await choose_etcd_timing(
            explicit=settings.etcd_timing, restart=member_host.holds_member(),
            survey=network.timing_survey(node), store=container.etcd_timing_store(),
        )
        etcd = await start_member(
            _member_start(settings), member_host,
            functools.partial(_join_transport, network, settings, node), sleep=trio.sleep,
        )
        code = EXIT_FAILED
        try:
            def identity() -> InstanceIdentity:  # the timing may rise while we run
                return _identity_of(node, metrics_address, member_host.timing)

            container.status_identity.override(providers.Object(identity))
            container.server().attach(node.host)
            container.watch_server().attach(node.host)
            # Not earlier: the watch server's etcd connection needs the member's data dir.
            hub, watch_server = container.watch_hub(), container.watch_server()
            metrics.observe_watches(lambda: hub.watchers, lambda: watch_server.events_sent,
                                    lambda: hub.dropped_behind, lambda: watch_server.refused)
            janitor = MemberJanitor(
                container.membership(), grace=settings.unstarted_member_grace
            )
            async with trio.open_nursery() as nursery:
                network.run_beside(node, nursery)
                nursery.start_soon(functools.partial(
                    watch_cluster, container.membership(), container.metrics(),
                    container.quorum(), janitor, sleep=trio.sleep, clock=trio.current_time,
                ))
                nursery.start_soon(tell_watchers_of_quorum, container.quorum(),
                                   container.watch_hub())
                http_tokens = None if http_api is None else http_api.tokens
                reloadable = [f for f in (writers, http_tokens) if f is not None]
                if reloadable:
                    await nursery.start(_reload_on_sighup, reloadable)
                await nursery.start(container.repository().run)
                if http_api is not None:
                    others = functools.partial(network.other_instances, node)
                    await nursery.start(http_api.run, others)
                if settings.mdns:
                    await nursery.start(functools.partial(container.lan_presence().announce, node))
                addrs = node.full_addrs()
                for addr in addrs:
                    log.info("registry-service listening on %s", addr)
                if settings.addr_file:
                    _write_atomically(settings.addr_file, "".join(a + "\n" for a in addrs))
                write_instance_file(instance_file(settings.etcd_data_dir), identity())
                if settings.etcd_timing is None:  # auto: rise to the cluster's values

                    def adopted(timing: EtcdTiming) -> None:
                        member_host.timing = timing
                        write_instance_file(instance_file(settings.etcd_data_dir), identity())

                    nursery.start_soon(functools.partial(
                        adopt_the_clusters_timing, own=lambda: member_host.timing or DEFAULT_TIMING,
                        survey=network.timing_survey(node),
                        store=container.etcd_timing_store(), member=etcd,
                        has_quorum=lambda: not container.quorum().lost, adopted=adopted,
                        sleep=trio.sleep,
                    ))
                if ready is not None:
                    ready.set()
                code = await _until_stopped(etcd)
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                # Stop taking requests first: clients then go to another instance
                # instead of waiting on a member that is going away.
                container.server().detach(node.host)
                network.remove_handlers(node, container.watch_server().protocol_ids)
                remove_instance_file(instance_file(settings.etcd_data_dir))
                left = (settings.leave and code == EXIT_OK
                        and await _leave(settings, container, etcd))
                await etcd.stop()
                log.info("etcd stopped")
                if left:
                    shutil.rmtree(settings.etcd_data_dir, ignore_errors=True)
                    log.info("removed the data dir %s of the departed member",
                             settings.etcd_data_dir)
    return code


def _joins_by_mdns(settings: DaemonSettings) -> bool:
    """--mdns without a bootstrap: a new instance joins the cluster it finds on the LAN."""
    return (settings.mdns and not settings.bootstraps and not settings.local
            and not settings.new_etcd_cluster)


def _member_start(settings: DaemonSettings) -> MemberStart:
    return MemberStart(
        endpoint=settings.etcd, data_dir=settings.etcd_data_dir,
        new_cluster=settings.new_etcd_cluster, join_timeout=settings.join_timeout,
        can_join=not settings.local and bool(settings.bootstraps),
    )


def _join_transport(
    network: DaemonNetwork, settings: DaemonSettings, node: Libp2pNode
) -> RegistryTransport:
    # --join-timeout bounds the whole join: the request under way is cut off at the
    # deadline, and each asks once (join_cluster retries every second, not the client's
    # back-off of up to 8 s).
    return network.join_transport(node, deadline=trio.current_time() + settings.join_timeout)


async def _until_stopped(etcd: EtcdProcess) -> int:
    """EXIT_OK on SIGINT/SIGTERM; EXIT_FAILED if our etcd member exits first."""
    code = EXIT_OK
    async with trio.open_nursery() as nursery:

        async def on_signal() -> None:
            await _wait_for_stop_signal()
            nursery.cancel_scope.cancel()

        async def on_etcd_exit() -> None:
            nonlocal code
            while etcd.running or etcd.relaunching:  # (auto timing restarts it)
                await trio.sleep(_ETCD_POLL)
            code = EXIT_FAILED
            if etcd.was_removed():
                log.error("this etcd member was removed from the cluster; stopping. The next "
                          "start moves its data dir aside and joins afresh")
            else:
                log.error("etcd exited (code %s); stopping. Last lines of %s:\n%s",
                          etcd.exit_code, etcd.log_path, etcd.log_tail())
            nursery.cancel_scope.cancel()

        nursery.start_soon(on_signal)
        nursery.start_soon(on_etcd_exit)
    return code


async def _leave(settings: DaemonSettings, container: ServiceContainer, etcd: EtcdProcess) -> bool:
    try:
        remaining = await leave_cluster(
            container.membership(), settings.etcd.member_name,
            confirm_removed=etcd.wait_removed, sleep=trio.sleep,
        )
    except Exception as exc:
        log.error("--leave: could not remove this member (%s); it stays in the cluster", exc)
        return False
    log.info("left the etcd cluster; %d members remain", len(remaining))
    return True


def _identity_of(node: Libp2pNode, metrics: str | None = None,
                 etcd_timing: EtcdTiming | None = None) -> InstanceIdentity:
    return InstanceIdentity(peer_id=str(node.peer_id), addresses=tuple(node.full_addrs()),
                            metrics=metrics, etcd_timing=etcd_timing)


async def _reload_on_sighup(
    files: Sequence[WritersFile | HttpTokensFile], task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    with trio.open_signal_receiver(signal.SIGHUP) as signals:
        task_status.started()
        async for _ in signals:
            for file in files:
                file.reload()


async def _wait_for_stop_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s", signal.Signals(signum).name)
            return


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _http_api(settings: HttpSettings, container: ServiceContainer) -> HttpApi:
    # Imported only when asked for: Hypercorn and Starlette are ~5 MB of an idle daemon.
    from entrypoints.service.http_api import HttpApi

    return HttpApi(settings, container)
