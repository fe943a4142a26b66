"""The registry over HTTP: reads with the registry index, conditional writes, blocking queries.

The same parts as the libp2p protocols: the record rules (write_rules), the
conditional write of `/add/0.2` and `/delete/0.2` (RevisionedRepository.put_if /
delete_if in one store transaction), stale reads without quorum (StorageGuard),
and the watch feed for blocking queries (open_watch). Who may write is decided
before, by HttpAccess; a write is counted under the caller's token name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import msgspec

from application.cluster.quorum import QuorumStatus
from application.http_access import Caller
from application.ports import RegistryMetrics
from application.storage_guard import StorageGuard
from application.watch import Subscription, WatchHub, open_watch
from application.watch_ports import ChangeHistory, FeedUnavailable
from application.write_rules import check_delete, check_put
from domain.revision_wire import WriteOutcome
from domain.service_name import validate_service_name
from domain.watch_wire import WatchRequest


class RecordReader(Protocol):
    async def get_with_revision(self, name: str) -> tuple[str | None, int]: ...

    async def list(self) -> dict[str, str]: ...


class RecordWriter(Protocol):
    async def put_if(self, name: str, info_str: str, if_revision: int | None) -> WriteOutcome: ...

    async def delete_if(self, name: str, if_revision: int | None) -> WriteOutcome: ...


class HttpWriteCounter(Protocol):
    def count_http_write(self, token: str, operation: str, outcome: str) -> None:
        """``outcome``: ok, conflict, invalid, or an error class name."""
        ...


class RecordAnswer(msgspec.Struct, frozen=True):
    info_str: str | None  # None: no such record
    revision: int  # the record's own revision (0: absent)
    index: int  # the registry revision the answer reflects
    stale: bool


class ListAnswer(msgspec.Struct, frozen=True):
    entries: dict[str, str]  # name -> InfoStr, by name
    index: int
    stale: bool


class HttpRegistry:
    def __init__(
        self,
        repository: RecordReader,
        writer: RecordWriter,
        hub: WatchHub,
        history: ChangeHistory,
        metrics: RegistryMetrics,
        writes: HttpWriteCounter,
        local_reads: RecordReader | None = None,
        quorum: QuorumStatus | None = None,
    ) -> None:
        self._repository = repository
        self._writer = writer
        self._hub = hub
        self._history = history
        self._metrics = metrics
        self._writes = writes
        self._local_reads = local_reads
        self._guard = StorageGuard(quorum or QuorumStatus(), local_reads=local_reads is not None)

    @property
    def index(self) -> int:
        """The registry revision this instance has seen every change through."""
        return self._hub.revision

    async def get(self, name: str) -> RecordAnswer:
        started, outcome = time.perf_counter(), "ok"
        try:
            validate_service_name(name)
            index = self._hub.revision  # read first: the answer reflects at least this
            local = self._local_reads
            (info_str, revision), stale = await self._guard.read(
                lambda: self._repository.get_with_revision(name),
                None if local is None else lambda: local.get_with_revision(name),
            )
            return RecordAnswer(info_str, revision, max(index, revision), stale)
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._metrics.observe_request("get", time.perf_counter() - started, outcome)

    async def list(self, prefix: str = "") -> ListAnswer:
        started, outcome = time.perf_counter(), "ok"
        try:
            index = self._hub.revision
            local = self._local_reads
            entries, stale = await self._guard.read(
                self._repository.list, None if local is None else local.list
            )
            if prefix:
                entries = {k: v for k, v in entries.items() if k.startswith(prefix)}
            return ListAnswer(entries, index, stale)
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._metrics.observe_request("list", time.perf_counter() - started, outcome)

    async def put(
        self, caller: Caller, name: str, info_str: str, cas: int | None
    ) -> WriteOutcome:
        """Store under the record rules; ``cas``: None always, 0 only if absent, N if at N."""
        return await self._write(caller, "add", name, cas, info_str)

    async def delete(self, caller: Caller, name: str, cas: int | None) -> WriteOutcome:
        return await self._write(caller, "delete", name, cas, None)

    async def _write(
        self, caller: Caller, operation: str, name: str, cas: int | None, info_str: str | None
    ) -> WriteOutcome:
        started, outcome = time.perf_counter(), "ok"
        try:
            if info_str is None:
                check_delete(name)
                result = await self._guard.write(self._writer.delete_if(name, cas))
            else:
                check_put(name, info_str)
                result = await self._guard.write(self._writer.put_if(name, info_str, cas))
            outcome = "ok" if result.ok else "conflict"
            return result
        except ValueError as exc:  # InvalidServiceName, InvalidRecord
            outcome = "invalid"
            self._metrics.count_refused_write(operation, type(exc).__name__)
            raise
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._writes.count_http_write(caller.name, operation, outcome)
            self._metrics.observe_request(operation, time.perf_counter() - started, outcome)

    async def park(
        self, request: WatchRequest, wake: Callable[[], None]
    ) -> Subscription | None:
        """For a blocking query past ``request.since_revision``: a subscription whose ``wake``
        fires on the next matching change, or None when the answer should come now (a
        matching change is already past that revision, the history was compacted, the
        instance is cut off, or it cannot follow changes at all right now)."""
        if request.since_revision <= 0:
            return None
        try:
            subscription, first = await open_watch(self._hub, self._history, request, wake)
        except FeedUnavailable:
            return None
        if first:
            subscription.close()
            return None
        return subscription
