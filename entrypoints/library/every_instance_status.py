"""`registry-cli status` asks every instance it can reach over /status/0.1, so that each
member's raft index and db size come from that member's own instance (docs/deploy.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import trio
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.node import peer_info_of
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application.status import every_members_status, remote_status
from domain.bootstrap import parse_bootstraps
from domain.instance_status import InstanceStatus
from domain.rendezvous import REGISTRY_RENDEZVOUS

ANSWER_TIMEOUT = 5.0  # a stopped instance costs at most this; its member then shows '-'
LOOKUP_TIMEOUT = 3.0


async def cluster_status(client: Libp2pRegistryClient, bootstraps: Sequence[str]) -> InstanceStatus:
    async def others(first: InstanceStatus) -> list[InstanceStatus]:
        peers = {str(p.peer_id): p for p in map(peer_info_of, parse_bootstraps(list(bootstraps)))}
        if len(peers.keys() - {first.peer_id}) < len(first.members) - 1:
            # Not every instance among the bootstraps: the DHT names the others.
            with trio.move_on_after(LOOKUP_TIMEOUT):
                for found in await client.rendezvous.find_peers(REGISTRY_RENDEZVOUS):
                    peers.setdefault(str(found.peer_id), found)
        peers.pop(first.peer_id, None)
        return await _answers(client, list(peers.values()))

    return await every_members_status(client, others)


async def _answers(client: Libp2pRegistryClient, peers: list[PeerInfo]) -> list[InstanceStatus]:
    answers: list[InstanceStatus] = []

    async def ask(peer: PeerInfo) -> None:
        # Down, or too old to speak /status/0.1: its member's figures stay unknown.
        with trio.move_on_after(ANSWER_TIMEOUT), contextlib.suppress(Exception):
            answers.append(await remote_status(client.aimed_at(peer)))

    async with trio.open_nursery() as nursery:
        for peer in peers:
            nursery.start_soon(ask, peer)
    return answers
