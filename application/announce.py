"""Announce: keep a running instance findable under its record's ContentHash.

The instance advertises the record's ContentHash as a rendezvous string (what
PhysarumSM's proxies do with go-libp2p's RoutingDiscovery). It follows the record
through a `/watch/0.1` stream of that one name, so a new ContentHash moves the
advertisement within the watch's latency, and a delete stops it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from application.client import ServiceNotFound, UnreadableRecord
from domain.service_info import InvalidServiceInfo, ServiceInfo, decode_service_info
from domain.watch_wire import EventType, WatchEvent


class RendezvousAdvertiser(Protocol):
    def advertise(self, rendezvous: str | None) -> None:
        """Advertise ``rendezvous`` from now on, re-advertising before the provider records
        expire (None: stop advertising). Returns at once; the work runs in the background."""
        ...


class RecordDeleted(LookupError):
    """The record announced was deleted from the registry: the announcement stopped."""

    def __init__(self, name: str, revision: int) -> None:
        super().__init__(f"the record {name!r} was deleted (revision {revision}): "
                         "no longer announced")
        self.name = name
        self.revision = revision


class Announcement:
    """What an announcer advertises now; ``changes`` counts the ContentHashes advertised."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.info: ServiceInfo | None = None
        self.revision = 0
        self.changes = 0
        self.deleted: RecordDeleted | None = None

    @property
    def content_hash(self) -> str | None:
        return self.info.content_hash if self.info is not None else None


async def follow_record(
    announcement: Announcement,
    events: AsyncIterator[WatchEvent],
    advertiser: RendezvousAdvertiser,
    *,
    on_change: Callable[[Announcement], None] = lambda _: None,
) -> RecordDeleted:
    """Advertise the record's ContentHash and follow it until the record is deleted.

    ``events`` is a watch of this one name from the current state (PUTs, then SYNCED).
    Raises ServiceNotFound when the record is absent at the start. Returns the
    RecordDeleted once the advertisement stopped.
    """
    name = announcement.name
    current: ServiceInfo | None = None
    synced = False
    async for event in events:
        if event.type is EventType.PUT and event.name == name:
            current = _decoded(name, event.info_str or "")
            announcement.revision = event.revision or announcement.revision
            if synced:
                _apply(announcement, current, advertiser, on_change)
        elif event.type is EventType.DELETE and event.name == name:
            current = None
            announcement.revision = event.revision or announcement.revision
            if synced:
                return _stop(announcement, advertiser, on_change)
        elif event.type is EventType.RESET:
            synced, current = False, None  # the state follows, then SYNCED
        elif event.type is EventType.SYNCED:
            synced = True
            announcement.revision = max(announcement.revision, event.revision or 0)
            if current is not None:
                _apply(announcement, current, advertiser, on_change)
            elif announcement.info is None:
                raise ServiceNotFound(name)
            else:
                return _stop(announcement, advertiser, on_change)
    raise RuntimeError("the watch of the record ended")  # follow_watch never ends by itself


def _decoded(name: str, info_str: str) -> ServiceInfo:
    try:
        return decode_service_info(info_str)
    except InvalidServiceInfo as exc:
        raise UnreadableRecord(name, str(exc)) from None


def _apply(
    announcement: Announcement,
    info: ServiceInfo,
    advertiser: RendezvousAdvertiser,
    on_change: Callable[[Announcement], None],
) -> None:
    if not info.content_hash:
        raise UnreadableRecord(announcement.name, "it has no ContentHash to advertise")
    moved = info.content_hash != announcement.content_hash
    announcement.info = info
    if moved:
        advertiser.advertise(info.content_hash)
        announcement.changes += 1
        on_change(announcement)


def _stop(
    announcement: Announcement,
    advertiser: RendezvousAdvertiser,
    on_change: Callable[[Announcement], None],
) -> RecordDeleted:
    advertiser.advertise(None)
    announcement.info = None
    announcement.deleted = RecordDeleted(announcement.name, announcement.revision)
    on_change(announcement)
    return announcement.deleted
