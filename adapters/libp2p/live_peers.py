"""Reach one of several peers quickly, without waiting on dead ones or dialling them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio

P = TypeVar("P", bound=Hashable)

# The next peer is dialled when the previous one failed, or has not connected
# within this: a connection on a LAN or loopback takes tens of milliseconds, so
# one dial usually suffices (each costs both sides a handshake), and a blackholed
# peer holds nobody up for longer than this.
STAGGER = 0.25


class PeerTimedOut(TimeoutError):
    """A peer did not complete its connection in time."""


@dataclass
class Connected(Generic[P]):
    live: list[P] = field(default_factory=list)  # in the order they connected
    failures: dict[P, BaseException] = field(default_factory=dict)


async def connect_first(
    peers: Sequence[P],
    connect: Callable[[P], Awaitable[object]],
    *,
    timeout: float,
    stagger: float = STAGGER,
    background: trio.Nursery | None = None,
) -> Connected[P]:
    """Dial ``peers`` in this order, staggered; return at the first connection, or when all failed.

    Dials still under way then go on in ``background`` if given (a handshake cut off
    half-way costs the peer work for nothing, and the connection may serve later);
    without one they are cancelled. Peers not dialled yet are in neither list.
    """
    unique = list(dict.fromkeys(peers))
    result: Connected[P] = Connected()
    if not unique:
        return result
    done = trio.Event()

    async def one(peer: P, failed: trio.Event) -> None:
        try:
            with trio.fail_after(timeout):
                await connect(peer)
        except trio.TooSlowError:
            result.failures[peer] = PeerTimedOut(f"no answer within {timeout:g} s")
            failed.set()
        except Exception as exc:
            result.failures[peer] = exc
            failed.set()
        else:
            result.live.append(peer)
            done.set()
        if len(result.failures) == len(unique):
            done.set()

    async def launch_and_wait(dials: trio.Nursery) -> None:
        async with trio.open_nursery() as waits:

            async def launcher() -> None:
                for peer in unique:
                    failed = trio.Event()
                    dials.start_soon(one, peer, failed)
                    with trio.move_on_after(stagger):
                        await failed.wait()

            waits.start_soon(launcher)
            await done.wait()
            waits.cancel_scope.cancel()

    if background is None:
        async with trio.open_nursery() as dials:
            await launch_and_wait(dials)
            dials.cancel_scope.cancel()
    else:
        await launch_and_wait(background)
    return Connected(live=list(result.live), failures=dict(result.failures))
