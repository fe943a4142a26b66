"""FairTurns: of many tasks woken at once, a few start per trio scheduler round."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from adapters.libp2p.fair_turns import FairTurns


class Rounds:
    """Counts scheduler rounds: one step of its own per round."""

    def __init__(self) -> None:
        self.now = 0

    async def run(self) -> None:
        while True:
            await trio.lowlevel.checkpoint()
            self.now += 1


async def parked(events: list[trio.Event], started: list[int], rounds: Rounds) -> None:
    event = trio.Event()
    events.append(event)
    await event.wait()
    started.append(rounds.now)


async def park_and_wake_all(nursery: trio.Nursery, turns: FairTurns, count: int,
                            started: list[int], rounds: Rounds) -> None:
    """``count`` tasks parked, then all woken through ``turns``, as a publish does."""
    events: list[trio.Event] = []
    for _ in range(count):
        nursery.start_soon(parked, events, started, rounds)
    await trio.testing.wait_all_tasks_blocked()
    for event in events:
        turns.wake(event.set)


async def test_tasks_woken_at_once_start_a_few_per_round() -> None:
    turns = FairTurns(per_round=8)
    rounds = Rounds()
    started: list[int] = []
    async with trio.open_nursery() as nursery:
        async with trio.open_nursery() as waiters:
            await park_and_wake_all(waiters, turns, 200, started, rounds)
            nursery.start_soon(rounds.run)
        nursery.cancel_scope.cancel()
    assert len(started) == 200
    per_round = {r: started.count(r) for r in set(started)}
    # trio runs a round's tasks in random order, so the counter's step may fall before or
    # after a round's starts: one count may hold two rounds' starts, never more.
    assert max(per_round.values()) <= 2 * 8, per_round
    assert max(started) - min(started) >= 200 // 8 - 1, per_round


async def test_other_work_runs_between_the_wake_ups() -> None:
    """A task that nobody wakes gets a step in every round while 500 wait for theirs."""
    turns = FairTurns(per_round=4)
    started: list[int] = []
    rounds = Rounds()
    seen_per_step: list[int] = []

    async def other() -> None:
        while len(started) < 500:
            before = len(started)
            await trio.lowlevel.checkpoint()
            seen_per_step.append(len(started) - before)

    async with trio.open_nursery() as nursery:
        await park_and_wake_all(nursery, turns, 500, started, rounds)
        nursery.start_soon(other)
    assert len(started) == 500
    assert max(seen_per_step) <= 4 + 4, seen_per_step  # a round's worth, either side


async def test_a_woken_task_that_blocks_holds_no_turn() -> None:
    turns = FairTurns(per_round=1)
    started: list[int] = []
    rounds = Rounds()

    async def stuck() -> None:
        event = trio.Event()
        turns.wake(event.set)
        await event.wait()
        await trio.sleep_forever()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(stuck)
            async with trio.open_nursery() as waiters:
                await park_and_wake_all(waiters, turns, 50, started, rounds)
            nursery.cancel_scope.cancel()
    assert len(started) == 50


async def test_a_failing_wake_up_does_not_stop_the_others() -> None:
    turns = FairTurns(per_round=1)
    woken: list[int] = []

    def broken() -> None:
        raise RuntimeError("boom")

    for i in range(5):
        turns.wake(broken if i == 2 else (lambda i=i: woken.append(i)))  # type: ignore[misc]
    with trio.fail_after(5):
        while turns.waiting:
            await trio.lowlevel.checkpoint()
    assert woken == [0, 1, 3, 4]


def test_at_least_one_wake_up_per_round() -> None:
    with pytest.raises(ValueError):
        FairTurns(per_round=0)
