"""`registry-cli status` asks every instance it can reach over /status/0.1, so that each
member's raft index and db size come from that member's own instance (docs/deploy.md)."""

from __future__ import annotations

import contextlib
import warnings
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


LOOKUP_RETRY = 0.5


class MissingFiguresWarning(UserWarning):
    """Some members' raft index and db size are unknown ('-'); the message says why."""


async def cluster_status(client: Libp2pRegistryClient, bootstraps: Sequence[str]) -> InstanceStatus:
    failures: dict[str, str] = {}

    async def others(first: InstanceStatus) -> list[InstanceStatus]:
        peers = {str(p.peer_id): p for p in map(peer_info_of, parse_bootstraps(list(bootstraps)))}
        # Not every instance among the bootstraps: the DHT names the others. Looked up again
        # for a moment if some are missing: an instance that just restarted holds nobody's
        # record until the others advertise to it again (within a second or two).
        with trio.move_on_after(LOOKUP_TIMEOUT):
            while len(peers.keys() - {first.peer_id}) < len(first.members) - 1:
                with contextlib.suppress(Exception):
                    for found in await client.rendezvous.find_peers(REGISTRY_RENDEZVOUS):
                        peers.setdefault(str(found.peer_id), found)
                if len(peers.keys() - {first.peer_id}) < len(first.members) - 1:
                    await trio.sleep(LOOKUP_RETRY)
        peers.pop(first.peer_id, None)
        return await _answers(client, list(peers.values()), failures)

    status = await every_members_status(client, others)
    _warn_of_missing_figures(status, failures)
    return status


async def _answers(
    client: Libp2pRegistryClient, peers: list[PeerInfo], failures: dict[str, str]
) -> list[InstanceStatus]:
    answers: list[InstanceStatus] = []

    async def ask(peer: PeerInfo) -> None:
        # Down, or too old to speak /status/0.1: its member's figures stay unknown.
        try:
            with trio.fail_after(ANSWER_TIMEOUT):
                answers.append(await remote_status(client.aimed_at(peer)))
        except trio.TooSlowError:
            failures[str(peer.peer_id)] = f"no answer within {ANSWER_TIMEOUT:g} s"
        except Exception as exc:
            failures[str(peer.peer_id)] = str(exc).splitlines()[0][:300] or type(exc).__name__

    async with trio.open_nursery() as nursery:
        for peer in peers:
            nursery.start_soon(ask, peer)
    return answers


def _warn_of_missing_figures(status: InstanceStatus, failures: dict[str, str]) -> None:
    """One warning naming the members shown with '-', and why."""
    missing = [m.name for m in status.members
               if m.name and m.name != status.member and m.raft_index is None]
    if not missing:
        return
    reasons = [f"instance {peer}: {reason}" for peer, reason in failures.items()]
    if len(missing) > len(failures):
        reasons.append(
            "not every instance was found: not among the bootstraps, and not in the DHT "
            f"within {LOOKUP_TIMEOUT:g} s (down, or just restarted); give its address as "
            "--bootstrap"
        )
    warnings.warn(
        f"no raft index and db size for {', '.join(missing)} ({'; '.join(reasons)})",
        MissingFiguresWarning, stacklevel=2,
    )
