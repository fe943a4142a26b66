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
    background: trio.Nursery | None = None,
) -> Connected[P]:
    """Dial every peer concurrently; return when all are settled, or soon after the first.

    A peer still connecting then is left out (counted as a failure): it is dead, or
    much slower than its siblings. Its dial goes on in ``background`` if given (a
    handshake cut off half-way costs the peer work for nothing, and the connection
    may serve later); without one, it is cancelled.
    """
    unique = list(dict.fromkeys(peers))
    result: Connected[P] = Connected()
    if not unique:
        return result
    started = time.monotonic()
    first_success = trio.Event()
    all_settled = trio.Event()

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
        if len(result.live) + len(result.failures) == len(unique):
            all_settled.set()

    async def settled() -> None:
        async with trio.open_nursery() as waits:

            async def after_first() -> None:
                await first_success.wait()
                with trio.move_on_after(max(min_grace, time.monotonic() - started)):
                    await all_settled.wait()
                waits.cancel_scope.cancel()

            async def all_of_them() -> None:
                await all_settled.wait()
                waits.cancel_scope.cancel()

            waits.start_soon(after_first)
            waits.start_soon(all_of_them)

    if background is None:
        async with trio.open_nursery() as dials:
            for peer in unique:
                dials.start_soon(one, peer)
            await settled()
            dials.cancel_scope.cancel()
    else:
        for peer in unique:
            background.start_soon(one, peer)
        await settled()
    waited = time.monotonic() - started
    out: Connected[P] = Connected(live=list(result.live), failures=dict(result.failures))
    for peer in unique:
        if peer not in out.failures and peer not in out.live:
            out.failures[peer] = PeerTimedOut(f"still connecting after {waited:.2f} s")
    return out
