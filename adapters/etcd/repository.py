"""ServiceRepository on etcd: key = service name, value = InfoStr, both verbatim UTF-8.

The Go original uses the same layout (no key prefix), so Go and Python
registry-services can share one etcd cluster.
"""

from __future__ import annotations

from etcd3 import etcdrpc

from adapters.etcd.connection import DEFAULT_TIMEOUT, EtcdConnection
from adapters.etcd.keyspace import ALL_KEYS, as_text


class EtcdServiceRepository:
    """Reads are linearizable (as the Go client's); every call ends within ``timeout`` s."""

    def __init__(
        self,
        client_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connection: EtcdConnection | None = None,
    ) -> None:
        self._connection = connection or EtcdConnection(client_url, timeout=timeout)

    @property
    def connection(self) -> EtcdConnection:
        return self._connection

    async def put(self, name: str, info_str: str) -> None:
        request = etcdrpc.PutRequest(key=name.encode(), value=info_str.encode())
        await self._connection.call(self._connection.kv.Put, request)

    async def get(self, name: str) -> str | None:
        if not name:
            return None  # etcd rejects the empty key; nothing can be stored under it
        request = etcdrpc.RangeRequest(key=name.encode())
        response = await self._connection.call(self._connection.kv.Range, request)
        return as_text(response.kvs[0].value) if response.kvs else None

    async def list(self) -> dict[str, str]:
        request = etcdrpc.RangeRequest(
            **ALL_KEYS,
            sort_order=etcdrpc.RangeRequest.ASCEND,
            sort_target=etcdrpc.RangeRequest.KEY,
        )
        response = await self._connection.call(self._connection.kv.Range, request)
        return {as_text(kv.key): as_text(kv.value) for kv in response.kvs}

    async def delete(self, name: str) -> int:
        if not name:
            return 0
        request = etcdrpc.DeleteRangeRequest(key=name.encode())
        response = await self._connection.call(self._connection.kv.DeleteRange, request)
        return int(response.deleted)

    def close(self) -> None:
        self._connection.close()
