"""Writes straight into an etcd member, as another writer of the registry would."""

from __future__ import annotations

from collections.abc import Sequence

from etcd3 import etcdrpc
from registry_process import RegistryProcess

from adapters.etcd.connection import EtcdConnection
from entrypoints.common.local_etcd import local_etcd


async def etcd_writes(
    client_url: str, puts: dict[str, str], deletes: Sequence[str] = ()
) -> int:
    """Straight into etcd, 100 per transaction; returns the revision after the last."""
    connection = EtcdConnection(client_url, timeout=30.0)
    revision = 0
    try:
        items = list(puts.items())
        for start in range(0, len(items), 100):
            ops = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(
                key=name.encode(), value=value.encode()))
                for name, value in items[start:start + 100]]
            response = await connection.call(connection.kv.Txn, etcdrpc.TxnRequest(success=ops))
            revision = int(response.header.revision)
        for name in deletes:
            response = await connection.call(
                connection.kv.DeleteRange, etcdrpc.DeleteRangeRequest(key=name.encode()))
            revision = int(response.header.revision)
    finally:
        connection.close()
    return revision


def member_client_url(registry: RegistryProcess) -> str:
    """The client URL of a registry-service's own etcd member."""
    return local_etcd(etcd_ip=registry.ip, etcd_client_port=registry.etcd_client_port,
                      etcd_peer_port=registry.etcd_peer_port,
                      etcd_data_dir=registry.data_dir).client_url
