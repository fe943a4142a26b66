"""A running libp2p node: host, Kademlia DHT, rendezvous, bootstrap connections."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.kad_dht.kad_dht import DHTMode
from libp2p.network.config import ConnectionConfig, RetryConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.tools.anyio_service import background_trio_service

from adapters.libp2p import upstream
from adapters.libp2p.dns_bootstrap import dialable_addrs
from adapters.libp2p.peer_janitor import PeerJanitor
from adapters.libp2p.rendezvous import DhtRendezvous
from adapters.libp2p.upstream.inbound_slots import inbound_slots_of
from adapters.libp2p.upstream.kad import ServerModeKadDHT
from adapters.libp2p.upstream.stream_slots import stream_slots_of
from adapters.libp2p.wildcard_addrs import expand_wildcards
from domain.bootstrap import BootstrapAddress

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0
DEFAULT_MAX_INBOUND_CONNECTIONS = 1024
DEFAULT_MAX_STREAMS_PER_CONNECTION = 256
# Our own outbound dials (bootstraps, DHT lookups, member instances) beside the inbound.
OUTBOUND_CONNECTIONS = 128


@dataclass(frozen=True)
class NodeSettings:
    key_pair: KeyPair
    psk: bytes | None = field(default=None, repr=False)  # a secret: never in a repr or log
    listen: Sequence[str] = ()
    dht_server: bool = True
    # A dial that takes longer than this on a LAN/loopback is a dead peer.
    dial_timeout: float = 5.0
    dial_retries: int = 1
    # Short-lived clients just drop their sockets: yamux's polite close sleeps
    # 0.1 s per connection, longer than the whole request took.
    graceful_close: bool = True
    # Concurrent inbound connections; one over it is refused (docs/deploy.md, "Limits").
    max_inbound_connections: int = DEFAULT_MAX_INBOUND_CONNECTIONS
    # Streams open at once on one inbound connection; one more is refused.
    max_streams_per_connection: int = DEFAULT_MAX_STREAMS_PER_CONNECTION
    on_inbound_refused: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)
    # The addresses others are told (identify, provider records) instead of the listening
    # ones: a port forward, or a relay in front (go-libp2p's AddrsFactory). Empty: ours.
    announce: Sequence[str] = ()


@dataclass
class Libp2pNode:
    host: IHost
    dht: ServerModeKadDHT
    rendezvous: DhtRendezvous

    @property
    def peer_id(self) -> ID:
        return self.host.get_id()

    def figures(self) -> dict[str, int]:
        """What this node holds for others now (a long-lived daemon's must stay bounded)."""
        network: Any = self.host.get_network()
        slots = inbound_slots_of(network)
        streams = stream_slots_of(self.host)
        return {
            "connections": sum(len(c) for c in network.connections.values()),
            "inbound_connections": slots.open if slots else 0,
            "refused_connections": slots.refused if slots else 0,
            "refused_streams": streams.refused if streams else 0,
            "peerstore_peers": len(self.host.get_peerstore().peer_ids()),
            "routing_table_peers": self.dht.routing_table.size(),
        }

    def full_addrs(self) -> list[str]:
        """Dialable addresses with our peer id."""
        out = []
        for addr in self.host.get_addrs():
            text = str(addr)
            if "/p2p/" not in text:
                text = f"{text}/p2p/{self.peer_id}"
            out.append(text)
        return out


def _security_options(key_pair: KeyPair) -> dict:
    # Noise only: it is what go- and js-libp2p negotiate by default, and
    # py-libp2p's other defaults (plaintext, secio) would let a peer skip
    # authentication entirely.
    noise_key = create_new_x25519_key_pair().private_key
    return {NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=noise_key)}


def build_host(settings: NodeSettings) -> IHost:
    transports = None
    if settings.psk is not None:
        from adapters.libp2p.pnet import PskTcpTransport

        transports = [PskTcpTransport(settings.psk)]
    connection_config = ConnectionConfig(
        # >1 adds a ~250 ms "happy eyeballs" wait to every successful dial.
        max_connections_per_peer=1,
        # py-libp2p refuses any connection past max_connections in add_conn, and prunes
        # toward low_watermark past high_watermark: neither may undercut our own limit.
        max_connections=settings.max_inbound_connections + OUTBOUND_CONNECTIONS,
        high_watermark=settings.max_inbound_connections + OUTBOUND_CONNECTIONS,
        min_connections=0,
        low_watermark=0,
        dial_timeout=settings.dial_timeout,
        outbound_upgrade_timeout=settings.dial_timeout,
        inbound_upgrade_timeout=settings.dial_timeout,
    )
    host = new_host(
        key_pair=settings.key_pair,
        sec_opt=_security_options(settings.key_pair),
        listen_addrs=[multiaddr.Multiaddr(a) for a in settings.listen] or None,
        transports=transports,
        connection_config=connection_config,
        negotiate_timeout=int(max(1, settings.dial_timeout)),
        addrs_factory=_announced(settings.announce) if settings.announce else expand_wildcards,
    )
    network: Any = host.get_network()  # the Swarm; its interface omits retry_config
    network.retry_config = RetryConfig(
        max_retries=settings.dial_retries, initial_delay=0.1, max_delay=1.0
    )
    upstream.apply(
        host,
        max_inbound_connections=settings.max_inbound_connections,
        max_streams_per_connection=settings.max_streams_per_connection,
        on_inbound_refused=settings.on_inbound_refused,
        outbound_connections=OUTBOUND_CONNECTIONS,
    )
    return host


def _announced(
    announce: Sequence[str],
) -> Callable[[list[multiaddr.Multiaddr]], list[multiaddr.Multiaddr]]:
    fixed = [multiaddr.Multiaddr(a) for a in announce]
    return lambda _listening: list(fixed)


@asynccontextmanager
async def running_node(settings: NodeSettings) -> AsyncIterator[Libp2pNode]:
    host = build_host(settings)
    listen = [multiaddr.Multiaddr(a) for a in settings.listen]
    async with host.run(listen_addrs=listen):
        try:
            dht = ServerModeKadDHT(
                host, DHTMode.SERVER if settings.dht_server else DHTMode.CLIENT
            )
            async with background_trio_service(dht):
                yield Libp2pNode(host=host, dht=dht, rendezvous=DhtRendezvous(dht))
        finally:
            # host.run() leaves connections open until garbage collection: the
            # peer then keeps a dead connection it will query and hang on. Close
            # them deterministically, but never let shutdown hang.
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                if settings.graceful_close:
                    await host.close()
                else:
                    await _drop_connections(host)


async def _drop_connections(host: IHost) -> None:
    for connections in list(host.get_network().connections.values()):
        for connection in list(connections):
            secured = getattr(getattr(connection, "muxed_conn", None), "secured_conn", None)
            if secured is not None:
                with contextlib.suppress(Exception):
                    await secured.close()


def forget_departed_peers(node: Libp2pNode, keep: Sequence[BootstrapAddress]) -> PeerJanitor:
    """A janitor (run it) that forgets peers gone for GRACE seconds, except ``keep``."""
    kept = [address.peer_id for address in keep]
    return PeerJanitor(node.host, node.dht.routing_table.peer_in_table, kept=lambda: kept)


def peer_info_of(address: BootstrapAddress) -> PeerInfo:
    return PeerInfo(ID.from_base58(address.peer_id), [multiaddr.Multiaddr(address.transport)])


async def connect_peer(node: Libp2pNode, address: BootstrapAddress, timeout: float) -> None:
    """Connect and put the peer in the DHT routing table (py-libp2p doesn't do that)."""
    with trio.fail_after(timeout):
        info = PeerInfo(ID.from_base58(address.peer_id), await dialable_addrs(address.transport))
        await node.host.connect(info)
    await node.dht.add_known_server(info.peer_id)


async def connect_bootstraps(
    node: Libp2pNode, bootstraps: Sequence[BootstrapAddress], timeout: float
) -> dict[BootstrapAddress, BaseException]:
    """Connect to all bootstraps at once; return the failures by address."""
    failures: dict[BootstrapAddress, BaseException] = {}

    async def one(address: BootstrapAddress) -> None:
        try:
            await connect_peer(node, address, timeout)
        except trio.TooSlowError as exc:
            failures[address] = TimeoutError(f"no answer within {timeout:g} s")
            failures[address].__cause__ = exc
        except Exception as exc:
            failures[address] = exc

    async with trio.open_nursery() as nursery:
        for address in bootstraps:
            if address.peer_id != str(node.peer_id):
                nursery.start_soon(one, address)
    return failures
