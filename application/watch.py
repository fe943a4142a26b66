"""Serving `/watch/0.1`: one change feed fanned out to many watchers.

The daemon's in-memory copy of the registry (kept current by one etcd watch)
publishes every change here; each watcher holds only a small subscription with
a bounded queue of shared RecordChange objects, not an etcd watch of its own.
A watcher that asks for older changes (SinceRevision) gets them from the
store's history first, then from its queue, with no gap and no duplicate.

When the instance loses its etcd quorum the feed goes quiet; every watcher is
told so (PROGRESS with CutOff true) and told again when it is back (CutOff false).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from application.first_events import FirstEvents, SharedSnapshot
from application.watch_ports import (
    ChangeHistory,
    FeedUnavailable,
    HistoryCompacted,
    HistoryTooLong,
    RecordState,
)
from domain.record_change import RecordChange
from domain.service_name import validate_service_name
from domain.watch_wire import EventType, WatchEvent, WatchRequest, cut_off_notice

# Per watcher: beyond this many queued changes or bytes the watcher is dropped.
MAX_QUEUED_CHANGES = 1024
MAX_QUEUED_BYTES = 1 << 20
# A watch resuming further back than this many changes gets RESET and the current state
# (shared, docs/protocol.md): a thousand proxies resuming after a restart must not each
# hold their own copy of a bulk update's history.
MAX_REPLAYED_CHANGES = MAX_QUEUED_CHANGES


class WatchClosed(Exception):
    """The server ends this watch; the message goes to the client as an ERROR event."""


class Subscription:
    """One watcher's queue. ``wake`` is called (from the publisher) when there is news."""

    __slots__ = ("_closed", "_floor", "_hub", "_queue", "_queued_bytes", "request", "wake")

    def __init__(self, hub: WatchHub, request: WatchRequest, wake: Callable[[], None]) -> None:
        self._hub = hub
        self.request = request
        self.wake = wake
        # Changes, and cut-off notices in their place among them. A list that ``take``
        # swaps out whole: an empty list holds no block, an empty deque ~0.6 KB, and
        # a daemon keeps one per watcher.
        self._queue: list[RecordChange | WatchEvent] = []
        self._queued_bytes = 0
        self._floor = 0  # changes at or below this revision were delivered otherwise
        self._closed: str | None = None

    @property
    def closed(self) -> str | None:
        """Why the server ended this watch, or None while it runs."""
        return self._closed

    def offer(self, change: RecordChange) -> None:
        if self._closed or change.revision <= self._floor:
            return
        if not self.request.matches(change.name):
            return
        self._queue.append(change)
        self._queued_bytes += change.size
        if len(self._queue) > MAX_QUEUED_CHANGES or self._queued_bytes > MAX_QUEUED_BYTES:
            self._hub.dropped_behind += 1
            self.end(
                f"this watcher fell more than {MAX_QUEUED_CHANGES} changes or "
                f"{MAX_QUEUED_BYTES} bytes behind; reconnect with SinceRevision"
            )
        self.wake()

    def notify(self, notice: WatchEvent) -> None:
        """Queue a notice (not a change) after the changes offered so far."""
        if not self._closed:
            self._queue.append(notice)
            self.wake()

    def skip_through(self, revision: int) -> None:
        """Drop queued changes at or below ``revision`` and ignore later ones like them."""
        self._floor = max(self._floor, revision)
        skipped = 0
        for item in self._queue:
            if (item.revision or 0) > revision:
                break
            self._queued_bytes -= item.size if isinstance(item, RecordChange) else 0
            skipped += 1
        del self._queue[:skipped]

    def take(self) -> list[WatchEvent]:
        """The queued changes as events (may be empty); WatchClosed once ended."""
        if self._closed:
            raise WatchClosed(self._closed)
        changes, self._queue = self._queue, []
        self._queued_bytes = 0
        return [c if isinstance(c, WatchEvent) else change_event(c) for c in changes]

    def progress(self) -> WatchEvent:
        """How far this watcher is: every change up to the feed's revision was offered
        (or, on an instance behind the client's SinceRevision, the client already has it)."""
        return WatchEvent(type=EventType.PROGRESS, revision=max(self._hub.revision, self._floor))

    def end(self, reason: str) -> None:
        if self._closed is None:
            self._closed = reason
            self._queue.clear()
            self._queued_bytes = 0
            self.wake()

    def close(self) -> None:
        self._hub.unsubscribe(self)


class WatchHub:
    """The change feed. The store adapter calls ``loaded``, ``publish`` and ``stopped``."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._state: RecordState = {}
        self._revision = 0
        self._running = False
        self._cut_off = False
        # Snapshots at the current revision by filter, while some watch still sends one.
        self._snapshots: weakref.WeakValueDictionary[
            tuple[str, tuple[str, ...] | None], SharedSnapshot] = weakref.WeakValueDictionary()
        self.dropped_behind = 0  # watchers ended for falling behind, since the start (metrics)

    @property
    def running(self) -> bool:
        """Whether the change feed is up (else subscribe raises FeedUnavailable)."""
        return self._running

    @property
    def cut_off(self) -> bool:
        """Whether this instance has lost its etcd quorum (see set_cut_off)."""
        return self._cut_off

    def set_cut_off(self, cut_off: bool) -> None:
        """The instance lost (True) or regained (False) its quorum; watchers hear of a change.

        A minority member's etcd watch simply delivers nothing while cut off and
        resumes by itself after the heal, so the feed needs no restart for it.
        """
        if cut_off == self._cut_off:
            return
        self._cut_off = cut_off
        for subscriber in self._subscribers:
            subscriber.notify(cut_off_notice(self._revision, cut_off))

    @property
    def revision(self) -> int:
        """The revision through which every change has been published."""
        return self._revision

    @property
    def watchers(self) -> int:
        return len(self._subscribers)

    def loaded(self, state: RecordState, revision: int) -> None:
        """The feed (re)starts from ``state`` (name -> (InfoStr, mod revision)) at ``revision``.

        ``state`` is the live copy that later publishes update. Changes between an
        old feed and a new one were never seen, so running watchers must resume.
        """
        self._end_all("the server's change feed restarted; reconnect with SinceRevision")
        self._state = state
        self._revision = revision
        self._snapshots.clear()
        self._running = True

    def publish(self, change: RecordChange) -> None:
        self._revision = max(self._revision, change.revision)
        self._snapshots.clear()
        for subscriber in self._subscribers:
            subscriber.offer(change)

    def stopped(self) -> None:
        self._running = False
        self._end_all("the server lost its change feed; reconnect with SinceRevision")

    def subscribe(self, request: WatchRequest, wake: Callable[[], None]) -> Subscription:
        if not self._running:
            raise FeedUnavailable("this registry-service cannot serve watches right now")
        subscription = Subscription(self, request, wake)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def snapshot(self, request: WatchRequest) -> SharedSnapshot:
        """One PUT per matching record as it is now (at ``revision``), by name; the same
        object for every watch with this filter until the next change (never change it)."""
        key = (request.prefix, tuple(request.names) if request.names else None)
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            names = sorted(name for name in self._state if request.matches(name))
            snapshot = self._snapshots[key] = SharedSnapshot(self._state.copy(), names)
        return snapshot

    def _end_all(self, reason: str) -> None:
        for subscriber in list(self._subscribers):
            subscriber.end(reason)
        self._subscribers.clear()


def change_event(change: RecordChange) -> WatchEvent:
    if change.info_str is None:
        return WatchEvent(type=EventType.DELETE, name=change.name, revision=change.revision)
    return WatchEvent(
        type=EventType.PUT, name=change.name, info_str=change.info_str, revision=change.revision
    )


def validate_watch_request(request: WatchRequest) -> WatchRequest:
    for name in request.names or ():
        validate_service_name(name)
    if request.since_revision < 0:
        raise ValueError(f"SinceRevision must be 0 or more, got {request.since_revision}")
    return request


async def open_watch(
    hub: WatchHub, history: ChangeHistory, request: WatchRequest, wake: Callable[[], None]
) -> tuple[Subscription, FirstEvents]:
    """Subscribe; return the subscription and the events to send before its queue."""
    subscription, first = await _open_watch(hub, history, request, wake)
    if hub.cut_off:  # a watcher that starts on a cut-off instance hears so first
        first.prepend(cut_off_notice(request.since_revision, True))
    return subscription, first


async def _open_watch(
    hub: WatchHub, history: ChangeHistory, request: WatchRequest, wake: Callable[[], None]
) -> tuple[Subscription, FirstEvents]:
    validate_watch_request(request)
    # Subscribing and reading the state happen without a pause in between, so the
    # state is exactly the one at hub.revision and the queue holds what follows.
    subscription = hub.subscribe(request, wake)
    subscribed_at = hub.revision
    since = request.since_revision
    if since == 0:
        subscription.skip_through(subscribed_at)
        return subscription, FirstEvents((), hub.snapshot(request), [_synced(subscribed_at)])
    if since >= subscribed_at:
        # This instance may lag behind the one the client came from.
        subscription.skip_through(since)
        return subscription, FirstEvents()
    try:
        # Each revision is at least one write: past this many, the state is the cheaper
        # answer (and RESET is always a correct one).
        if subscribed_at - since > MAX_REPLAYED_CHANGES:
            raise HistoryTooLong(f"{subscribed_at - since} revisions since {since}")
        changes = await history.changes(since, subscribed_at, request.matches,
                                        MAX_REPLAYED_CHANGES)
    except HistoryCompacted:
        now = hub.revision
        subscription.skip_through(now)
        reset = WatchEvent(type=EventType.RESET, revision=now)
        return subscription, FirstEvents([reset], hub.snapshot(request), [_synced(now)])
    except BaseException:
        subscription.close()
        raise
    subscription.skip_through(subscribed_at)
    return subscription, FirstEvents(change_event(c) for c in changes)


def _synced(revision: int) -> WatchEvent:
    return WatchEvent(type=EventType.SYNCED, revision=revision)
