"""The other registry-services as a new etcd member sees them: round trips (libp2p ping,
``/ipfs/ping/1.0.0``, which every py-libp2p and js-libp2p host answers) and the etcd timing
each reports in ``/status/0.1``. Bounded in time: what a peer answered by then counts
(on a slow, lossy link that may be a few pings of the 10), whoever answered nothing is
left out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import trio
from libp2p.host.ping import ID as PING_PROTOCOL
from libp2p.host.ping import perform_ping_roundtrip
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.node import Libp2pNode, peer_info_of
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application.cluster.etcd_timing import PeerTiming
from application.status import remote_status
from domain.bootstrap import BootstrapAddress
from domain.etcd_timing import EtcdTiming
from domain.rendezvous import REGISTRY_RENDEZVOUS

log = logging.getLogger("registry-service")

PINGS = 10  # per peer, one after another on one stream
LOOKUP_TIMEOUT = 3.0
PEER_TIMEOUT = 10.0  # 10 pings at 300 ms and a status answer fit well; at 500 ms, some
# The whole survey: a join may wait for its measurement; a restart, which only asks
# what the others run, must not hold up an instance whose peers are all down.
SURVEY_BOUND = {True: 15.0, False: 4.0}


class Libp2pTimingSurvey:
    def __init__(self, node: Libp2pNode, bootstraps: Sequence[BootstrapAddress]) -> None:
        self._node = node
        self._bootstraps = bootstraps

    async def survey(self, *, measure: bool) -> list[PeerTiming]:
        found: list[PeerTiming] = []

        async def one(peer: PeerInfo) -> None:
            answer = _Answer()
            with trio.move_on_after(PEER_TIMEOUT):
                await self._ask(peer, answer, measure=measure)
            if answer.timing is not None or answer.round_trips_ms:
                found.append(PeerTiming(str(peer.peer_id), list(answer.round_trips_ms),
                                        answer.timing))

        with trio.move_on_after(SURVEY_BOUND[measure]):
            peers = await self._instances()
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(one, peer)
        return list(found)

    async def _instances(self) -> list[PeerInfo]:
        """The bootstraps, and the providers of the registry the DHT names."""
        own = self._node.peer_id
        peers: dict[ID, PeerInfo] = {}
        for address in self._bootstraps:
            info = peer_info_of(address)
            peers.setdefault(info.peer_id, info)
        # A first member at its start (no bootstraps, no connections) has nobody to find;
        # later, the instances that joined it are connected.
        if peers or self._node.host.get_network().connections:
            with trio.move_on_after(LOOKUP_TIMEOUT), contextlib.suppress(Exception):
                for info in await self._node.rendezvous.find_peers(REGISTRY_RENDEZVOUS):
                    peers.setdefault(info.peer_id, info)
        peers.pop(own, None)
        return list(peers.values())

    async def _ask(self, peer: PeerInfo, answer: _Answer, *, measure: bool) -> None:
        """Fill ``answer`` as the peer answers: its status and its pings side by side, on
        one connection."""
        try:
            await self._node.host.connect(peer)
        except Exception as exc:
            log.info("etcd timing: could not reach %s: %r", peer.peer_id, exc)
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._status, peer, answer)
            if measure:
                nursery.start_soon(self._ping, peer, answer)

    async def _status(self, peer: PeerInfo, answer: _Answer) -> None:
        client = Libp2pRegistryClient(self._node.host, self._node.rendezvous,
                                      request_timeout=PEER_TIMEOUT).aimed_at(peer)
        try:
            answer.timing = (await remote_status(client)).etcd_timing
        except Exception as exc:  # an older instance, a Go one, or one that went away
            log.debug("etcd timing: no status from %s: %r", peer.peer_id, exc)

    async def _ping(self, peer: PeerInfo, answer: _Answer) -> None:
        """PINGS pings on one stream, each kept as it comes back."""
        try:
            stream = await self._node.host.new_stream(peer.peer_id, [PING_PROTOCOL])
        except Exception as exc:
            log.info("etcd timing: could not ping %s: %r", peer.peer_id, exc)
            return
        try:
            for _ in range(PINGS):
                answer.round_trips_ms.append(float(await perform_ping_roundtrip(stream)))
            await stream.close()
        except Exception as exc:
            log.info("etcd timing: ping of %s ended after %d: %r", peer.peer_id,
                     len(answer.round_trips_ms), exc)
        finally:
            if len(answer.round_trips_ms) < PINGS:  # cut short: nobody reads it any more
                with trio.CancelScope(shield=True), trio.move_on_after(1):
                    await stream.reset()


class _Answer:
    """What one peer has answered so far."""

    def __init__(self) -> None:
        self.timing: EtcdTiming | None = None
        self.round_trips_ms: list[float] = []
