"""announce_instance: keep a running service instance findable (re-exported by
entrypoints.library).

- ``async with announce_instance_with_host_routing(host, routing, name) as announced:``
  advertises the record's ContentHash from the caller's host, serves libp2p ping, and
  follows the record through `/watch/0.1`: a new ContentHash is advertised within the
  watch's latency; when the record is deleted advertising stops,
  ``await announced.wait_deleted()`` returns the RecordDeleted and ``on_change`` is
  called (with ``announced.deleted`` set).
- ``announce_instance(bootstraps, psk, name, listen=..., announce=...)`` does the same
  from a node of its own that listens on ``listen``.
- ``announce_instance_blocking(...)`` runs until the record is deleted (returns the
  RecordDeleted) or the caller interrupts it.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import KadDHT

from adapters.libp2p.identity import ephemeral_identity, read_identity
from adapters.libp2p.instance_routing import ANNOUNCE_INTERVAL, SwitchingAdvertiser
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.pinger import serve_ping
from adapters.libp2p.rendezvous import DhtRendezvous
from application.announce import Announcement, RecordDeleted, follow_record
from application.ports import RegistryUnavailable
from domain.bootstrap import parse_bootstraps
from domain.psk import check_psk
from domain.service_info import ServiceInfo
from entrypoints.common.errors import single_error
from entrypoints.library.client_node import BOOTSTRAP_TIMEOUT, Routing, _client_for
from entrypoints.library.watch import WatchEvents, watch_request

Bootstraps = Sequence[Any]
DEFAULT_LISTEN = ("/ip4/0.0.0.0/tcp/0",)
# How long entering the context waits for the first advertisement to be tried.
FIRST_ADVERTISEMENT_TIMEOUT = 10.0


@dataclass(frozen=True)
class _HostRouting:
    """A caller's host and DHT, as advertise_forever wants them."""

    host: IHost
    dht: KadDHT
    rendezvous: DhtRendezvous


class AnnouncedInstance:
    """A running announcement: what is advertised now, and how to learn of its end."""

    def __init__(self, host: IHost, announcement: Announcement) -> None:
        self._host = host
        self._announcement = announcement
        self._ended = trio.Event()

    @property
    def name(self) -> str:
        return self._announcement.name

    @property
    def info(self) -> ServiceInfo | None:
        """The record now announced (None once it was deleted)."""
        return self._announcement.info

    @property
    def content_hash(self) -> str | None:
        return self._announcement.content_hash

    @property
    def revision(self) -> int:
        return self._announcement.revision

    @property
    def deleted(self) -> RecordDeleted | None:
        return self._announcement.deleted

    @property
    def peer_id(self) -> str:
        return str(self._host.get_id())

    @property
    def addrs(self) -> list[str]:
        """The addresses others dial (with /p2p/<peer id>)."""
        me = self.peer_id
        return [a if "/p2p/" in a else f"{a}/p2p/{me}" for a in map(str, self._host.get_addrs())]

    async def wait_deleted(self) -> RecordDeleted:
        await self._ended.wait()
        assert self._announcement.deleted is not None
        return self._announcement.deleted


@asynccontextmanager
async def announce_instance_with_host_routing(
    host: IHost,
    routing: Routing,
    name: str,
    *,
    interval: float = ANNOUNCE_INTERVAL,
    on_change: Callable[[AnnouncedInstance], None] | None = None,
) -> AsyncIterator[AnnouncedInstance]:
    """Advertise ``name``'s ContentHash from ``host`` while the block runs (see module)."""
    rendezvous = routing if isinstance(routing, DhtRendezvous) else DhtRendezvous(routing)
    serve_ping(host)
    client = _client_for(host, rendezvous)
    advertiser = SwitchingAdvertiser(_HostRouting(host, rendezvous.dht, rendezvous), interval)
    announcement = Announcement(name)
    announced = AnnouncedInstance(host, announcement)
    synced = trio.Event()

    def changed(_: Announcement) -> None:
        synced.set()
        if announcement.deleted is not None:
            announced._ended.set()
        if on_change is not None:
            on_change(announced)

    async def follow() -> None:
        events = WatchEvents(client, watch_request([name], None, None))
        try:
            await follow_record(announcement, events, advertiser, on_change=changed)
        finally:
            await events.aclose()

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(advertiser.run)
            nursery.start_soon(follow)
            await synced.wait()  # the record was found (or follow raised)
            if announcement.content_hash is not None:
                with trio.move_on_after(FIRST_ADVERTISEMENT_TIMEOUT):
                    await advertiser.wait_advertised(announcement.content_hash)
            yield announced
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise single_error(group) from None


@asynccontextmanager
async def announce_instance(
    bootstraps: Bootstraps,
    psk: bytes | None,
    name: str,
    *,
    listen: Sequence[str] = DEFAULT_LISTEN,
    announce: Sequence[str] = (),
    keyfile: str | Path | None = None,
    interval: float = ANNOUNCE_INTERVAL,
    on_change: Callable[[AnnouncedInstance], None] | None = None,
) -> AsyncIterator[AnnouncedInstance]:
    """Announce from a node of our own listening on ``listen`` (announcing ``announce``
    instead, when given: a port forward or a relay in front), connected to every bootstrap
    that answers; ``keyfile`` keeps its peer id across restarts."""
    addresses = parse_bootstraps([str(b) for b in bootstraps])
    settings = NodeSettings(
        key_pair=ephemeral_identity() if keyfile is None else read_identity(keyfile),
        psk=check_psk(psk) if psk is not None else None,
        listen=list(listen),
        announce=list(announce),
        dht_server=False,
    )
    try:
        async with running_node(settings) as node:
            failures = await connect_bootstraps(node, addresses, BOOTSTRAP_TIMEOUT)
            if addresses and len(failures) == len(addresses):
                detail = "; ".join(f"{a}: {e}" for a, e in failures.items())
                raise RegistryUnavailable(f"could not connect to any bootstrap peer ({detail})")
            async with announce_instance_with_host_routing(
                node.host, node.rendezvous, name, interval=interval, on_change=on_change
            ) as announced:
                yield announced
    except BaseExceptionGroup as group:
        raise single_error(group) from None


async def _until_deleted(bootstraps: Bootstraps, psk: bytes | None, name: str,
                         **options: Any) -> RecordDeleted:
    async with announce_instance(bootstraps, psk, name, **options) as announced:
        return await announced.wait_deleted()


def announce_instance_blocking(
    bootstraps: Bootstraps, psk: bytes | None, name: str, **options: Any
) -> RecordDeleted:
    """Announce until the record is deleted (returns the RecordDeleted); Ctrl-C stops."""
    return trio.run(functools.partial(_until_deleted, bootstraps, psk, name, **options))
