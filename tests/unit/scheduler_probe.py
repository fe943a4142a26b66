"""Whether an action passed through trio's scheduler: a task started just before it
runs only if the action checkpointed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio


async def others_ran_while(action: Callable[[], Awaitable[object]]) -> bool:
    ran = False

    async def other() -> None:
        nonlocal ran
        ran = True

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        await action()
        seen = ran
    return seen
