"""A trio lock that costs nothing when nobody else holds it.

``trio.Lock.acquire`` is always a checkpoint: even a free lock sends the task back
through the scheduler. py-libp2p takes one around nearly every read and write (Yamux
session and stream, the stream's state, the TCP stream), and our PSK layer two more, so
one `/get/0.1` exchange went through the scheduler a dozen times for locks alone.
Measured with a js-libp2p client on 32 streams, alternating runs: 1 250-1 320 req/s with
trio's lock, 1 943-2 029 with this one (docs/performance.md, "bench_scale.py").

This lock takes a free lock at once and parks only when another task holds it, handing
ownership over in FIFO order on release, as trio's does. What it drops is the checkpoint
on a free lock: the code these locks guard does socket I/O, which is a checkpoint of its
own, so no task runs unchecked for long. It also makes its parking lot only on first
contention (a connection has several locks, most never contended).
"""

from __future__ import annotations

from types import TracebackType

import trio
from trio.lowlevel import ParkingLot, Task, current_task

__all__ = ["UncontendedLock"]


class UncontendedLock:
    """``trio.Lock``'s interface (acquire, release, ``async with``, ``locked``)."""

    __slots__ = ("_lot", "_owner")

    def __init__(self) -> None:
        self._owner: Task | None = None
        self._lot: ParkingLot | None = None

    def locked(self) -> bool:
        return self._owner is not None

    def acquire_nowait(self) -> None:
        task = current_task()
        if self._owner is None and not self._lot:
            self._owner = task
        elif self._owner is task:
            raise RuntimeError("attempt to re-acquire an already held Lock")
        else:
            raise trio.WouldBlock

    async def acquire(self) -> None:
        task = current_task()
        if self._owner is None and not self._lot:
            self._owner = task
            return
        if self._owner is task:
            raise RuntimeError("attempt to re-acquire an already held Lock")
        if self._lot is None:
            self._lot = ParkingLot()
        # release() makes us the owner before it wakes us; a cancelled wait leaves the lot.
        await self._lot.park()

    def release(self) -> None:
        if current_task() is not self._owner:
            raise RuntimeError("can't release a Lock you don't own")
        if self._lot:
            (self._owner,) = self._lot.unpark(count=1)
        else:
            self._owner = None

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
