"""A WatchTransport over in-memory instances that share one InMemoryRevisionedStore.

Each named instance serves `/watch/0.1` through the real use case (application.watch),
without I/O. A test can ``kill`` an instance (its streams end as a reset connection
would, and it refuses new ones) and ``revive`` it. An instance named in ``cut_off`` answers
a new watch as one cut off from its quorum does: a PROGRESS with CutOff, then nothing.
"""

from __future__ import annotations

import msgspec
import trio

from adapters.memory.revisioned import InMemoryRevisionedStore
from application.first_events import FirstEvents
from application.ports import RegistryUnavailable
from application.watch import Subscription, WatchClosed, open_watch
from domain.watch_wire import EventType, WatchEvent, WatchRequest, cut_off_notice

_encoder = msgspec.json.Encoder()


class InMemoryWatchTransport:
    def __init__(self, store: InMemoryRevisionedStore, instances: list[str]) -> None:
        self.store = store
        self.instances = list(instances)
        self.down: set[str] = set()
        self.cut_off: set[str] = set()
        self.opened: list[tuple[str, int]] = []  # (instance, SinceRevision) per stream
        self._streams: list[InMemoryWatchStream] = []

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> InMemoryWatchStream:
        order = sorted(self.instances, key=lambda name: name in avoid)
        for name in order:
            if name in self.down:
                continue
            asked = msgspec.json.decode(request, type=WatchRequest)
            stream = InMemoryWatchStream(name)
            self.opened.append((name, asked.since_revision))
            self._streams.append(stream)
            if name in self.cut_off:
                stream.hold(cut_off_notice(asked.since_revision, True))
                return stream
            subscription, first = await open_watch(
                self.store.hub, self.store, asked, stream.wake
            )
            stream.start(subscription, first)
            return stream
        raise RegistryUnavailable("no in-memory registry-service is up")

    def kill(self, name: str) -> None:
        self.down.add(name)
        for stream in self._streams:
            if stream.provider == name:
                stream.cut()

    def revive(self, name: str) -> None:
        self.down.discard(name)


class InMemoryWatchStream:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._lines: list[bytes] = []
        self._news = trio.Event()
        self._cut = False
        self._held = False
        self._subscription: Subscription | None = None

    def start(self, subscription: Subscription, first: FirstEvents) -> None:
        self._subscription = subscription
        self._lines = [_encoder.encode(e) for e in first]

    def hold(self, notice: WatchEvent) -> None:
        """Send ``notice``, then nothing until the stream is cut or closed."""
        self._lines = [_encoder.encode(notice)]
        self._held = True

    def wake(self) -> None:
        self._news.set()

    def cut(self) -> None:
        self._cut = True
        self._news.set()

    async def next_line(self) -> bytes | None:
        while True:
            if self._cut:
                raise ConnectionError(f"{self.provider} was killed")
            if not self._lines and self._subscription is not None:
                try:
                    self._lines = [_encoder.encode(e) for e in self._subscription.take()]
                except WatchClosed as closed:
                    self._lines = [_encoder.encode(
                        WatchEvent(type=EventType.ERROR, error=str(closed)))]
                    self._subscription = None
            if self._lines:
                return self._lines.pop(0)
            if self._subscription is None and not self._held:
                return None
            self._news = trio.Event()
            await self._news.wait()

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
