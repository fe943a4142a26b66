"""Ends a long request (SSE, a parked blocking query) as soon as its client goes away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio


async def cancel_on_disconnect(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]], scope: trio.CancelScope
) -> None:
    """Cancel ``scope`` when the ASGI server says the client disconnected."""
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
