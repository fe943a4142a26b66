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
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.dial_failure import DIAL_FAILURES, WrongPrivateNetwork, handshake_cut_short
from adapters.libp2p.identity import ephemeral_identity, read_identity
from adapters.libp2p.live_peers import connect_first
from adapters.libp2p.node import NodeSettings, connect_peer, peer_info_of, running_node
from adapters.libp2p.registry_client import Libp2pRegistryClient
from adapters.libp2p.rendezvous import DhtRendezvous
from application import client as use_cases
from application import conditional_client
from application.client import UnreadableRecord, UnreadableRecordsWarning
from application.conditional_client import RevisionConflict
from application.ports import RegistryUnavailable
from application.status import remote_status
from application.write_policy import WriteRefused
from domain.bootstrap import BootstrapAddress, InvalidBootstrapAddress, parse_bootstraps
from domain.instance_status import InstanceStatus
from domain.instance_target import InstanceTarget, parse_instance
from domain.psk import check_psk, psk_from_passphrase
from domain.service_info import PerfInd, ServiceInfo
from entrypoints.errors import single_error
from entrypoints.log_levels import quiet_libp2p

__all__ = [
    "PerfInd",
    "RevisionConflict",
    "ServiceInfo",
    "UnreadableRecord",
    "UnreadableRecordsWarning",
    "WatchEvent",
    "WriteRefused",
    "WrongPrivateNetwork",
    "add_service",
    "add_service_asyncio",
    "add_service_blocking",
    "add_service_with_host_routing",
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
    "watch_services",
    "watch_services_blocking",
    "watch_services_with_host_routing",
]

T = TypeVar("T")
Bootstraps = Sequence[Any]  # multiaddr strings or multiaddr.Multiaddr objects
Routing = DhtRendezvous | KadDHT
KeyFile = str | Path | None  # a key file in the Go format; None: a new identity per call

BOOTSTRAP_TIMEOUT = 5.0

quiet_libp2p()


@asynccontextmanager
async def registry_client(
    bootstraps: Bootstraps,
    psk: bytes | None,
    *,
    keyfile: KeyFile = None,
    instance: str | None = None,
    **client_options: Any,
) -> AsyncIterator[Libp2pRegistryClient]:
    """A short-lived client node connected to the bootstraps (the ``*_service`` functions).

    ``keyfile`` gives the node the identity a registry's writers list names.
    One bootstrap, picked at random, is dialled; the next one only if it fails or is
    slow (see connect_first). Requests go first to the bootstraps, the connected one
    first (see Libp2pRegistryClient). ``instance`` (a peer id or a multiaddr ending in
    /p2p/<peer id>) sends every request to that one registry-service only.
    """
    addresses = parse_bootstraps([str(b) for b in bootstraps])
    target = parse_instance(instance) if instance is not None else None
    if target is not None and target.address is None:
        # Named by peer id: a bootstrap with that id says where it is.
        known = next((a for a in addresses if a.peer_id == target.peer_id), None)
        target = InstanceTarget(peer_id=target.peer_id, address=known)
    if target is not None and target.address is not None and target.address not in addresses:
        addresses.append(target.address)
    if not addresses:
        raise InvalidBootstrapAddress(
            "no bootstrap peer given (use --bootstrap or P2P_BOOTSTRAPS)"
        )
    settings = NodeSettings(
        key_pair=ephemeral_identity() if keyfile is None else read_identity(keyfile),
        psk=check_psk(psk) if psk is not None else None,
        dht_server=False,
        graceful_close=False,
    )
    # A random bootstrap first: clients given every instance spread over them. The
    # instance asked for, if its address is known, comes first.
    random.shuffle(addresses)
    if target is not None and target.address is not None:
        addresses.sort(key=lambda a: a != target.address)
    async with running_node(settings) as node, trio.open_nursery() as background:
        connected = await connect_first(
            addresses, lambda a: connect_peer(node, a, BOOTSTRAP_TIMEOUT),
            timeout=BOOTSTRAP_TIMEOUT, background=background,
        )
        if not connected.live:
            raise _unreachable(connected.failures, without_psk=psk is None)
        for address, failure in connected.failures.items():  # its reason outlives the dial
            DIAL_FAILURES.describe(address.peer_id, failure)
        # The connected one first; the others not known dead stay candidates for fail-over.
        usable = connected.live + [
            a for a in addresses if a not in connected.live and a not in connected.failures
        ]
        options: dict[str, Any] = {"preferred": [peer_info_of(a) for a in usable]}
        if target is not None:
            options["only"] = _target_info(target)
            options["attempts"] = 1  # diagnosis: a prompt answer about that one instance
        try:
            yield Libp2pRegistryClient(node.host, node.rendezvous, **(options | client_options))
        finally:
            background.cancel_scope.cancel()  # bootstraps still dialling: not needed now


def _target_info(target: InstanceTarget) -> PeerInfo:
    if target.address is not None:
        return peer_info_of(target.address)
    return PeerInfo(ID.from_base58(target.peer_id), [])


def _unreachable(
    failures: dict[BootstrapAddress, BaseException], *, without_psk: bool
) -> RegistryUnavailable:
    reasons = {addr: DIAL_FAILURES.describe(addr.peer_id, exc) for addr, exc in failures.items()}
    if any(DIAL_FAILURES.in_other_network(addr.peer_id) for addr in failures):
        return WrongPrivateNetwork(
            "the bootstrap peers are in a different private network: check the passphrase"
        )
    if without_psk and all(handshake_cut_short(exc) for exc in failures.values()):
        return WrongPrivateNetwork(
            "the bootstrap peers ended the connection during the handshake: they are in a "
            "private network, and no passphrase was given"
        )
    detail = "; ".join(f"{addr}: {reason}" for addr, reason in reasons.items())
    return RegistryUnavailable(f"could not connect to any bootstrap peer ({detail})")


# One client per caller's host, kept while the host lives: it remembers the provider
# that answered last, so later calls skip the DHT lookup.
_CLIENTS: WeakKeyDictionary[IHost, Libp2pRegistryClient] = WeakKeyDictionary()


def _client_for(host: IHost, routing: Routing) -> Libp2pRegistryClient:
    dht = routing.dht if isinstance(routing, DhtRendezvous) else routing
    client = _CLIENTS.get(host)
    if client is None or client.rendezvous.dht is not dht:
        rendezvous = routing if isinstance(routing, DhtRendezvous) else DhtRendezvous(routing)
        client = _CLIENTS[host] = Libp2pRegistryClient(host, rendezvous)
    return client


# --- short-lived node -------------------------------------------------------
# ``instance``: ask only that registry-service (peer id or multiaddr), for diagnosis.


async def _with_client(
    bootstraps: Bootstraps,
    psk: bytes | None,
    operation: Any,
    keyfile: KeyFile,
    instance: str | None = None,
) -> Any:
    try:
        async with registry_client(
            bootstraps, psk, keyfile=keyfile, instance=instance
        ) as client:
            return await operation(client)
    except BaseExceptionGroup as group:
        # The node's nurseries wrap our one error in groups; callers want the error.
        raise single_error(group) from None


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
) -> dict[str, ServiceInfo]:
    """Every readable record; unreadable ones are named in an UnreadableRecordsWarning."""
    return await _with_client(bootstraps, psk, use_cases.list_services, keyfile, instance)


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
    answers them (entrypoints/every_instance_status.py)."""
    if instance is not None:
        return await _with_client(bootstraps, psk, remote_status, keyfile, instance)
    from entrypoints.every_instance_status import cluster_status

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
    host: IHost, routing: Routing
) -> dict[str, ServiceInfo]:
    return await use_cases.list_services(_client_for(host, routing))


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


# Watch and revisions (issue 11): their own module, re-exported here.
from domain.watch_wire import WatchEvent  # noqa: E402
from entrypoints.library_watch import (  # noqa: E402
    get_service_revision,
    get_service_revision_blocking,
    get_service_revision_with_host_routing,
    watch_services,
    watch_services_blocking,
    watch_services_with_host_routing,
)
