"""The library's watch and revision functions (re-exported by entrypoints.library).

- ``async with watch_services(bootstraps, psk, names=None, prefix=None, since=None) as events:``
  then ``async for event in events`` (trio). Events are :class:`WatchEvent` with ``type``
  PUT, DELETE, SYNCED, RESET or PROGRESS. The watch follows the registry-service it
  reached; if that one dies it resumes on another from the last revision delivered.
  A PROGRESS with ``cut_off`` True says that registry-service lost its etcd quorum
  (changes stop coming); one with ``cut_off`` False that it has it again. The changes
  made meanwhile come in revision order, each once, without a gap (some may come just
  after it). Each comes once per change of that state.
- ``watch_services_blocking(...)`` is a plain iterator over the same events (a thread
  runs trio); stop it with ``.close()`` or by leaving the ``for`` loop.
- ``get_service_revision`` returns ``(ServiceInfo, revision)``; ``add_service`` and
  ``delete_service`` take ``if_revision=`` (0: only if absent) and raise
  :class:`RevisionConflict`, whose ``current_revision`` says where the record is now.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from libp2p.abc import IHost

from application import conditional_client
from application.watch_client import WatchPosition, follow_watch
from domain.service_info import ServiceInfo
from domain.watch_wire import WatchEvent, WatchRequest
from entrypoints.common.errors import single_error
from entrypoints.library.client_node import (
    _client_for,
    _with_client,
    registry_client,
    watch_transport,
)

if TYPE_CHECKING:
    from entrypoints.library.client_node import Libp2pRegistryClient

Bootstraps = Sequence[Any]


def watch_request(
    names: Sequence[str] | None, prefix: str | None, since: int | None
) -> WatchRequest:
    return WatchRequest(names=list(names) if names else None, prefix=prefix or "",
                        since_revision=since or 0)


@asynccontextmanager
async def watch_services(
    bootstraps: Bootstraps,
    psk: bytes | None,
    names: Sequence[str] | None = None,
    prefix: str | None = None,
    since: int | None = None,
    *,
    keyfile: str | Path | None = None,
) -> AsyncIterator[WatchEvents]:
    request = watch_request(names, prefix, since)
    client_node = registry_client(bootstraps, psk, keyfile=keyfile)
    try:
        async with client_node as client, _watch(client, request) as events:
            yield events
    except BaseExceptionGroup as group:
        raise single_error(group) from None


@asynccontextmanager
async def watch_services_with_host_routing(
    host: IHost,
    routing: Any,
    names: Sequence[str] | None = None,
    prefix: str | None = None,
    since: int | None = None,
) -> AsyncIterator[WatchEvents]:
    async with _watch(_client_for(host, routing), watch_request(names, prefix, since)) as events:
        yield events


class WatchEvents:
    """The events (``async for``); ``provider`` is the peer id of the registry-service now
    serving the watch, ``revision`` the last revision delivered (to resume later)."""

    def __init__(self, client: Libp2pRegistryClient, request: WatchRequest) -> None:
        self._position = WatchPosition()
        self._events = follow_watch(
            watch_transport(client), request, self._position, sleep=trio.sleep
        )

    @property
    def provider(self) -> str | None:
        return self._position.provider

    @property
    def revision(self) -> int:
        return self._position.revision

    def __aiter__(self) -> WatchEvents:
        return self

    async def __anext__(self) -> WatchEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()  # type: ignore[attr-defined]  # an async generator


@asynccontextmanager
async def _watch(client: Libp2pRegistryClient, request: WatchRequest) -> AsyncIterator[WatchEvents]:
    events = WatchEvents(client, request)
    try:
        yield events
    finally:
        await events.aclose()


_END = object()


def watch_services_blocking(
    bootstraps: Bootstraps,
    psk: bytes | None,
    names: Sequence[str] | None = None,
    prefix: str | None = None,
    since: int | None = None,
    *,
    keyfile: str | Path | None = None,
) -> Iterator[WatchEvent]:
    """The events as a plain iterator; a worker thread runs the trio watch."""
    inbox: queue.Queue[Any] = queue.Queue(maxsize=1024)
    ready = threading.Event()
    control: dict[str, Any] = {}

    async def main() -> None:
        control["token"] = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            control["scope"] = scope
            ready.set()
            watch = watch_services(bootstraps, psk, names, prefix, since, keyfile=keyfile)
            async with watch as events:
                async for event in events:
                    await trio.to_thread.run_sync(inbox.put, event, abandon_on_cancel=True)  # type: ignore[call-arg]

    def run() -> None:
        try:
            trio.run(main)
            inbox.put(_END)
        except BaseException as exc:
            inbox.put(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="registry-watch", daemon=True)
    thread.start()
    ready.wait()
    try:
        while (item := inbox.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if "scope" in control:
            with suppress(trio.RunFinishedError):
                control["token"].run_sync_soon(control["scope"].cancel)
        thread.join(10)


async def get_service_revision(
    bootstraps: Bootstraps, psk: bytes | None, query: str, *, keyfile: str | Path | None = None
) -> tuple[ServiceInfo, int]:
    return await _with_client(  # type: ignore[no-any-return]
        bootstraps, psk, lambda c: conditional_client.get_service_revision(c, query), keyfile
    )


async def get_service_revision_with_host_routing(
    host: IHost, routing: Any, query: str
) -> tuple[ServiceInfo, int]:
    return await conditional_client.get_service_revision(_client_for(host, routing), query)


def get_service_revision_blocking(
    bootstraps: Bootstraps, psk: bytes | None, query: str, *, keyfile: str | Path | None = None
) -> tuple[ServiceInfo, int]:
    return trio.run(functools.partial(get_service_revision, bootstraps, psk, query,
                                      keyfile=keyfile))
