"""A response made and sent only in its turn, for answers too large to make many at once.

`GET /v1/services` is the whole registry in one JSON object: ~80 MB of the daemon's
memory while it is made and ~40 MB while it is sent, at 100 000 records. A thousand
parked blocking queries woken by one PUT would all make theirs at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class InTurn(Response):
    def __init__(self, turns: trio.Semaphore, make: Callable[[], Awaitable[Response]]) -> None:
        super().__init__()
        self._turns = turns
        self._make = make

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._turns:  # held until the answer is sent
            response = await self._make()
            await response(scope, receive, send)
