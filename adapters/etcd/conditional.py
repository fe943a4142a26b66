"""Writes conditioned on a record's mod revision: one etcd transaction each.

IfRevision N compares the key's mod revision with N; etcd gives an absent key
mod revision 0, so N = 0 means "only if absent". When the comparison fails, the
same transaction reads the key, so the answer names its current revision.
"""

from __future__ import annotations

from typing import Any

from etcd3 import etcdrpc

from adapters.etcd.connection import EtcdConnection
from domain.revision_wire import WriteOutcome


async def put_if(
    connection: EtcdConnection, name: str, info_str: str, if_revision: int | None
) -> WriteOutcome:
    put = etcdrpc.RequestOp(
        request_put=etcdrpc.PutRequest(key=name.encode(), value=info_str.encode())
    )
    response = await _transaction(connection, name, if_revision, put)
    if response.succeeded:
        return WriteOutcome(ok=True, revision=int(response.header.revision))
    return WriteOutcome(ok=False, revision=_current_revision(response))


async def delete_if(
    connection: EtcdConnection, name: str, if_revision: int | None
) -> WriteOutcome:
    delete = etcdrpc.RequestOp(
        request_delete_range=etcdrpc.DeleteRangeRequest(key=name.encode())
    )
    response = await _transaction(connection, name, if_revision, delete)
    if response.succeeded:
        deleted = int(response.responses[0].response_delete_range.deleted)
        return WriteOutcome(ok=True, revision=int(response.header.revision), deleted=deleted)
    return WriteOutcome(ok=False, revision=_current_revision(response))


async def _transaction(
    connection: EtcdConnection, name: str, if_revision: int | None, operation: Any
) -> Any:
    compare = []
    if if_revision is not None:
        compare.append(
            etcdrpc.Compare(
                key=name.encode(),
                result=etcdrpc.Compare.EQUAL,
                target=etcdrpc.Compare.MOD,
                mod_revision=if_revision,
            )
        )
    read = etcdrpc.RequestOp(request_range=etcdrpc.RangeRequest(key=name.encode()))
    request = etcdrpc.TxnRequest(compare=compare, success=[operation], failure=[read])
    return await connection.call(connection.kv.Txn, request)


def _current_revision(response: Any) -> int:
    kvs = response.responses[0].response_range.kvs
    return int(kvs[0].mod_revision) if kvs else 0
