"""LocalServiceReader on etcd: serializable reads, answered by this member alone.

A serializable Range is served from the member's own store without asking
the leader, so it works without quorum, and may miss the latest writes. The
request handler uses it only after a linearizable read failed, and marks the
answer stale.
"""

from __future__ import annotations

from typing import Any

from etcd3 import etcdrpc

from adapters.etcd.connection import DEFAULT_TIMEOUT, EtcdConnection
from adapters.etcd.keyspace import ALL_KEYS, as_text


class EtcdLocalReader:
    def __init__(
        self,
        client_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connection: EtcdConnection | None = None,
    ) -> None:
        self._connection = connection or EtcdConnection(client_url, timeout=timeout)

    async def get(self, name: str) -> str | None:
        if not name:
            return None
        request = etcdrpc.RangeRequest(key=name.encode(), serializable=True)
        response = await self._range(request)
        return as_text(response.kvs[0].value) if response.kvs else None

    async def list(self) -> dict[str, str]:
        request = etcdrpc.RangeRequest(
            **ALL_KEYS,
            serializable=True,
            sort_order=etcdrpc.RangeRequest.ASCEND,
            sort_target=etcdrpc.RangeRequest.KEY,
        )
        response = await self._range(request)
        return {as_text(kv.key): as_text(kv.value) for kv in response.kvs}

    async def _range(self, request: etcdrpc.RangeRequest) -> Any:
        # No "has leader" requirement: answering without one is the point.
        return await self._connection.call(
            self._connection.kv.Range, request, require_leader=False
        )

    def close(self) -> None:
        self._connection.close()
