"""The little the bare ASGI handlers (events, one record) need: the request's headers and
query as Starlette reads them, and answers with a body in one message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON = (b"content-type", b"application/json")
_encode = msgspec.json.Encoder().encode

# Our server's (adapters/http/connection.py) ASGI extension: ``scope["extensions"][WAKE]()``
# makes the request's pending (or next) ``receive()`` return ``{"type": WAKE}``. A task
# that waits for news or its client's disconnect on ``receive()`` is then woken without
# a cancellation (docs/performance.md, "bench_http.py").
WAKE = "physarum.wake"


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header; ``name`` in lower case (the server lowers them)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def query(scope: Scope) -> dict[str, str]:
    """As Starlette's ``request.query_params``: blank values kept, the last one wins."""
    return dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))


async def answer(
    send: Send, status: int, headers: Headers, body: bytes = b"",
    content_type: tuple[bytes, bytes] | None = JSON,
) -> None:
    """An answer with its whole body. As Starlette's Response: ``content-length`` (not on a
    304), then ``content-type``, after ``headers``."""
    if status != 304:
        headers.append((b"content-length", b"%d" % len(body)))
    if content_type is not None:
        headers.append(content_type)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def error(send: Send, status: int, message: str, headers: Headers | None = None) -> None:
    """A JSON error, ``{"Error": message}``, as every route of the API answers one."""
    await answer(send, status, headers or [], _encode({"Error": message}))
