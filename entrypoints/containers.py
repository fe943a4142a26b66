"""Composition root: the only place that names concrete adapters."""

from __future__ import annotations

from pathlib import Path

from dependency_injector import containers, providers

from adapters.etcd.cluster_status import EtcdClusterStatusSource
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.mirror import WatchedServiceRepository
from adapters.etcd.repository import EtcdServiceRepository
from adapters.files.writers_file import WritersFile
from adapters.libp2p.registry_server import Libp2pRegistryServer
from adapters.libp2p.status_server import Libp2pStatusServer
from adapters.prometheus.metrics import PrometheusRegistryMetrics
from application.cluster import QuorumStatus
from application.server import RegistryRequestHandler
from application.status import StatusRequestHandler
from application.write_policy import WritePolicy


def _writers_file(path: str | None) -> WritersFile | None:
    return None if path is None else WritersFile(Path(path))


class ServiceContainer(containers.DeclarativeContainer):
    """What one registry-service instance is made of."""

    config = providers.Configuration()

    metrics = providers.Singleton(PrometheusRegistryMetrics)
    # etcd_timeout bounds every etcd call: how long a request can wait on a
    # member that lost its leader before the client tries another instance.
    etcd_store = providers.Singleton(
        EtcdServiceRepository, config.etcd_client_url, timeout=config.etcd_timeout
    )
    # Reads from a watched in-memory copy; `run` must be started by the daemon.
    repository = providers.Singleton(WatchedServiceRepository, etcd_store)
    membership = providers.Singleton(
        EtcdClusterMembership, config.etcd_client_url, timeout=config.etcd_timeout
    )
    # Without quorum, get/list answer from this member's copy, marked stale.
    local_reads = providers.Singleton(
        EtcdServiceRepository,
        config.etcd_client_url,
        timeout=config.etcd_timeout,
        serializable=True,
    )
    # Kept current by the daemon's cluster watch.
    quorum = providers.Singleton(QuorumStatus)
    # None (everyone may write) unless --writers-file is given.
    writers = providers.Singleton(_writers_file, config.writers_file)
    write_policy = providers.Singleton(WritePolicy, writers)
    handler = providers.Singleton(
        RegistryRequestHandler, repository=repository, membership=membership, metrics=metrics,
        local_reads=local_reads, quorum=quorum, write_policy=write_policy,
    )
    server = providers.Singleton(
        Libp2pRegistryServer, handler=handler, request_timeout=config.request_timeout
    )
    # /status/0.1; the daemon passes handler__identity once its node listens.
    status_source = providers.Singleton(
        EtcdClusterStatusSource, config.etcd_client_url, timeout=config.etcd_timeout
    )
    status_server = providers.Singleton(
        Libp2pStatusServer,
        handler=providers.Factory(StatusRequestHandler, source=status_source, metrics=metrics),
        request_timeout=config.request_timeout,
    )
