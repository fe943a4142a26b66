"""A registry-service's libp2p side: its identity, its node, its bootstraps, and what runs
beside the node (advertising, reconnecting bootstraps, forgetting departed peers).

The daemon (entrypoints/service/daemon.py) gets one from its container and drives it in
order; every libp2p type and helper it needs is named here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
from libp2p.crypto.keys import KeyPair
from libp2p.custom_types import TProtocol

from adapters.libp2p.advertiser import advertise_forever
from adapters.libp2p.deadline_transport import DeadlineTransport
from adapters.libp2p.dial_failure import DIAL_FAILURES
from adapters.libp2p.identity import KeyAlgorithm, ephemeral_identity, load_or_create_identity
from adapters.libp2p.identity_conflict import peer_id_in_use_at, peer_id_in_use_by_provider
from adapters.libp2p.key_file_location import choose_key_file
from adapters.libp2p.node import (
    Libp2pNode,
    NodeSettings,
    connect_bootstraps,
    connect_peer,
    forget_departed_peers,
    peer_info_of,
    running_node,
)
from adapters.libp2p.registry_client import Libp2pRegistryClient
from adapters.libp2p.timing_survey import Libp2pTimingSurvey
from application.status import remote_status
from domain.bootstrap import BootstrapAddress
from domain.instance_status import InstanceStatus
from domain.rendezvous import REGISTRY_RENDEZVOUS

log = logging.getLogger("registry-service")

BOOTSTRAP_TIMEOUT = 5.0
BOOTSTRAP_RETRY_MAX = 60.0
STATUS_LOOKUP_TIMEOUT = 3.0
STATUS_ANSWER_TIMEOUT = 3.0  # a stopped instance costs at most this, and is left out


class PeerIdInUse(Exception):
    """Another running instance has our peer id (``where``: its address or record)."""

    def __init__(self, peer_id: str, where: object) -> None:
        super().__init__(f"peer id {peer_id} is in use at {where}")
        self.peer_id = peer_id
        self.where = where


@dataclass
class DaemonNetwork:
    psk: bytes | None = field(repr=False)  # a secret: never in a repr or log
    listen: Sequence[str]
    bootstraps: Sequence[BootstrapAddress]  # [] with --local
    max_inbound_connections: int
    max_streams_per_connection: int
    advertise_interval: float

    def identity(
        self, *, algo: str, bits: int, ephemeral: bool, keyfile: str | None,
        data_dir: Path, ran_before: bool,
    ) -> tuple[KeyPair, Path | None]:
        """The key pair, and the file it came from (None: ephemeral)."""
        algorithm = KeyAlgorithm.parse(algo)
        if ephemeral:
            return ephemeral_identity(algorithm, bits), None
        path = choose_key_file(keyfile, data_dir, ran_before=ran_before)
        return load_or_create_identity(str(path), algorithm, bits), path

    @asynccontextmanager
    async def node(self, key_pair: KeyPair) -> AsyncIterator[Libp2pNode]:
        settings = NodeSettings(
            key_pair=key_pair, psk=self.psk, listen=self.listen, dht_server=True,
            max_inbound_connections=self.max_inbound_connections,
            max_streams_per_connection=self.max_streams_per_connection,
        )
        async with running_node(settings) as node:
            yield node

    async def refuse_a_twin_at_the_bootstraps(self, node: Libp2pNode) -> None:
        taken = await peer_id_in_use_at(node, self.bootstraps)
        if taken is not None:
            raise PeerIdInUse(str(node.peer_id), taken)

    async def connect_bootstraps(self, node: Libp2pNode) -> None:
        """Dial every bootstrap once; those that fail are logged and retried later."""
        if not self.bootstraps:
            return
        failures = await connect_bootstraps(node, self.bootstraps, timeout=BOOTSTRAP_TIMEOUT)
        for address, exc in failures.items():
            log.warning("bootstrap %s unreachable for now: %s", address,
                        DIAL_FAILURES.describe(address.peer_id, exc))
        taken = await peer_id_in_use_by_provider(node, REGISTRY_RENDEZVOUS)
        if taken is not None:
            raise PeerIdInUse(str(node.peer_id), taken)

    def join_transport(
        self, node: Libp2pNode, *, deadline: float, **client_options: Any
    ) -> DeadlineTransport:
        """A client for the member-add requests of a join, cut off at ``deadline``."""
        # Bootstraps that serve the registry are asked first, over the connection we have.
        preferred = [peer_info_of(b) for b in self.bootstraps if b.peer_id != str(node.peer_id)]
        client = Libp2pRegistryClient(
            node.host, node.rendezvous, preferred=preferred, attempts=1, **client_options
        )
        return DeadlineTransport(client, deadline)

    def timing_survey(self, node: Libp2pNode) -> Libp2pTimingSurvey:
        """The other instances' round trips and etcd timing, for our member's timing."""
        return Libp2pTimingSurvey(node, self.bootstraps)

    def run_beside(self, node: Libp2pNode, nursery: trio.Nursery) -> None:
        """Advertising, reconnecting bootstraps and forgetting departed peers, until cancelled."""
        nursery.start_soon(
            advertise_forever, node, REGISTRY_RENDEZVOUS, self.advertise_interval
        )
        nursery.start_soon(self._keep_bootstraps_connected, node)
        nursery.start_soon(forget_departed_peers(node, self.bootstraps).run)

    async def other_instances(
        self, node: Libp2pNode, first: InstanceStatus
    ) -> list[InstanceStatus]:
        """Every other registry-service the DHT names, as each answers ``/status/0.1`` for
        itself (Prometheus service discovery over HTTP); a silent one is left out."""
        client = Libp2pRegistryClient(
            node.host, node.rendezvous, request_timeout=STATUS_ANSWER_TIMEOUT
        )
        peers = {}
        with trio.move_on_after(STATUS_LOOKUP_TIMEOUT):
            for found in await node.rendezvous.find_peers(REGISTRY_RENDEZVOUS):
                peers[str(found.peer_id)] = found
        peers.pop(first.peer_id, None)
        answers: list[InstanceStatus] = []

        async def ask(peer: object) -> None:
            with trio.move_on_after(STATUS_ANSWER_TIMEOUT), contextlib.suppress(Exception):
                answers.append(await remote_status(client.aimed_at(peer)))  # type: ignore[arg-type]

        async with trio.open_nursery() as nursery:
            for peer in peers.values():
                nursery.start_soon(ask, peer)
        return answers

    @staticmethod
    def remove_handlers(node: Libp2pNode, protocol_ids: Sequence[str]) -> None:
        for protocol_id in protocol_ids:
            try:
                node.host.remove_stream_handler(TProtocol(protocol_id))
            except Exception as exc:  # never let this stop etcd from being stopped
                log.debug("removing the %s handler: %r", protocol_id, exc)

    async def _keep_bootstraps_connected(self, node: Libp2pNode) -> None:
        bootstraps = self.bootstraps
        delay = {b: 1.0 for b in bootstraps}
        while bootstraps:
            connected = node.host.get_network().connections
            for address in bootstraps:
                if address.peer_id == str(node.peer_id) or any(
                    str(peer) == address.peer_id for peer in connected
                ):
                    continue
                try:
                    await connect_peer(node, address, timeout=BOOTSTRAP_TIMEOUT)
                    log.info("connected to bootstrap %s", address)
                    delay[address] = 1.0
                    await node.rendezvous.advertise(REGISTRY_RENDEZVOUS)
                except Exception as exc:
                    log.debug("bootstrap %s still unreachable: %s", address, exc)
                    delay[address] = min(delay[address] * 2, BOOTSTRAP_RETRY_MAX)
            await trio.sleep(min(delay.values()))
