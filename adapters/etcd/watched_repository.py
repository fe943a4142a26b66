"""A ServiceRepository whose reads come from a local copy that an etcd watch keeps current.

Every get through etcd costs a gRPC round trip and ~0.5 ms of Python gRPC
overhead, more than the rest of a request. The registry is small (names to
short JSON strings), so each instance keeps all of it in memory:

- start: a Range over all keys at revision R, a page at a time (one answer of the
  whole registry would hold every record twice more while the copy is built); then a
  Watch from R + 1;
- writes go to etcd; the call returns once the watch has delivered the write's
  revision, so a client that wrote through this instance reads its own write;
- the watch carries etcd's require-leader flag: a member that loses its leader
  cancels it, and a broken or lagging watch turns the copy off. Until it is
  rebuilt, reads go to etcd (linearizable) like the plain repository's.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import trio
from etcd3 import etcdrpc
from etcd3.etcdrpc import kv_pb2

from adapters.etcd import conditional
from adapters.etcd.connection import EtcdConnection
from adapters.etcd.keyspace import ALL_KEYS, as_text
from adapters.etcd.repository import EtcdServiceRepository
from adapters.etcd.watch_stream import etcd_watch
from application.watch import WatchHub
from domain.record_change import RecordChange
from domain.record_pages import RecordPage, page_of
from domain.revision_wire import WriteOutcome

log = logging.getLogger(__name__)

# How long a write may wait for its own watch event before the copy is
# declared broken (normally ~1 ms on one machine).
CATCH_UP_TIMEOUT = 2.0
_RETRY_MAX = 5.0
# Keys per Range while the copy loads: ~2 MB of answer at a time for typical records.
# 100 000 records (benchmarks/scale_records.py): one Range held 110-140 MB at its peak;
# pages of 5 000 hold 62-74 MB and take as long; pages of 1 000 take 3x as long (etcd
# 3.4 walks the rest of the range's index for every page).
LOAD_PAGE_KEYS = 5000


class WatchedServiceRepository:
    """Reads from memory while the watch is healthy; otherwise from etcd."""

    def __init__(self, store: EtcdServiceRepository, hub: WatchHub | None = None) -> None:
        self._store = store
        self._connection: EtcdConnection = store.connection
        # name -> its mod revision and stored value, packed (see packed())
        self._entries: dict[str, bytes] = {}
        # The same names, sorted (as etcd sorts keys): `/list/0.2` pages without a sort.
        self._names: list[str] = []
        # Every applied change is published here, for `/watch/0.1`.
        self._hub = hub or WatchHub()
        self._revision = 0
        self._ready = False
        self._progress = trio.Condition()
        self._follow_scope: trio.CancelScope | None = None
        self.rebuilds = 0  # times the copy was dropped after having been on

    @property
    def ready(self) -> bool:
        return self._ready

    # --- ServiceRepository --------------------------------------------------

    async def get(self, name: str) -> str | None:
        if self._ready:
            entry = self._entries.get(name)
            return None if entry is None else unpacked_value(entry)
        return await self._store.get(name)

    async def list(self) -> dict[str, str]:
        if self._ready:
            entries = self._entries
            return {name: unpacked_value(entries[name]) for name in self._names}
        return await self._store.list()

    async def page(self, prefix: str, after: str, limit: int, max_bytes: int) -> RecordPage:
        if self._ready:
            return page_of(self._names, PackedRecords(self._entries).__getitem__,
                           prefix=prefix, after=after,
                           limit=limit, max_bytes=max_bytes, revision=self._revision)
        return await self._store.page(prefix, after, limit, max_bytes)

    async def put(self, name: str, info_str: str) -> None:
        request = etcdrpc.PutRequest(key=name.encode(), value=info_str.encode())
        response = await self._connection.call(self._connection.kv.Put, request)
        await self._catch_up(response.header.revision)

    async def delete(self, name: str) -> int:
        if not name:
            return 0
        request = etcdrpc.DeleteRangeRequest(key=name.encode())
        response = await self._connection.call(self._connection.kv.DeleteRange, request)
        await self._catch_up(response.header.revision)
        return int(response.deleted)

    # --- RevisionedRepository -------------------------------------------------

    async def get_with_revision(self, name: str) -> tuple[str | None, int]:
        if self._ready:
            entry = self._entries.get(name)
            return (None, 0) if entry is None else unpacked(entry)
        return await self._store.get_with_revision(name)

    async def put_if(self, name: str, info_str: str, if_revision: int | None) -> WriteOutcome:
        outcome = await conditional.put_if(self._connection, name, info_str, if_revision)
        await self._catch_up(outcome.revision)
        return outcome

    async def delete_if(self, name: str, if_revision: int | None) -> WriteOutcome:
        outcome = await conditional.delete_if(self._connection, name, if_revision)
        await self._catch_up(outcome.revision)
        return outcome

    # --- keeping the copy current ---------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Build and maintain the copy until cancelled; ``started`` after the first try."""
        started = _Once(task_status.started)
        delay = 0.1
        while True:
            try:
                revision = await self._load()
                with trio.CancelScope() as self._follow_scope:
                    await self._follow(revision + 1, started)
                delay = 0.1
            except Exception as exc:
                log.info("etcd read cache off (%r); reads go to etcd", exc)
            self._set_ready(False)
            started()
            await trio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    async def _load(self) -> int:
        """Every record as of one revision R, a page at a time; returns R."""
        entries: dict[str, bytes] = {}
        names: list[str] = []
        key, revision = ALL_KEYS["key"], 0
        while True:
            # etcd answers keys in order; later pages are read at the first one's revision
            # (a compaction past it in between fails the load, which is then retried).
            request = etcdrpc.RangeRequest(
                key=key, range_end=ALL_KEYS["range_end"], limit=LOAD_PAGE_KEYS,
                revision=revision,
            )
            response = await self._connection.call(self._connection.kv.Range, request)
            revision = revision or int(response.header.revision)
            for kv in response.kvs:
                name = as_text(kv.key)
                entries[name] = packed(int(kv.mod_revision), kv.value)
                names.append(name)
            if not response.more or not response.kvs:
                break
            key = response.kvs[-1].key + b"\0"
            del response
        self._entries, self._names = entries, sorted(entries) if _unsorted(names) else names
        return revision

    async def _follow(self, start_revision: int, started: _Once) -> None:
        """Apply watch events until the watch ends; returns or raises when it does."""
        create = etcdrpc.WatchCreateRequest(**ALL_KEYS, start_revision=start_revision)
        self._revision = start_revision - 1
        async with etcd_watch(self._connection, create) as responses:
            async for response in responses:
                self._apply(response)
                if response.created:
                    self._hub.loaded(PackedRecords(self._entries), start_revision - 1)
                    started()
                async with self._progress:
                    self._progress.notify_all()
            raise ConnectionError("etcd watch ended")

    def _apply(self, response: Any) -> None:
        if response.canceled or response.compact_revision:
            raise ConnectionError(
                f"etcd cancelled the watch: {response.cancel_reason or 'compacted'}"
            )
        for event in response.events:
            key = as_text(event.kv.key)
            revision = int(event.kv.mod_revision)
            if event.type == kv_pb2.Event.PUT:
                value = as_text(event.kv.value)
                if key not in self._entries:
                    bisect.insort(self._names, key)
                self._entries[key] = packed(revision, event.kv.value)
                self._hub.publish(RecordChange(key, value, revision))
            else:
                if self._entries.pop(key, None) is not None:
                    del self._names[bisect.bisect_left(self._names, key)]
                self._hub.publish(RecordChange(key, None, revision))
        if response.created:
            self._set_ready(True)
        self._revision = max(self._revision, int(response.header.revision))

    async def _catch_up(self, revision: int) -> None:
        if not self._ready:
            return
        with trio.move_on_after(CATCH_UP_TIMEOUT):
            async with self._progress:
                while self._ready and self._revision < revision:
                    await self._progress.wait()
            return
        log.warning("etcd watch lags behind revision %d; rebuilding the read cache", revision)
        self._set_ready(False)
        if self._follow_scope is not None:
            self._follow_scope.cancel()

    def _set_ready(self, ready: bool) -> None:
        if not ready:
            self._hub.stopped()
        if ready != self._ready:
            log.info("etcd read cache %s", "on" if ready else "off")
            self.rebuilds += not ready
        self._ready = ready


def packed(revision: int, value: bytes) -> bytes:
    """One bytes object per record: 8 bytes of mod revision, then the value's UTF-8.

    A (str, int) tuple costs 96 bytes more per record (tuple, int, str header): 9.6 MB
    of 100 000 records, a quarter of the records' own bytes (docs/performance.md).
    """
    return revision.to_bytes(8, "little") + value


def unpacked_value(entry: bytes) -> str:
    return as_text(entry[8:])


def unpacked(entry: bytes) -> tuple[str, int]:
    return as_text(entry[8:]), int.from_bytes(entry[:8], "little")


class PackedRecords(Mapping[str, tuple[str, int]]):
    """The copy as the watch hub reads it: name -> (InfoStr, mod revision)."""

    def __init__(self, entries: dict[str, bytes]) -> None:
        self._entries = entries

    def __getitem__(self, name: str) -> tuple[str, int]:
        return unpacked(self._entries[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def copy(self) -> PackedRecords:
        """A copy of the entries (100 000 in ~2 ms): their packed bytes are shared."""
        return PackedRecords(dict(self._entries))


def _unsorted(names: list[str]) -> bool:
    """Whether etcd's byte order differs from str order: only with undecodable keys (U+FFFD)."""
    return any(a >= b for a, b in itertools.pairwise(names))


class _Once:
    def __init__(self, action: Callable[[], object]) -> None:
        self._action: Callable[[], object] | None = action

    def __call__(self) -> None:
        if self._action is not None:
            action, self._action = self._action, None
            action()
