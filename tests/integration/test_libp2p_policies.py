"""The libp2p choices README lists under "Choices and fixes", each against real hosts.

- Noise only: a peer that offers only plaintext or secio is refused by the daemon.
- No auto-dialer: our host does not dial peers from its peerstore on its own, while
  the same host with py-libp2p's AutoConnector left on does (the control).
- One connection per peer: repeated and concurrent client calls share one connection.
"""

from __future__ import annotations

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.secio.transport import ID as SECIO_PROTOCOL_ID
from libp2p.security.secio.transport import Transport as SecioTransport

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, _security_options, build_host, running_node
from adapters.libp2p.pnet import PskTcpTransport
from domain import parse_bootstrap, psk_from_passphrase
from entrypoints import library

LOOPBACK = "/ip4/127.0.0.1/tcp/0"


def _offering(protocol: str, key_pair: KeyPair) -> dict:
    if protocol == "plaintext":
        return {PLAINTEXT_PROTOCOL_ID: InsecureTransport(key_pair)}
    if protocol == "secio":
        return {SECIO_PROTOCOL_ID: SecioTransport(key_pair)}
    return _security_options(key_pair)  # noise, as our own nodes offer it


async def _dial_with_only(protocol: str, psk: bytes, address: str) -> BaseException | None:
    """Dial ``address`` from a host whose only security protocol is ``protocol``.

    The private-network layer is the daemon's own (same passphrase), so only the
    security negotiation can make the difference.
    """
    key_pair = ephemeral_identity()
    host = new_host(key_pair=key_pair, sec_opt=_offering(protocol, key_pair),
                    transports=[PskTcpTransport(psk)])
    target = parse_bootstrap(address)
    info = PeerInfo(ID.from_base58(target.peer_id), [multiaddr.Multiaddr(target.transport)])
    async with host.run(listen_addrs=[]):
        try:
            with trio.fail_after(15):
                await host.connect(info)
        except Exception as exc:
            return exc
        finally:
            await host.close()
    return None


def _chain(exc: BaseException) -> str:
    parts = []
    seen: set[int] = set()
    todo = [exc]
    while todo:
        err = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        parts.append(f"{type(err).__name__}: {err}")
        todo += [e for e in (err.__cause__, err.__context__) if e is not None]
        todo += list(getattr(err, "exceptions", ()))
    return " | ".join(parts)


@pytest.mark.parametrize("protocol", ["plaintext", "secio"])
def test_a_peer_offering_only_plaintext_or_secio_is_refused(registry, protocol):
    psk = psk_from_passphrase(registry.passphrase)
    # Control: the same construction offering Noise connects, so a refusal below is
    # the security protocol's doing, not the test host's.
    assert trio.run(_dial_with_only, "noise", psk, registry.addrs[0]) is None

    refused = trio.run(_dial_with_only, protocol, psk, registry.addrs[0])
    assert refused is not None, f"the daemon accepted a {protocol}-only peer"
    # Refused at the security negotiation (multistream-select found no common protocol).
    assert "failed to negotiate the secure protocol" in _chain(refused), _chain(refused)
    assert registry.alive()
    assert registry.cli("list").returncode == 0


async def _dials_from_peerstore(auto_connector_on: bool, wait: float) -> bool:
    """Does a host built by build_host dial a peer it only knows from its peerstore?"""
    psk = psk_from_passphrase("auto-dialer test")
    target_settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk, listen=[LOOPBACK],
                                   dht_server=False)
    async with running_node(target_settings) as target:
        host = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=psk))
        network = host.get_network()
        if auto_connector_on:  # undo our switch-off: py-libp2p's own method again
            connector = network.auto_connector  # type: ignore[attr-defined]
            connector.maybe_connect = type(connector).maybe_connect.__get__(connector)
        host.get_peerstore().add_addrs(target.peer_id, target.host.get_addrs(), 3600)
        async with host.run(listen_addrs=[multiaddr.Multiaddr(LOOPBACK)]):
            try:
                with trio.move_on_after(wait):
                    while host.get_id() not in target.host.get_network().connections:
                        await trio.sleep(0.1)
                    return True
                return False
            finally:
                await host.close()


def test_an_idle_host_does_not_dial_peers_from_its_peerstore():
    # py-libp2p's AutoConnector runs once at start, then every 10 s while below its
    # minimum: 25 s covers the start and two more rounds.
    assert trio.run(_dials_from_peerstore, True, 25.0), "control: AutoConnector never dialled"
    assert not trio.run(_dials_from_peerstore, False, 25.0), "our host dialled on its own"


def test_repeated_and_concurrent_client_calls_share_one_connection(registry):
    psk = psk_from_passphrase(registry.passphrase)
    daemon = ID.from_base58(parse_bootstrap(registry.addrs[0]).peer_id)

    async def main() -> set[int]:
        seen: set[int] = set()
        async with library.registry_client(registry.addrs, psk) as client:
            network = client._host.get_network()

            async def one() -> None:
                await client.request("/list/0.1", b"")
                connections = network.connections.get(daemon, [])
                assert len(connections) == 1, connections
                seen.add(id(connections[0]))

            for _ in range(5):
                await one()
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(one)
        return seen

    assert len(trio.run(main)) == 1  # the very same connection every time
