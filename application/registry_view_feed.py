"""Keeping a RegistryView current for the life of a process.

One watch at a time (``follow_watch``: resumes on another instance from the last revision,
with no gap and no duplicate). When it cannot be resumed at all (every instance dead,
stopped or unreachable), the view stays as it is, marked stale, and a new watch is tried
from the view's revision after a pause that doubles up to ``max_pause``, for as long as
the caller lets ``keep_view_current`` run.

The transport is wrapped so that the view learns when a stream opens (it follows that
instance) and when one is lost (it is stale until the next one). An instance that says
it is cut off from its etcd quorum (PROGRESS with CutOff) is left at once for another,
asked last from then on: a view on the majority side of a partition stays current.
Noticing that a stopped instance no longer answers is the transport's job
(adapters/libp2p/watch_heartbeat.py): it ends such a stream within its deadline, and
TCP's minutes are not waited for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import cast

import msgspec

from application.ports import (
    NoProvider,
    ProtocolNotSpoken,
    RegistryUnavailable,
    RequestRejected,
    Sleep,
)
from application.registry_view import RegistryView
from application.watch_client import WatchLost, WatchPosition, WatchRefused, follow_watch
from application.watch_ports import WatchStream, WatchTransport
from domain.watch_wire import WatchEvent
from domain.wire import MalformedMessage

log = logging.getLogger(__name__)

# What ends one watch but not the view: try again later from the view's revision.
_RETRIED = (
    WatchLost, RegistryUnavailable, NoProvider, RequestRejected, ProtocolNotSpoken,
    MalformedMessage, OSError, ConnectionError,
)


async def keep_view_current(
    view: RegistryView,
    transport: WatchTransport,
    sleep: Sleep,
    *,
    first_pause: float = 0.25,
    max_pause: float = 2.0,
) -> None:
    """Feed ``view`` until cancelled. WatchRefused before the first state (the request
    itself is refused) ends it; after it, an ERROR line is one more reason to resume."""
    observed = _ObservedTransport(transport, view)
    pause = first_pause
    while True:
        request = msgspec.structs.replace(view.request, since_revision=view.since_revision())
        try:
            # The state's PUTs as they come: the view packs each at once (its rebuild
            # starts again with each new stream before SYNCED), so they are not all held.
            events = cast(AsyncGenerator[WatchEvent, None], follow_watch(
                observed, request, WatchPosition(), sleep=sleep, hold_state=False))
            async with contextlib.aclosing(events):  # its stream closed here, not at GC
                async for event in events:
                    view.apply(event)
                    if view.freshness.cut_off:
                        # Another instance may have its quorum: resume there (this one last).
                        view.last_failure = (
                            f"{view.freshness.following} is cut off from its quorum")
                        observed.prefer_not(view.freshness.following)
                        break
                    observed.prefer_not(None)
                    pause = first_pause
        except (*_RETRIED, WatchRefused) as exc:
            if isinstance(exc, WatchRefused) and not view.freshness.synced:
                raise  # the request itself is refused: an invalid prefix or name
            failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            # Once per outage at INFO (a proxy may wait hours for the registry), then DEBUG.
            level = logging.DEBUG if failure == view.last_failure else logging.INFO
            view.last_failure = failure
            log.log(level, "registry view: no registry-service follows (%s); trying again "
                    "in %.2f s", failure, pause)
        view.lost()
        await sleep(pause)
        pause = min(pause * 2, max_pause)


class _ObservedTransport:
    """Tells the view when a stream opens and when it is lost."""

    def __init__(self, inner: WatchTransport, view: RegistryView) -> None:
        self._inner = inner
        self._view = view
        self._last_resort: frozenset[str] = frozenset()
        self.current: _ObservedStream | None = None

    def prefer_not(self, provider: str | None) -> None:
        """Ask ``provider`` last from now on (None: forget it)."""
        self._last_resort = frozenset() if provider is None else frozenset({provider})

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> WatchStream:
        stream = await self._inner.open_watch(request, avoid | self._last_resort)
        self._view.following(stream.provider, was_cut_off=stream.provider in self._last_resort)
        self.current = _ObservedStream(stream, self)
        return self.current

    def ended(self, stream: _ObservedStream) -> None:
        if stream is self.current:  # not an older stream closed late
            self.current = None
            self._view.lost()


class _ObservedStream:
    def __init__(self, inner: WatchStream, observer: _ObservedTransport) -> None:
        self._inner = inner
        self._observer = observer
        self.provider = inner.provider

    async def next_line(self) -> bytes | None:
        try:
            line = await self._inner.next_line()
        except BaseException:
            self._observer.ended(self)
            raise
        if line is None:
            self._observer.ended(self)
        return line

    async def close(self) -> None:
        self._observer.ended(self)
        await self._inner.close()
