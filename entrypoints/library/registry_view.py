"""The library's registry view (re-exported by entrypoints.library).

- ``async with open_registry_view(bootstraps, psk, prefix=None, names=None) as view:``
  (trio) returns once the view holds the registry's state (or raises RegistryUnavailable
  after ``start_timeout``); then ``view.lookup(name)`` answers from memory for as long as
  the block lasts, while a background task follows `/watch/0.1`.
- ``view.freshness``: revision, the instance followed, ``stale_since``.
- ``view.on_change(callback)``, or ``async with view_changes(view) as changes: async for
  change in changes``: each :class:`ViewChange` with ``old`` and ``new`` records.
- ``open_registry_view_with_host_routing(host, routing, ...)``: over the caller's node.
- ``with open_registry_view_blocking(bootstraps, psk, ...) as view:`` for code without
  trio: a thread runs the view; ``lookup`` may be called from any thread; callbacks run
  in the view's thread.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import trio
from libp2p.abc import IHost

from adapters.libp2p.registry_client import Libp2pRegistryClient
from adapters.libp2p.rendezvous import DhtRendezvous
from adapters.libp2p.watch_client import Libp2pWatchTransport
from adapters.libp2p.watch_heartbeat import HeartbeatWatchTransport
from application.ports import RegistryUnavailable
from application.registry_view import RegistryView, ViewChange
from application.registry_view_feed import keep_view_current
from entrypoints.common.errors import single_error
from entrypoints.library.client_node import registry_client
from entrypoints.library.watch import watch_request

Bootstraps = Sequence[Any]

# How long open_registry_view waits for the first whole state by default.
START_TIMEOUT = 30.0
# The view's own client: one pass over the instances per try (the view retries itself,
# with pauses of at most 2 s), each stream opened within 3 s.
_CLIENT_OPTIONS: dict[str, Any] = {"attempts": 1, "request_timeout": 3.0}


class ViewChangesOverflowed(RuntimeError):
    """The consumer of view_changes fell too far behind; re-read the view."""


@contextlib.asynccontextmanager
async def open_registry_view(
    bootstraps: Bootstraps,
    psk: bytes | None,
    *,
    names: Sequence[str] | None = None,
    prefix: str | None = None,
    keyfile: str | Path | None = None,
    start_timeout: float | None = START_TIMEOUT,
) -> AsyncIterator[RegistryView]:
    """``start_timeout`` None: return at once (the view fills in when it can)."""
    try:
        async with (
            registry_client(bootstraps, psk, keyfile=keyfile, **_CLIENT_OPTIONS) as client,
            _running_view(client, names, prefix, start_timeout) as view,
        ):
            yield view
    except BaseExceptionGroup as group:
        raise single_error(group) from None


@contextlib.asynccontextmanager
async def open_registry_view_with_host_routing(
    host: IHost,
    routing: Any,
    *,
    names: Sequence[str] | None = None,
    prefix: str | None = None,
    start_timeout: float | None = START_TIMEOUT,
) -> AsyncIterator[RegistryView]:
    rendezvous = routing if isinstance(routing, DhtRendezvous) else DhtRendezvous(routing)
    client = Libp2pRegistryClient(host, rendezvous, **_CLIENT_OPTIONS)
    try:
        async with _running_view(client, names, prefix, start_timeout) as view:
            yield view
    except BaseExceptionGroup as group:
        raise single_error(group) from None


@contextlib.asynccontextmanager
async def _running_view(
    client: Libp2pRegistryClient,
    names: Sequence[str] | None,
    prefix: str | None,
    start_timeout: float | None,
) -> AsyncIterator[RegistryView]:
    view = RegistryView(watch_request(names, prefix, None), time.time)
    async with trio.open_nursery() as nursery:
        # Stale 1.2 s after the last line or ping answer; another instance after 4 s.
        transport = HeartbeatWatchTransport(
            Libp2pWatchTransport(client), client.host, nursery,
            on_silence=view.instance_silent,
        )
        nursery.start_soon(keep_view_current, view, transport, trio.sleep)
        if start_timeout is not None:
            with trio.move_on_after(start_timeout):
                while not view.freshness.synced:
                    await trio.sleep(0.01)
            if not view.freshness.synced:
                nursery.cancel_scope.cancel()
                why = f": {view.last_failure}" if view.last_failure else ""
                raise RegistryUnavailable(
                    f"no registry-service delivered the state within {start_timeout:g} s{why}"
                )
        try:
            yield view
        finally:
            nursery.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def view_changes(
    view: RegistryView, buffer: int = 1024
) -> AsyncIterator[ViewChanges]:
    """The changes applied from now on, as an async iterator (trio). A consumer more than
    ``buffer`` changes behind gets ViewChangesOverflowed instead of the next change (the
    feed never waits for it); the view itself is still exact, so re-read it then."""
    send, receive = trio.open_memory_channel[ViewChange](buffer)

    def deliver(change: ViewChange) -> None:
        try:
            send.send_nowait(change)
        except trio.WouldBlock:
            unsubscribe()
            send.close()
            overflowed.set()
        except trio.ClosedResourceError:
            pass

    overflowed = threading.Event()
    unsubscribe = view.on_change(deliver)
    try:
        async with receive:
            yield ViewChanges(receive, overflowed, buffer)
    finally:
        unsubscribe()
        send.close()


class ViewChanges:
    """``async for change in changes``; ViewChangesOverflowed where the changes stopped."""

    def __init__(self, receive: trio.MemoryReceiveChannel[ViewChange],
                 overflowed: threading.Event, buffer: int) -> None:
        self._receive = receive
        self._overflowed = overflowed
        self._buffer = buffer

    def __aiter__(self) -> ViewChanges:
        return self

    async def __anext__(self) -> ViewChange:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            if self._overflowed.is_set():
                raise ViewChangesOverflowed(
                    f"more than {self._buffer} changes were not taken; re-read the view"
                ) from None
            raise StopAsyncIteration from None

    async def receive(self) -> ViewChange:
        return await self.__anext__()


@contextlib.contextmanager
def open_registry_view_blocking(
    bootstraps: Bootstraps,
    psk: bytes | None,
    *,
    names: Sequence[str] | None = None,
    prefix: str | None = None,
    keyfile: str | Path | None = None,
    start_timeout: float | None = START_TIMEOUT,
) -> Iterator[RegistryView]:
    """The view, run by a worker thread (trio) until the ``with`` block ends."""
    ready = threading.Event()
    control: dict[str, Any] = {}

    async def main() -> None:
        control["token"] = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            control["scope"] = scope
            async with open_registry_view(
                bootstraps, psk, names=names, prefix=prefix, keyfile=keyfile,
                start_timeout=start_timeout,
            ) as view:
                control["view"] = view
                ready.set()
                await trio.sleep_forever()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # handed to the caller's thread
            control["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="registry-view", daemon=True)
    thread.start()
    ready.wait(math.inf if start_timeout is None else start_timeout + 60)
    if "view" not in control:
        thread.join(10)
        raise control.get("error") or RegistryUnavailable("the registry view did not start")
    try:
        yield control["view"]
    finally:
        with contextlib.suppress(trio.RunFinishedError):
            control["token"].run_sync_soon(control["scope"].cancel)
        thread.join(10)
