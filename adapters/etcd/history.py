"""ChangeHistory from etcd's MVCC history: a Watch from an old revision, read up to a newer one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio
from etcd3 import etcdrpc
from etcd3.etcdrpc import kv_pb2

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.keyspace import ALL_KEYS, as_text
from adapters.etcd.watch_stream import etcd_watch
from application.ports import StorageUnavailable
from application.watch_ports import HistoryCompacted, HistoryTooLong
from domain.record_change import RecordChange

# Reading history is one pass over at most what the store still holds.
HISTORY_TIMEOUT = 30.0
# History reads at once. etcd answers a watch from an old revision with up to 1 000
# revisions in one message: after a bulk write of 100 000 records, ~40 MB that gRPC
# decodes whole, however few of its events are kept; twenty watchers resuming together
# took the daemon up 1.8-2.6 GB (docs/performance.md, "scale_snapshot.py --resume").
READS_AT_ONCE = 2


class EtcdChangeHistory:
    def __init__(self, connection: EtcdConnection, *, timeout: float = HISTORY_TIMEOUT) -> None:
        self._connection = connection
        self._timeout = timeout
        self._turns = trio.Semaphore(READS_AT_ONCE)

    async def changes(
        self, after: int, through: int, keep: Callable[[str], bool], limit: int
    ) -> list[RecordChange]:
        """Every revision up to ``through`` (a revision some write made) ends the read;
        more than ``limit`` records written or changes kept since ``after`` end it too."""
        found: list[RecordChange] = []
        if through <= after:
            return found
        # The records written since are at least as many changes. Their names, at most
        # limit + 1 of them, are a small answer; etcd's history answers with up to 1 000
        # revisions at once. (With a mod-revision filter etcd's count is of every key,
        # filtered or not: the names are what tells.)
        written = await self._connection.call(self._connection.kv.Range, etcdrpc.RangeRequest(
            **ALL_KEYS, keys_only=True, limit=limit + 1, min_mod_revision=after + 1,
            serializable=True), require_leader=False)  # as the history read: local
        if len(written.kvs) > limit:
            raise HistoryTooLong(f"more than {limit} records written after revision {after}")
        create = etcdrpc.WatchCreateRequest(**ALL_KEYS, start_revision=after + 1)
        with trio.move_on_after(self._timeout):
            async with self._turns, etcd_watch(self._connection, create) as responses:
                async for response in responses:
                    if response.compact_revision:
                        raise HistoryCompacted(
                            f"changes after revision {after} were compacted away "
                            f"(the oldest kept is {response.compact_revision})"
                        )
                    if response.canceled:
                        raise StorageUnavailable(
                            f"etcd cancelled the history read: {response.cancel_reason}"
                        )
                    for event in response.events:
                        revision = int(event.kv.mod_revision)
                        if revision > through:
                            return found
                        name = as_text(event.kv.key)
                        if keep(name):
                            put = event.type == kv_pb2.Event.PUT
                            value = as_text(event.kv.value) if put else None
                            found.append(RecordChange(name, value, revision))
                            if len(found) > limit:  # leaving the watch cancels it
                                raise HistoryTooLong(
                                    f"more than {limit} changes after revision {after}")
                    # One response holds all events of a revision (etcd never splits one).
                    if _reached(response, through):
                        return found
        raise StorageUnavailable(
            f"etcd at {self._connection.client_url}: history to revision {through} not read "
            f"within {self._timeout:g} s"
        )


def _reached(response: Any, through: int) -> bool:
    events = response.events
    return bool(events) and int(events[-1].kv.mod_revision) >= through
