"""FairTurns: writers woken at once start a few per trio scheduler round."""

from __future__ import annotations

import pytest
import trio

from adapters.libp2p.fair_turns import FairTurns


class Rounds:
    """Counts scheduler rounds: one step of its own per round."""

    def __init__(self) -> None:
        self.now = 0

    async def run(self) -> None:
        while True:
            await trio.lowlevel.checkpoint()
            self.now += 1


async def test_writers_woken_at_once_start_a_few_per_round() -> None:
    turns = FairTurns(per_round=8)
    rounds = Rounds()
    started: list[int] = []

    async def writer() -> None:
        await turns.turn()
        started.append(rounds.now)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(rounds.run)
        await trio.lowlevel.checkpoint()
        async with trio.open_nursery() as writers:
            for _ in range(200):
                writers.start_soon(writer)
        nursery.cancel_scope.cancel()
    assert len(started) == 200
    per_round = {r: started.count(r) for r in set(started)}
    # trio runs a round's tasks in random order, so the counter's step may fall before or
    # after a round's writers: one count may hold two rounds' starts, never more.
    assert max(per_round.values()) <= 2 * 8, per_round
    assert max(started) - min(started) >= 200 // 8 - 1, per_round


async def test_other_work_runs_between_turns() -> None:
    """A task that is not a writer gets a step in every round while 500 writers wait."""
    turns = FairTurns(per_round=4)
    writes_seen: list[int] = []
    written = 0

    async def writer() -> None:
        nonlocal written
        await turns.turn()
        written += 1

    async def other() -> None:
        for _ in range(20):
            before = written
            await trio.lowlevel.checkpoint()
            writes_seen.append(written - before)

    async with trio.open_nursery() as nursery:
        for _ in range(500):
            nursery.start_soon(writer)
        nursery.start_soon(other)
    assert written == 500
    assert max(writes_seen) <= 4 + 4, writes_seen  # at most a round's worth, either side


async def test_a_writer_that_blocks_holds_no_turn() -> None:
    turns = FairTurns(per_round=1)
    done = 0

    async def stuck() -> None:
        await turns.turn()
        await trio.sleep_forever()

    async def writer() -> None:
        nonlocal done
        await turns.turn()
        done += 1

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(stuck)
            async with trio.open_nursery() as writers:
                for _ in range(50):
                    writers.start_soon(writer)
            nursery.cancel_scope.cancel()
    assert done == 50


async def test_a_cancelled_waiter_does_not_stop_the_turns() -> None:
    turns = FairTurns(per_round=1)
    done = 0

    async def writer() -> None:
        nonlocal done
        await turns.turn()
        done += 1

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(writer)
            with trio.move_on_after(0):
                await turns.turn()
            for _ in range(5):
                nursery.start_soon(writer)
    assert done == 10
    assert turns.waiting == 0


def test_at_least_one_writer_per_round() -> None:
    with pytest.raises(ValueError):
        FairTurns(per_round=0)
