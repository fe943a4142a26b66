"""Turns for writers woken all at once: a few start per trio scheduler round.

A put wakes every watcher at once. trio runs each runnable task one step per
scheduler round, so with 1000 watchers writing, every round is about 1000 steps
of Yamux, Noise and PSK work, and anything else on the instance (a `get` takes
a dozen rounds, the etcd watch feed a few) waits that long for each of its steps:
at 1000 watchers a get waited 2.2 s at p99 during a burst of puts
(benchmarks/bench_scale.py). With turns, at most ``per_round`` woken writers start
per round, first come first served; the others are parked, off the run queue.

Nothing is held while writing: a writer whose write blocks (a client that stopped
reading) delays no one, unlike a semaphore around the write.
"""

from __future__ import annotations

from collections import deque

import trio

# Writers let start per scheduler round: small enough that a round stays a few
# milliseconds at 1000 watchers, large enough that the rounds' own cost (an epoll
# call each) stays small against the writes.
WRITERS_PER_ROUND = 8


class FairTurns:
    def __init__(self, per_round: int = WRITERS_PER_ROUND) -> None:
        if per_round < 1:
            raise ValueError("at least one writer must start per round")
        self._per_round = per_round
        self._started = 0  # writers let start since the pacer's last round
        self._waiting: deque[trio.Event] = deque()
        self._pacing = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def turn(self) -> None:
        """Return when this writer may start (at once while few are writing)."""
        if self._started < self._per_round and not self._waiting:
            self._started += 1
            self._pace()
            await trio.lowlevel.checkpoint()
            return
        ready = trio.Event()
        self._waiting.append(ready)
        self._pace()
        await ready.wait()

    def _pace(self) -> None:
        if not self._pacing:
            self._pacing = True
            trio.lowlevel.spawn_system_task(self._rounds, name="watch write turns")

    async def _rounds(self) -> None:
        """Once per scheduler round: let the next few start; end when nobody waits."""
        try:
            while True:
                await trio.lowlevel.checkpoint()  # the rest of this round runs first
                self._started = 0
                while self._waiting and self._started < self._per_round:
                    self._waiting.popleft().set()  # a cancelled waiter's turn is lost
                    self._started += 1
                if not self._waiting and not self._started:
                    return
        finally:
            self._pacing = False
