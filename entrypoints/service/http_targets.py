"""The other instances' status over `/status/0.1`, for Prometheus service discovery."""

from __future__ import annotations

import contextlib

import trio

from adapters.libp2p.node import Libp2pNode
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application.status import remote_status
from domain.instance_status import InstanceStatus
from domain.rendezvous import REGISTRY_RENDEZVOUS

LOOKUP_TIMEOUT = 3.0
ANSWER_TIMEOUT = 3.0  # a stopped instance costs at most this, and is left out


async def other_instances(node: Libp2pNode, first: InstanceStatus) -> list[InstanceStatus]:
    """Every other registry-service the DHT names, as each answers for itself."""
    client = Libp2pRegistryClient(node.host, node.rendezvous, request_timeout=ANSWER_TIMEOUT)
    peers = {}
    with trio.move_on_after(LOOKUP_TIMEOUT):
        for found in await node.rendezvous.find_peers(REGISTRY_RENDEZVOUS):
            peers[str(found.peer_id)] = found
    peers.pop(first.peer_id, None)
    answers: list[InstanceStatus] = []

    async def ask(peer: object) -> None:
        with trio.move_on_after(ANSWER_TIMEOUT), contextlib.suppress(Exception):
            answers.append(await remote_status(client.aimed_at(peer)))  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        for peer in peers.values():
            nursery.start_soon(ask, peer)
    return answers
