"""Counts the calls in progress at once and holds each until released: for tests of turns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

T = TypeVar("T")


class HeldCalls:
    def __init__(self) -> None:
        self.now = self.most = 0
        self.release = trio.Event()

    async def hold(self, call: Callable[[], Awaitable[T]]) -> T:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await self.release.wait()
            return await call()
        finally:
            self.now -= 1
