"""Wake-ups for many waiters at once, a few per trio scheduler round.

A put wakes every watcher. trio runs each runnable task one step per scheduler
round, so with 1000 watchers woken at once every round is about 1000 steps of
Yamux, Noise and PSK work, and anything else on the instance (a `get` takes a
dozen rounds, the etcd watch feed a few) waits that long for each of its steps:
at 1000 watchers a get waited 2.2 s at p99 during a burst of puts
(benchmarks/bench_scale.py). Through FairTurns at most ``per_round`` of the woken
start per round, first come first served; the others stay parked, off the run
queue, until their turn.

Nothing is held while a woken task writes: one whose write blocks (a client that
stopped reading) delays no one, unlike a semaphore around the write.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import trio

log = logging.getLogger(__name__)

# Wake-ups let through per scheduler round. A woken watcher's write spans several
# rounds, so those in flight add up: at 1000 watchers, get p99 during a burst of puts
# was 60 ms with 1 per round, 125 ms with 2, 190-460 ms with 8 and 1-2 s with 32,
# while a put reached all 1000 as fast with 1 (p99 556 ms) as with 8 (734 ms):
# the rounds' own cost (an epoll call each) is small against the writes.
WAKE_UPS_PER_ROUND = 1


class FairTurns:
    def __init__(self, per_round: int = WAKE_UPS_PER_ROUND) -> None:
        if per_round < 1:
            raise ValueError("at least one wake-up must go through per round")
        self._per_round = per_round
        self._through = 0  # wake-ups let through since the pacer's last round
        self._waiting: deque[Callable[[], None]] = deque()
        self._pacing = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def wake(self, wake_up: Callable[[], None]) -> None:
        """Call ``wake_up`` now if few went through this round, else in a later round."""
        if self._through < self._per_round and not self._waiting:
            self._through += 1
            wake_up()
        else:
            self._waiting.append(wake_up)
        if not self._pacing:
            self._pacing = True
            trio.lowlevel.spawn_system_task(self._rounds, name="fair turns")

    async def _rounds(self) -> None:
        """Once per scheduler round: the next few wake-ups; ends when none is left."""
        try:
            while True:
                await trio.lowlevel.checkpoint()  # the rest of this round runs first
                self._through = 0
                while self._waiting and self._through < self._per_round:
                    self._through += 1
                    wake_up = self._waiting.popleft()
                    try:
                        wake_up()
                    except Exception:  # one bad wake-up must not stop the others'
                        log.exception("a wake-up failed")
                if not self._waiting and not self._through:
                    return
        finally:
            self._pacing = False
