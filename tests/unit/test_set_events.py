"""adapters/libp2p/set_events.py: a set Event swapped for the shared one wakes its waiters,
and every later wait returns at once (trio's Event cannot be cleared: pinned here)."""

from __future__ import annotations

import trio
import trio.testing

from adapters.libp2p.set_events import SET, set_for_good


def test_trio_events_still_cannot_be_cleared() -> None:
    assert not hasattr(trio.Event, "clear")


async def test_waiters_of_the_swapped_event_wake_and_later_ones_return_at_once() -> None:
    event = trio.Event()
    woken: list[str] = []

    async def wait(name: str) -> None:
        await event.wait()
        woken.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait, "a")
        nursery.start_soon(wait, "b")
        await trio.testing.wait_all_tasks_blocked()
        kept = set_for_good(event)
        assert kept is SET and event.is_set()
    assert sorted(woken) == ["a", "b"]
    with trio.fail_after(1):
        await kept.wait()
    assert SET.statistics().tasks_waiting == 0
