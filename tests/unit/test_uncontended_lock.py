"""UncontendedLock: trio.Lock's behaviour, minus the scheduler pass on a free lock."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from scheduler_probe import others_ran_while

from adapters.libp2p.uncontended_lock import UncontendedLock


async def test_a_free_lock_is_taken_without_a_scheduler_pass() -> None:
    lock = UncontendedLock()

    async def take_three_times() -> None:
        for _ in range(3):
            async with lock:
                assert lock.locked()
        assert not lock.locked()

    assert not await others_ran_while(take_three_times)


async def test_trio_lock_does_pass_through_the_scheduler() -> None:
    """The control: what the class exists to avoid (fails if trio stops doing it)."""
    lock = trio.Lock()

    async def take_twenty_times() -> None:
        # trio may run a batch of ready tasks in either order: the other task runs at one
        # of these passes, not always at the first.
        for _ in range(20):
            async with lock:
                pass

    assert await others_ran_while(take_twenty_times)


async def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock = UncontendedLock()
    order: list[int] = []

    async def wait_turn(n: int) -> None:
        async with lock:
            order.append(n)
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        await lock.acquire()
        for n in range(4):
            nursery.start_soon(wait_turn, n)
            await trio.testing.wait_all_tasks_blocked()
        lock.release()
    assert order == [0, 1, 2, 3]
    assert not lock.locked()


async def test_a_free_lock_goes_to_a_waiter_before_a_newcomer() -> None:
    lock = UncontendedLock()
    got: list[str] = []

    async def waiter() -> None:
        async with lock:
            got.append("waiter")

    async with trio.open_nursery() as nursery:
        await lock.acquire()
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        lock.release()  # handed to the waiter, who has not run yet
        with pytest.raises(trio.WouldBlock):
            lock.acquire_nowait()
        async with lock:
            got.append("newcomer")
    assert got == ["waiter", "newcomer"]


async def test_a_cancelled_waiter_never_owns_it() -> None:
    lock = UncontendedLock()
    async with trio.open_nursery() as nursery:
        await lock.acquire()
        cancelled = trio.CancelScope()

        async def waiter() -> None:
            with cancelled:
                await lock.acquire()
            assert cancelled.cancelled_caught

        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        cancelled.cancel()
        await trio.testing.wait_all_tasks_blocked()
        lock.release()
    assert not lock.locked()
    async with lock:  # free again, at once
        pass


async def test_misuse_fails_as_with_trio_lock() -> None:
    lock = UncontendedLock()
    with pytest.raises(RuntimeError, match="don't own"):
        lock.release()
    await lock.acquire()
    with pytest.raises(RuntimeError, match="re-acquire"):
        await lock.acquire()
    with pytest.raises(RuntimeError, match="re-acquire"):
        lock.acquire_nowait()

    async def other_releases() -> None:
        with pytest.raises(RuntimeError, match="don't own"):
            lock.release()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other_releases)
    lock.release()
    lock.acquire_nowait()
    assert lock.locked()
