"""Composition root of registry-service's operator commands (leave, snapshot, compact,
status): the etcd adapters they use on this host's member."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.etcd.cluster_status import EtcdClusterStatusSource
from adapters.etcd.compaction import compact_history
from adapters.etcd.connection import EtcdConnection
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.process import EtcdProcess
from adapters.etcd.process_args import holds_member
from adapters.etcd.snapshot import restore_snapshot, save_snapshot
from adapters.etcd.status import answers


class OperatorContainer(containers.DeclarativeContainer):
    # Coroutine functions are held as Objects, never called by a provider:
    # dependency-injector would wrap their coroutines in asyncio futures, and we run trio.
    member_process = providers.Factory(EtcdProcess)
    membership = providers.Factory(EtcdClusterMembership)
    connection = providers.Factory(EtcdConnection)
    status_source = providers.Factory(EtcdClusterStatusSource)
    holds_member = providers.Object(holds_member)
    answers = providers.Object(answers)
    compact_history = providers.Object(compact_history)
    save_snapshot = providers.Object(save_snapshot)
    restore_snapshot = providers.Object(restore_snapshot)
