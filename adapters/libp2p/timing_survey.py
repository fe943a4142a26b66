"""The other registry-services as a new etcd member sees them: round trips (libp2p ping,
``/ipfs/ping/1.0.0``, which every py-libp2p and js-libp2p host answers) and the etcd timing
each reports in ``/status/0.1``. Bounded in time; whoever does not answer is left out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import trio
from libp2p.host.ping import PingService
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
PEER_TIMEOUT = 10.0  # 10 pings at 300 ms and a status answer fit well
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
            with trio.move_on_after(PEER_TIMEOUT):
                found.append(await self._ask(peer, measure=measure))

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

    async def _ask(self, peer: PeerInfo, *, measure: bool) -> PeerTiming:
        timing: EtcdTiming | None = None
        round_trips: list[float] = []
        client = Libp2pRegistryClient(self._node.host, self._node.rendezvous,
                                      request_timeout=PEER_TIMEOUT).aimed_at(peer)
        try:
            timing = (await remote_status(client)).etcd_timing
        except Exception as exc:  # an older instance, a Go one, or one that went away
            log.debug("etcd timing: no status from %s: %r", peer.peer_id, exc)
        if measure:
            try:
                round_trips = [float(rtt) for rtt in
                               await PingService(self._node.host).ping(peer.peer_id, PINGS)]
            except Exception as exc:
                log.info("etcd timing: could not ping %s: %r", peer.peer_id, exc)
        return PeerTiming(str(peer.peer_id), round_trips, timing)
