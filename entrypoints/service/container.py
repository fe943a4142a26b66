"""registry-service's composition root: the adapters one instance is made of."""

from __future__ import annotations

from collections import ChainMap
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from adapters.etcd.cluster_status import EtcdClusterStatusSource
from adapters.etcd.history import EtcdChangeHistory
from adapters.etcd.member_host import EtcdMemberHost
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.repository import EtcdServiceRepository
from adapters.etcd.watched_repository import WatchedServiceRepository
from adapters.files.etcd_timing_file import EtcdTimingFile, etcd_timing_file
from adapters.files.writers_file import WritersFile
from adapters.libp2p.daemon_network import DaemonNetwork
from adapters.libp2p.daemon_network import PeerIdInUse as PeerIdInUse  # the daemon names it
from adapters.libp2p.lan_presence import LanPresence
from adapters.libp2p.registry_server import Libp2pRegistryServer
from adapters.libp2p.watch_server import Libp2pWatchServer
from adapters.prometheus.metrics import PrometheusRegistryMetrics
from application.cluster.quorum import QuorumStatus
from application.conditional_write import RevisionRequestHandler
from application.member_add_answer import MemberAddWithReason
from application.paged_list import PagedListHandler
from application.server import RegistryRequestHandler
from application.status import StatusRequestHandler
from application.watch import WatchHub
from application.write_policy import WritePolicy
from domain.instance_status import STATUS_PROTOCOL_ID
from domain.list_wire import PAGED_LIST_PROTOCOL
from domain.member_add_answer import MEMBER_ADD_WITH_REASON


def _writers_file(path: str | None) -> WritersFile | None:
    return None if path is None else WritersFile(Path(path))


FRESH_READ_TIMEOUT = 1.0


class ServiceContainer(containers.DeclarativeContainer):
    """What one registry-service instance is made of."""

    config = providers.Configuration()
    # The daemon's resolved settings (entrypoints/service/settings.py).
    settings: providers.Dependency[Any] = providers.Dependency()

    metrics = providers.Singleton(PrometheusRegistryMetrics)
    # etcd_timeout bounds every etcd call: how long a request can wait on a
    # member that lost its leader before the client tries another instance.
    # A fresh read gives up after FRESH_READ_TIMEOUT and is answered from the
    # local copy, marked stale: a partitioned member still answers reads in 2 s.
    etcd_store = providers.Singleton(
        EtcdServiceRepository, config.etcd_client_url, timeout=config.etcd_timeout,
        read_timeout=FRESH_READ_TIMEOUT,
    )
    # The copy's etcd watch fans out to every `/watch/0.1` client through the hub.
    watch_hub = providers.Singleton(WatchHub)
    # Reads from a watched in-memory copy; `run` must be started by the daemon.
    repository = providers.Singleton(WatchedServiceRepository, etcd_store, watch_hub)
    membership = providers.Singleton(
        EtcdClusterMembership, config.etcd_client_url, timeout=config.etcd_timeout,
        connection=etcd_store.provided.connection,
    )
    # Without quorum, get/list answer from this member's copy, marked stale.
    local_reads = providers.Singleton(
        EtcdServiceRepository,
        config.etcd_client_url,
        timeout=config.etcd_timeout,
        serializable=True,
        connection=etcd_store.provided.connection,
    )
    # Kept current by the daemon's cluster watch; "healthy" lapses unless renewed.
    quorum = providers.Singleton(QuorumStatus, max_age=config.health_lease)
    # None (everyone may write) unless --writers-file is given.
    writers = providers.Singleton(_writers_file, config.writers_file)
    write_policy = providers.Singleton(WritePolicy, writers)
    handler = providers.Singleton(
        RegistryRequestHandler, repository=repository, membership=membership, metrics=metrics,
        local_reads=local_reads, quorum=quorum, write_policy=write_policy,
    )
    member_add_with_reason = providers.Singleton(
        MemberAddWithReason, membership=membership, metrics=metrics
    )
    # /status/0.1. The daemon overrides status_identity once its node listens.
    status_source = providers.Singleton(
        EtcdClusterStatusSource, config.etcd_client_url, timeout=config.etcd_timeout,
        connection=etcd_store.provided.connection,
    )
    status_identity: providers.Object[object] = providers.Object(None)
    status_handler = providers.Singleton(
        StatusRequestHandler, source=status_source, identity=status_identity, metrics=metrics
    )
    # /get/0.2, /add/0.2, /delete/0.2
    revision_handler = providers.Singleton(
        RevisionRequestHandler, repository=repository, metrics=metrics,
        local_reads=local_reads, quorum=quorum, write_policy=write_policy,
    )
    # /list/0.2: the registry a page at a time, from the same copy (stale reads likewise).
    paged_list_handler = providers.Singleton(
        PagedListHandler, pages=repository, metrics=metrics, local_pages=local_reads,
        quorum=quorum,
    )
    server = providers.Singleton(
        Libp2pRegistryServer, handler=handler, request_timeout=config.request_timeout,
        extra=providers.Callable(
            ChainMap,
            providers.Dict({
                MEMBER_ADD_WITH_REASON: member_add_with_reason.provided.handle,
                STATUS_PROTOCOL_ID: status_handler.provided.handle,
                PAGED_LIST_PROTOCOL: paged_list_handler.provided.handle,
            }),
            revision_handler.provided.protocol_handles,
        ),
    )
    history = providers.Singleton(EtcdChangeHistory, etcd_store.provided.connection)
    watch_server = providers.Singleton(
        Libp2pWatchServer, hub=watch_hub, history=history, request_timeout=config.request_timeout,
        max_watches=settings.provided.max_watches,
    )
    # Our etcd member's processes, on its data dir (application/cluster/member_start.py).
    member_host = providers.Singleton(
        EtcdMemberHost, settings.provided.etcd, settings.provided.etcd_data_dir,
        psk=settings.provided.psk, binary=settings.provided.etcd_binary,
        start_timeout=settings.provided.join_timeout,
    )
    # The heartbeat and election timeout of the last run, kept for the next.
    etcd_timing_store = providers.Singleton(
        EtcdTimingFile, providers.Callable(etcd_timing_file, settings.provided.etcd_data_dir)
    )
    # The libp2p side: identity, node, bootstraps, advertising; and the join's client.
    network = providers.Singleton(
        DaemonNetwork,
        psk=settings.provided.psk,
        listen=settings.provided.listen,
        bootstraps=settings.provided.reachable_bootstraps,
        max_inbound_connections=settings.provided.max_inbound_connections,
        max_streams_per_connection=settings.provided.max_streams_per_connection,
        advertise_interval=settings.provided.advertise_interval,
    )
    # --mdns: announce this instance on the LAN, and find a cluster there to join.
    lan_presence = providers.Singleton(LanPresence)
