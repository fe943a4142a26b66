"""Connect to several peers at once and keep those that answer, without waiting on dead ones."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio

P = TypeVar("P", bound=Hashable)

# Once one peer is connected, the others get this long again as it took (at least
# MIN_GRACE): live peers on one network connect in about the same time, and a
# blackholed one must not hold the request up for a whole dial timeout.
MIN_GRACE = 0.15


class PeerTimedOut(TimeoutError):
    """A peer did not complete its connection in time."""


@dataclass
class Connected(Generic[P]):
    live: list[P] = field(default_factory=list)  # in the order they connected
    failures: dict[P, BaseException] = field(default_factory=dict)


async def connect_live(
    peers: Sequence[P],
    connect: Callable[[P], Awaitable[object]],
    *,
    timeout: float,
    min_grace: float = MIN_GRACE,
) -> Connected[P]:
    """Dial every peer concurrently; return when all are settled, or soon after the first.

    A peer still connecting when the others are done is given up for now (it
    counts as a failure): it is either dead or much slower than its siblings.
    """
    result: Connected[P] = Connected()
    if not peers:
        return result
    started = time.monotonic()
    first_success = trio.Event()
    all_settled = trio.Event()
    unique = list(dict.fromkeys(peers))

    def settled() -> None:
        if len(result.live) + len(result.failures) == len(unique):
            all_settled.set()

    async def one(peer: P) -> None:
        try:
            with trio.fail_after(timeout):
                await connect(peer)
        except trio.TooSlowError:
            result.failures[peer] = PeerTimedOut(f"no answer within {timeout:g} s")
        except Exception as exc:
            result.failures[peer] = exc
        else:
            result.live.append(peer)
            first_success.set()
        settled()

    async with trio.open_nursery() as nursery:
        for peer in unique:
            nursery.start_soon(one, peer)

        async def settle() -> None:
            await first_success.wait()
            grace = max(min_grace, time.monotonic() - started)
            with trio.move_on_after(grace):
                await all_settled.wait()
            nursery.cancel_scope.cancel()

        async def done() -> None:
            await all_settled.wait()
            nursery.cancel_scope.cancel()

        nursery.start_soon(settle)
        nursery.start_soon(done)
    waited = time.monotonic() - started
    for peer in unique:
        if peer not in result.failures and peer not in result.live:
            result.failures[peer] = PeerTimedOut(f"still connecting after {waited:.2f} s")
    return result
