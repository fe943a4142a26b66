"""How request handlers read and write when the store may have lost its quorum."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from application.cluster.quorum import QuorumStatus
from application.ports import StorageUnavailable

T = TypeVar("T")


class StorageGuard:
    """Stale-capable reads and quorum-noting writes, shared by every protocol version."""

    def __init__(self, quorum: QuorumStatus, *, local_reads: bool) -> None:
        self._quorum = quorum
        self._local_reads = local_reads

    async def write(self, write: Awaitable[T]) -> T:
        try:
            return await write
        except StorageUnavailable:
            # Fresher than the watch's last round: the client's next read (it asks
            # one to learn why its write was refused) must come back marked stale.
            self._quorum.note_failed_write()
            raise

    async def read(
        self, fresh: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]] | None
    ) -> tuple[T, bool]:
        """The answer, and whether it may be stale (read without quorum)."""
        if local is None or not self._local_reads:
            return await fresh(), False
        if self._quorum.lost:
            return await local(), True
        try:
            return await fresh(), False
        except StorageUnavailable:
            return await local(), True
