"""ServiceRepository on etcd: key = service name, value = InfoStr, both verbatim UTF-8.

The Go original uses the same layout (no key prefix), so Go and Python
registry-services can share one etcd cluster.
"""

from __future__ import annotations

from typing import Any

from etcd3 import etcdrpc

from adapters.etcd.connection import DEFAULT_TIMEOUT, EtcdConnection
from adapters.etcd.keyspace import ALL_KEYS, as_text, page_range
from domain.list_wire import PagedRecord
from domain.record_pages import RecordPage


class EtcdServiceRepository:
    """Every call ends within ``timeout`` s. Reads are linearizable (as the Go client's).

    With ``serializable``, reads are answered by this member alone from its own
    store, without a leader: they work without quorum and may miss the latest
    writes (the request handler marks such answers stale).

    ``read_timeout`` (at most ``timeout``) bounds linearizable reads alone: a
    member cut off from its leader may not know it yet, and would hold the read
    for the whole ``timeout``; the handler answers from the local copy instead.
    """

    def __init__(
        self,
        client_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connection: EtcdConnection | None = None,
        serializable: bool = False,
        read_timeout: float | None = None,
    ) -> None:
        self._connection = connection or EtcdConnection(client_url, timeout=timeout)
        self._serializable = serializable
        self._read_timeout = None if read_timeout is None else min(read_timeout, timeout)

    @property
    def connection(self) -> EtcdConnection:
        return self._connection

    async def put(self, name: str, info_str: str) -> None:
        request = etcdrpc.PutRequest(key=name.encode(), value=info_str.encode())
        await self._connection.call(self._connection.kv.Put, request)

    async def get(self, name: str) -> str | None:
        if not name:
            return None  # etcd rejects the empty key; nothing can be stored under it
        response = await self._range(etcdrpc.RangeRequest(key=name.encode()))
        return as_text(response.kvs[0].value) if response.kvs else None

    async def get_with_revision(self, name: str) -> tuple[str | None, int]:
        """(InfoStr, mod revision), or (None, 0) when absent."""
        if not name:
            return None, 0
        response = await self._range(etcdrpc.RangeRequest(key=name.encode()))
        if not response.kvs:
            return None, 0
        return as_text(response.kvs[0].value), int(response.kvs[0].mod_revision)

    async def list(self) -> dict[str, str]:
        request = etcdrpc.RangeRequest(
            **ALL_KEYS,
            sort_order=etcdrpc.RangeRequest.ASCEND,
            sort_target=etcdrpc.RangeRequest.KEY,
        )
        response = await self._range(request)
        return {as_text(kv.key): as_text(kv.value) for kv in response.kvs}

    async def page(self, prefix: str, after: str, limit: int, max_bytes: int) -> RecordPage:
        """`/list/0.2` from etcd (while the watched copy is off, or without quorum)."""
        key, range_end = page_range(prefix, after)
        request = etcdrpc.RangeRequest(
            key=key, range_end=range_end, limit=limit,
            sort_order=etcdrpc.RangeRequest.ASCEND, sort_target=etcdrpc.RangeRequest.KEY,
        )
        response = await self._range(request)
        records: list[PagedRecord] = []
        size = 0
        for kv in response.kvs:
            if records and size >= max_bytes:
                break
            name, info_str = as_text(kv.key), as_text(kv.value)
            records.append(PagedRecord(name=name, info_str=info_str,
                                       revision=int(kv.mod_revision)))
            size += len(name) + len(info_str)
        more = bool(response.more) or len(records) < len(response.kvs)
        return RecordPage(records, int(response.header.revision), more)

    async def delete(self, name: str) -> int:
        if not name:
            return 0
        request = etcdrpc.DeleteRangeRequest(key=name.encode())
        response = await self._connection.call(self._connection.kv.DeleteRange, request)
        return int(response.deleted)

    async def _range(self, request: etcdrpc.RangeRequest) -> Any:
        if not self._serializable:
            return await self._connection.call(
                self._connection.kv.Range, request, timeout=self._read_timeout
            )
        request.serializable = True
        # No "has leader" requirement: answering without one is the point.
        return await self._connection.call(
            self._connection.kv.Range, request, require_leader=False
        )

    def close(self) -> None:
        self._connection.close()
