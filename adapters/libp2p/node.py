"""A running libp2p node: host, Kademlia DHT, rendezvous, bootstrap connections."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
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

from adapters.libp2p.interfaces import expand_wildcards
from adapters.libp2p.kad import ServerModeKadDHT
from adapters.libp2p.pipelined_multiselect import use_pipelined_multiselect
from adapters.libp2p.rendezvous import DhtRendezvous
from adapters.libp2p.stream_notifications import notify_only_listening_notifees
from adapters.libp2p.yamux_window import use_batched_window_yamux
from domain.bootstrap import BootstrapAddress

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "/ip4/0.0.0.0/tcp/0"
CLOSE_TIMEOUT = 2.0


class BootstrapUnreachable(ConnectionError):
    """None of the bootstrap peers could be connected."""


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


@dataclass
class Libp2pNode:
    host: IHost
    dht: ServerModeKadDHT
    rendezvous: DhtRendezvous

    @property
    def peer_id(self) -> ID:
        return self.host.get_id()

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
        addrs_factory=expand_wildcards,
    )
    network: Any = host.get_network()  # the Swarm; its interface omits retry_config
    network.retry_config = RetryConfig(
        max_retries=settings.dial_retries, initial_delay=0.1, max_delay=1.0
    )
    _disable_auto_dialer(network)
    use_our_libp2p_parts(host, network)
    accept_older_peer_records(host.get_peerstore())
    return host


def use_our_libp2p_parts(host: IHost, network: Any) -> None:
    """Our replacements for parts of py-libp2p, all in one place (benchmarks measure the
    bare stack by leaving this out)."""
    use_batched_window_yamux(network)  # window updates as go-yamux sends them
    use_pipelined_multiselect(host)  # a pipelined request is answered in one write
    notify_only_listening_notifees(network)


def accept_older_peer_records(peerstore: Any) -> None:
    """Count a genuine signed peer record that is older than ours as valid, not forged.

    py-libp2p's ``consume_peer_record`` returns False both for a forged record and for
    a genuine one older than the record it holds, and its DHT reads False as "invalid":
    it logs an error and drops that provider or closer peer from the lookup. Older
    records are normal in a mixed network: js-libp2p re-signs its record when its own
    peer data changes (seen within seconds of start-up), and a py-libp2p DHT server
    relays the one it saw first. We keep the newer record and let the lookup use the peer.
    """
    consume = peerstore.consume_peer_record

    def consume_keeping_the_newest(envelope: Any, ttl: int) -> bool:
        if consume(envelope, ttl):
            return True
        try:
            record = envelope.record()
            held = peerstore.get_peer_record(record.peer_id)
            return bool(
                ID.from_pubkey(envelope.public_key) == record.peer_id
                and held is not None
                and held.record().seq > record.seq
            )
        except Exception:
            return False

    peerstore.consume_peer_record = consume_keeping_the_newest


def _disable_auto_dialer(network: object) -> None:
    """Stop py-libp2p's AutoConnector (a Python-only addition; go-libp2p has none).

    It tops connections up to ~150 by dialling every peer in the peerstore every
    30 s, short-lived CLI clients included: wasted dials and log noise for a
    registry, whose peers are its bootstraps and whoever calls it.
    """
    connector = getattr(network, "auto_connector", None)
    if connector is not None:

        async def no_dials() -> None:
            return None

        connector.maybe_connect = no_dials


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


def peer_info_of(address: BootstrapAddress) -> PeerInfo:
    return PeerInfo(ID.from_base58(address.peer_id), [multiaddr.Multiaddr(address.transport)])


async def connect_peer(node: Libp2pNode, address: BootstrapAddress, timeout: float) -> None:
    """Connect and put the peer in the DHT routing table (py-libp2p doesn't do that)."""
    info = peer_info_of(address)
    with trio.fail_after(timeout):
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
