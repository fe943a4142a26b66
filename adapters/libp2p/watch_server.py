"""Serves `/watch/0.1`: read the request to EOF, then stream event lines until either side ends.

A watcher that does not read makes our writes block; its queue then overflows,
which cancels the blocked write, and the stream gets an ERROR line if that can
be written within a moment, then a reset. Other watchers never wait on it.

An instance cut off from its etcd quorum loses its change feed once etcd
notices (its watch needs a leader). A watch that comes then (typically the same
client resuming) is held open: it hears it is cut off, and after the heal it
gets what it missed from etcd's history, then that it is back.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import msgspec
import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol

from adapters.libp2p.fair_turns import FairTurns
from adapters.libp2p.request_stream import reset_quietly
from adapters.libp2p.stream_io import read_to_end
from application.first_events import FirstEvents
from application.watch import Subscription, WatchClosed, WatchHub, open_watch
from application.watch_ports import ChangeHistory, FeedUnavailable
from domain.watch_wire import (
    MAX_WATCH_REQUEST_BYTES,
    WATCH_PROTOCOL,
    EventType,
    WatchEvent,
    WatchRequest,
    cut_off_notice,
    watch_limit_reason,
)
from domain.wire import decode

log = logging.getLogger(__name__)

# The issue promises PROGRESS at least every 10 s on a quiet stream.
PROGRESS_INTERVAL = 5.0
# How long a closing ERROR line may take to go out to a slow reader.
ERROR_WRITE_TIMEOUT = 1.0
# How often a held watch looks whether the change feed is back.
FEED_POLL_INTERVAL = 0.25
# Watches served at once by default: one per connection at --max-inbound-connections.
DEFAULT_MAX_WATCHES = 1024
REFUSAL_LOG_INTERVAL = 60.0
# A snapshot goes out this many events per write (~90 KB at ~350 bytes a record), so a
# watcher holds one chunk's lines, not the whole registry's, while a slow client reads.
FIRST_EVENTS_PER_WRITE = 256

_encoder = msgspec.json.Encoder()


def event_line(event: WatchEvent) -> bytes:
    return _encoder.encode(event) + b"\n"


class Libp2pWatchServer:
    def __init__(
        self,
        hub: WatchHub,
        history: ChangeHistory,
        *,
        request_timeout: float = 10.0,
        progress_interval: float = PROGRESS_INTERVAL,
        max_watches: int = DEFAULT_MAX_WATCHES,
    ) -> None:
        if max_watches < 1:
            raise ValueError("the watch limit must be at least 1")
        self._hub = hub
        self._history = history
        self._timeout = request_timeout
        self._progress_interval = progress_interval
        self.max_watches = max_watches
        self.open_watches = 0  # streams being served now, held or streaming
        self.refused = 0  # watches refused at max_watches, since the start
        self._last_refusal_log = -REFUSAL_LOG_INTERVAL
        self.events_sent: Counter[str] = Counter()  # event lines written, by type (metrics)
        self._turns = FairTurns()  # a change wakes every watcher: a few per scheduler round

    protocol_ids = [WATCH_PROTOCOL]

    def attach(self, host: IHost) -> None:
        host.set_stream_handler(TProtocol(WATCH_PROTOCOL), self._serve)

    async def _serve(self, stream: INetStream) -> None:
        if self.open_watches >= self.max_watches:
            await self._refuse(stream)
            return
        self.open_watches += 1
        try:
            await self._serve_one(stream)
        finally:
            self.open_watches -= 1

    async def _refuse(self, stream: INetStream) -> None:
        """One ERROR line with the reason (docs/protocol.md, "Watch limit"), then close."""
        self.refused += 1
        now = time.monotonic()
        if now - self._last_refusal_log >= REFUSAL_LOG_INTERVAL:
            self._last_refusal_log = now
            log.info("refused a watch: all %d watch slots are in use (--max-watches); "
                     "%d refused so far", self.max_watches, self.refused)
        await _send_error(stream, watch_limit_reason(self.max_watches))

    async def _serve_one(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        wakeup = _Wakeup(self._turns)
        try:
            with trio.fail_after(self._timeout):
                raw = await read_to_end(stream, MAX_WATCH_REQUEST_BYTES)
                request = decode(raw.strip() or b"{}", WatchRequest)
                subscription, first = await open_watch(
                    self._hub, self._history, request, wakeup.wake
                )
        except FeedUnavailable as exc:
            if self._hub.cut_off:
                opened = await self._open_after_cut_off(stream, request, wakeup)
                if opened is None:
                    return
                subscription, first = opened
            else:
                # Not the request's fault: a reset sends the client to another instance.
                log.info("watch from %s not served: %s", peer, exc)
                await reset_quietly(stream)
                return
        except Exception as exc:  # a bad request ends its own stream only
            log.info("watch from %s refused: %r", peer, exc)
            await _send_error(stream, _first_line(exc))
            return
        wakeup.subscription = subscription
        try:
            await self._send_first(stream, wakeup, first)
            await self._stream_events(stream, subscription, wakeup)
        except WatchClosed as exc:
            log.info("watch from %s ended: %s", peer, exc)
            await _send_error(stream, str(exc))
        except Exception as exc:
            log.debug("watch from %s gone: %r", peer, exc)
            await reset_quietly(stream)
        finally:
            subscription.close()

    async def _open_after_cut_off(
        self, stream: INetStream, request: WatchRequest, wakeup: _Wakeup
    ) -> tuple[Subscription, FirstEvents] | None:
        """Hold the stream until the feed is back, then open the watch; None if that failed."""
        notice = event_line(cut_off_notice(request.since_revision, True))
        try:
            while not self._hub.running:
                await stream.write(notice)  # also tells a gone client's stream apart
                with trio.move_on_after(self._progress_interval):
                    while not self._hub.running:
                        await trio.sleep(FEED_POLL_INTERVAL)
            subscription, first = await open_watch(
                self._hub, self._history, request, wakeup.wake
            )
        except Exception as exc:
            log.debug("held watch ended: %r", exc)
            await reset_quietly(stream)
            return None
        if not self._hub.cut_off:  # else the hub says so when it changes
            first.append(cut_off_notice(subscription.progress().revision or 0, False))
        return subscription, first

    async def _stream_events(
        self, stream: INetStream, subscription: Subscription, wakeup: _Wakeup
    ) -> None:
        while True:
            events = subscription.take()
            if events:
                await self._send(stream, wakeup, events)
                continue
            if not await wakeup.wait(self._progress_interval):
                await self._send(stream, wakeup, [subscription.progress()])

    async def _send_first(self, stream: INetStream, wakeup: _Wakeup, first: FirstEvents) -> None:
        for chunk in first.chunks(FIRST_EVENTS_PER_WRITE):
            await self._send(stream, wakeup, chunk)
        # The caller's frame lives as long as the watch: kept, the snapshot's events (one
        # per record) stayed in memory for each watcher (docs/performance.md).
        first.clear()

    async def _send(self, stream: INetStream, wakeup: _Wakeup, events: list[WatchEvent]) -> None:
        await wakeup.write(stream, _encoder.encode_lines(events))
        self.events_sent.update(str(e.type) for e in events)


class _Wakeup:
    """Wakes the stream's task on news, in its turn; an ended subscription wakes it at
    once and also cancels a blocked write."""

    __slots__ = ("_event", "_queued", "_turns", "_write_scope", "subscription")

    def __init__(self, turns: FairTurns) -> None:
        self._event = trio.Event()
        self._turns = turns
        self._queued = False  # a turn is asked for (one is enough, however much news)
        self._write_scope: trio.CancelScope | None = None
        self.subscription: Subscription | None = None

    def wake(self) -> None:
        if self.subscription and self.subscription.closed:
            self._event.set()
            if self._write_scope is not None:
                self._write_scope.cancel()
        elif not self._queued:
            self._queued = True
            self._turns.wake(self._in_turn)

    def _in_turn(self) -> None:
        self._queued = False
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """Whether news came within ``timeout`` seconds."""
        with trio.move_on_after(timeout):
            await self._event.wait()
        woken = self._event.is_set()
        if woken:
            self._event = trio.Event()
        return woken

    async def write(self, stream: INetStream, data: bytes) -> None:
        if not data:
            return
        with trio.CancelScope() as self._write_scope:
            await stream.write(data)
        self._write_scope = None
        if self.subscription is not None and self.subscription.closed:
            raise WatchClosed(self.subscription.closed)


async def _send_error(stream: INetStream, message: str) -> None:
    line = event_line(WatchEvent(type=EventType.ERROR, error=message))
    sent = False
    with trio.move_on_after(ERROR_WRITE_TIMEOUT):
        try:
            await stream.write(line)
            await stream.close()
            sent = True
        except Exception as exc:
            log.debug("could not send the watch ERROR: %r", exc)
    if not sent:
        await reset_quietly(stream)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, trio.TooSlowError):
        return "no complete watch request within the request timeout"
    return (str(exc) or type(exc).__name__).splitlines()[0][:300]
