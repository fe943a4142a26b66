"""The registry library: add / get / list / delete, as the Go `registry` package offers.

Each ``*_service`` coroutine (trio) starts a short-lived libp2p node from
bootstrap addresses and a pre-shared key, asks a registry-service, and stops
the node. The ``*_with_host_routing`` variants reuse the caller's running host
and DHT (or its :class:`DhtRendezvous`). ``*_blocking`` wrappers run the trio
coroutine to completion for plain scripts; asyncio code calls them through
``asyncio.to_thread`` (``*_asyncio`` do exactly that).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio
from libp2p.abc import IHost

from application import client as use_cases
from application import conditional_client, paged_list_client
from application.client import UnreadableRecord, UnreadableRecordsWarning
from application.conditional_client import RevisionConflict
from application.paged_list_client import ListedWithoutPages
from application.status import remote_status
from application.write_policy import WriteRefused
from domain.instance_status import InstanceStatus
from domain.psk import psk_from_passphrase
from domain.service_info import PerfInd, ServiceInfo
from entrypoints.common.log_levels import quiet_libp2p
from entrypoints.library.client_node import (
    BOOTSTRAP_TIMEOUT as BOOTSTRAP_TIMEOUT,
)
from entrypoints.library.client_node import (
    Bootstraps,
    KeyFile,
    Routing,
    WrongPrivateNetwork,
    _client_for,
    _with_client,
)
from entrypoints.library.client_node import (
    DhtRendezvous as DhtRendezvous,  # re-exported: a Routing
)
from entrypoints.library.client_node import (
    registry_client as registry_client,
)

if TYPE_CHECKING:
    from entrypoints.library.client_node import Libp2pRegistryClient

__all__ = [
    "AnnouncedInstance",
    "Instance",
    "ListedWithoutPages",
    "PerfInd",
    "RecordDeleted",
    "RevisionConflict",
    "ServiceInfo",
    "UnreadableRecord",
    "UnreadableRecordsWarning",
    "Verdict",
    "WatchEvent",
    "WriteRefused",
    "WrongPrivateNetwork",
    "add_service",
    "add_service_asyncio",
    "add_service_blocking",
    "add_service_with_host_routing",
    "announce_instance",
    "announce_instance_blocking",
    "announce_instance_with_host_routing",
    "delete_service",
    "delete_service_asyncio",
    "delete_service_blocking",
    "delete_service_with_host_routing",
    "get_service",
    "get_service_asyncio",
    "get_service_blocking",
    "get_service_revision",
    "get_service_revision_blocking",
    "get_service_revision_with_host_routing",
    "get_service_with_host_routing",
    "list_services",
    "list_services_asyncio",
    "list_services_blocking",
    "list_services_with_host_routing",
    "psk_from_passphrase",
    "registry_status",
    "resolve_instances",
    "resolve_instances_blocking",
    "resolve_instances_with_host_routing",
    "watch_services",
    "watch_services_blocking",
    "watch_services_with_host_routing",
]

T = TypeVar("T")

quiet_libp2p()


# --- short-lived node -------------------------------------------------------
# ``instance``: ask only that registry-service (peer id or multiaddr), for diagnosis.


async def add_service(
    bootstraps: Bootstraps,
    psk: bytes | None,
    service_name: str,
    info: ServiceInfo,
    *,
    keyfile: KeyFile = None,
    instance: str | None = None,
    if_revision: int | None = None,
) -> str | int:
    """The server's ``Added {...}`` text; with ``if_revision`` (0: only if absent), the
    record's new revision, or RevisionConflict. Raises WriteRefused when the registry's
    writers list does not name this identity."""
    return await _with_client(
        bootstraps, psk, lambda c: _add(c, service_name, info, if_revision), keyfile, instance,
    )


async def get_service(
    bootstraps: Bootstraps,
    psk: bytes | None,
    query: str,
    *,
    keyfile: KeyFile = None,
    instance: str | None = None,
) -> ServiceInfo:
    return await _with_client(
        bootstraps, psk, lambda c: use_cases.get_service(c, query), keyfile, instance
    )


async def list_services(
    bootstraps: Bootstraps,
    psk: bytes | None,
    *,
    keyfile: KeyFile = None,
    instance: str | None = None,
    prefix: str | None = None,
) -> dict[str, ServiceInfo]:
    """Every readable record; unreadable ones are named in an UnreadableRecordsWarning.

    With ``prefix``, only the names starting with it, listed a page at a time over
    `/list/0.2` (a registry-service without it answers over `/list/0.1`; a
    ListedWithoutPages warning says so)."""
    return await _with_client(bootstraps, psk, _lister(prefix), keyfile, instance)


def _lister(prefix: str | None) -> Callable[[Any], Any]:
    if prefix is None:
        return use_cases.list_services
    return lambda client: paged_list_client.list_with_prefix(client, prefix)


async def delete_service(
    bootstraps: Bootstraps,
    psk: bytes | None,
    service_name: str,
    *,
    keyfile: KeyFile = None,
    instance: str | None = None,
    if_revision: int | None = None,
) -> str | int:
    """The server's text; with ``if_revision``, the delete's revision, or RevisionConflict.
    Raises WriteRefused when the registry's writers list does not name this identity."""
    return await _with_client(
        bootstraps, psk, lambda c: _delete(c, service_name, if_revision), keyfile, instance
    )


async def _add(
    client: Libp2pRegistryClient, name: str, info: ServiceInfo, if_revision: int | None
) -> str | int:
    if if_revision is None:
        return await use_cases.add_service(client, name, info)
    return await conditional_client.add_service_if(client, name, info, if_revision)


async def _delete(client: Libp2pRegistryClient, name: str, if_revision: int | None) -> str | int:
    if if_revision is None:
        return await use_cases.delete_service(client, name)
    return await conditional_client.delete_service_if(client, name, if_revision)


async def registry_status(
    bootstraps: Bootstraps,
    psk: bytes | None,
    *,
    keyfile: KeyFile = None,
    instance: str | None = None,
) -> InstanceStatus:
    """The status (itself and its etcd cluster) of the registry-service reached first;
    without ``instance``, every member's raft index and db size as its own instance
    answers them (adapters/libp2p/every_instance_status.py)."""
    if instance is not None:
        return await _with_client(bootstraps, psk, remote_status, keyfile, instance)
    from entrypoints.library.client_node import cluster_status

    addresses = [str(b) for b in bootstraps]
    return await _with_client(
        bootstraps, psk, lambda c: cluster_status(c, addresses), keyfile
    )


# --- caller's host and routing ------------------------------------------------


async def add_service_with_host_routing(
    host: IHost, routing: Routing, service_name: str, info: ServiceInfo,
    *, if_revision: int | None = None,
) -> str | int:
    return await _add(_client_for(host, routing), service_name, info, if_revision)


async def get_service_with_host_routing(host: IHost, routing: Routing, query: str) -> ServiceInfo:
    return await use_cases.get_service(_client_for(host, routing), query)


async def list_services_with_host_routing(
    host: IHost, routing: Routing, *, prefix: str | None = None
) -> dict[str, ServiceInfo]:
    return await _lister(prefix)(_client_for(host, routing))  # type: ignore[no-any-return]


async def delete_service_with_host_routing(
    host: IHost, routing: Routing, service_name: str, *, if_revision: int | None = None
) -> str | int:
    return await _delete(_client_for(host, routing), service_name, if_revision)


# --- blocking and asyncio wrappers ---------------------------------------------


def _blocking(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return trio.run(functools.partial(fn, *args, **kwargs))

    run.__name__ = f"{fn.__name__}_blocking"
    run.__doc__ = f"Run :func:`{fn.__name__}` to completion (not from inside an event loop)."
    return run


def _asyncio(blocking: Callable[..., Any]) -> Callable[..., Any]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        # trio cannot run inside asyncio's loop thread; a worker thread can. (Imported
        # here: a registry-cli process has no asyncio loop and need not load it.)
        import asyncio

        return await asyncio.to_thread(blocking, *args, **kwargs)

    run.__name__ = blocking.__name__.replace("_blocking", "_asyncio")
    return run


add_service_blocking = _blocking(add_service)
get_service_blocking = _blocking(get_service)
list_services_blocking = _blocking(list_services)
delete_service_blocking = _blocking(delete_service)
add_service_asyncio = _asyncio(add_service_blocking)
get_service_asyncio = _asyncio(get_service_blocking)
list_services_asyncio = _asyncio(list_services_blocking)
delete_service_asyncio = _asyncio(delete_service_blocking)


# Watch and revisions (issue 11), announce and resolve (issue 23): their own modules,
# re-exported here.
from application.announce import RecordDeleted  # noqa: E402
from domain.instance_verdict import Instance, Verdict  # noqa: E402
from domain.watch_wire import WatchEvent  # noqa: E402
from entrypoints.library.announce import (  # noqa: E402
    AnnouncedInstance,
    announce_instance,
    announce_instance_blocking,
    announce_instance_with_host_routing,
)
from entrypoints.library.resolve import (  # noqa: E402
    resolve_instances,
    resolve_instances_blocking,
    resolve_instances_with_host_routing,
)
from entrypoints.library.watch import (  # noqa: E402
    get_service_revision,
    get_service_revision_blocking,
    get_service_revision_with_host_routing,
    watch_services,
    watch_services_blocking,
    watch_services_with_host_routing,
)

# The registry view (issue 23): a watch-fed local copy; its own module, re-exported here.
__all__ += [
    "RegistryView",
    "ViewChange",
    "ViewChanges",
    "ViewChangesOverflowed",
    "ViewFreshness",
    "open_registry_view",
    "open_registry_view_blocking",
    "open_registry_view_with_host_routing",
    "view_changes",
]
from application.registry_view import RegistryView, ViewChange, ViewFreshness  # noqa: E402
from entrypoints.library.registry_view import (  # noqa: E402
    ViewChanges,
    ViewChangesOverflowed,
    open_registry_view,
    open_registry_view_blocking,
    open_registry_view_with_host_routing,
    view_changes,
)
