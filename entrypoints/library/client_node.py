"""The library's short-lived client node, and one client per caller's host (shared by
entrypoints.library and entrypoints.library.watch)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
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
from adapters.libp2p.watch_client import Libp2pWatchTransport
from application.ports import RegistryUnavailable
from domain.bootstrap import BootstrapAddress, parse_bootstraps
from domain.instance_target import InstanceTarget, parse_instance
from domain.psk import check_psk
from entrypoints.common.errors import single_error

Bootstraps = Sequence[Any]  # multiaddr strings or multiaddr.Multiaddr objects
Routing = DhtRendezvous | KadDHT
KeyFile = str | Path | None  # a key file in the Go format; None: a new identity per call

BOOTSTRAP_TIMEOUT = 5.0



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
    /p2p/<peer id>) sends every request to that one registry-service only. With no
    bootstraps, the peers on the LAN that answer mDNS within 2 s are the bootstraps.
    """
    addresses = parse_bootstraps([str(b) for b in bootstraps])
    target = parse_instance(instance) if instance is not None else None
    found_by_mdns = not addresses and (target is None or target.address is None)
    if found_by_mdns:
        # None given: the instances on the LAN that answer mDNS within 2 s.
        from entrypoints.library.lan_bootstraps import bootstraps_on_the_lan

        addresses = await bootstraps_on_the_lan(
            wanted=None if target is None else target.peer_id)
    if target is not None and target.address is None:
        # Named by peer id: a bootstrap with that id says where it is.
        known = next((a for a in addresses if a.peer_id == target.peer_id), None)
        target = InstanceTarget(peer_id=target.peer_id, address=known)
    if target is not None and target.address is not None and target.address not in addresses:
        addresses.append(target.address)
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
            raise _unreachable(connected.failures, without_psk=psk is None,
                               found_by_mdns=found_by_mdns)
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
    failures: dict[BootstrapAddress, BaseException], *, without_psk: bool,
    found_by_mdns: bool = False,
) -> RegistryUnavailable:
    reasons = {addr: DIAL_FAILURES.describe(addr.peer_id, exc) for addr, exc in failures.items()}
    # Peers that answered mDNS may be any libp2p software on the LAN, not registries.
    peers = "the peers found on the LAN by mDNS" if found_by_mdns else "the bootstrap peers"
    others = (" (or other libp2p software: give --bootstrap or P2P_BOOTSTRAPS to name the "
              "registry-service)" if found_by_mdns else "")
    if any(DIAL_FAILURES.in_other_network(addr.peer_id) for addr in failures):
        return WrongPrivateNetwork(
            f"{peers} are in a different private network{others}: check the passphrase"
        )
    if without_psk and all(handshake_cut_short(exc) for exc in failures.values()):
        return WrongPrivateNetwork(
            f"{peers} ended the connection during the handshake: they are in a "
            f"private network, and no passphrase was given{others}"
        )
    from adapters.libp2p.upstream.inbound_slots import is_connection_limit_refusal

    full = [str(addr) for addr, exc in failures.items() if is_connection_limit_refusal(exc)]
    if full and len(full) == len(failures):
        return RegistryUnavailable(
            f"the registry-service at {', '.join(full)} refused the connection: it is at its "
            "connection limit (--max-inbound-connections); try again later or another instance"
        )
    detail = "; ".join(f"{addr}: {reason}" for addr, reason in reasons.items())
    what = "any peer found on the LAN by mDNS" if found_by_mdns else "any bootstrap peer"
    return RegistryUnavailable(f"could not connect to {what}{others} ({detail})")


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


def watch_transport(client: Libp2pRegistryClient) -> Libp2pWatchTransport:
    """The /watch/0.1 streams of a watch, over ``client``'s host."""
    return Libp2pWatchTransport(client)


async def cluster_status(client: Libp2pRegistryClient, bootstraps: Sequence[str]) -> Any:
    """Every member's figures from its own instance (imported only when asked)."""
    from adapters.libp2p.every_instance_status import cluster_status as every_instance

    return await every_instance(client, bootstraps)
