"""Dropping old revisions from etcd's history (what `/watch/0.1` SinceRevision reads)."""

from __future__ import annotations

from etcd3 import etcdrpc

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.keyspace import ALL_KEYS


async def compact_history(connection: EtcdConnection, keep: int = 0) -> tuple[int, int]:
    """Forget every revision before (current - ``keep``); returns (compacted at, current).

    Watchers resuming from before that revision get RESET and the current state.
    """
    if keep < 0:
        raise ValueError(f"--keep must be 0 or more, got {keep}")
    probe = etcdrpc.RangeRequest(**ALL_KEYS, limit=1, keys_only=True)
    current = int((await connection.call(connection.kv.Range, probe)).header.revision)
    target = max(1, current - keep)
    request = etcdrpc.CompactionRequest(revision=target, physical=True)
    try:
        await connection.call(connection.kv.Compact, request)
    except Exception as exc:
        if "already been compacted" not in str(exc):
            raise
    return target, current
