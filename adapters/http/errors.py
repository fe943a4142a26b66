"""What an exception answers over HTTP: one table for the Starlette routes and the bare ASGI
handlers, so that both say the same (docs/http.md, "Errors"). Never a traceback."""

from __future__ import annotations

import logging
from typing import NamedTuple

from adapters.http.asgi import Scope, Send, error
from application.http_access import Forbidden, Unauthenticated
from application.ports import StorageUnavailable

log = logging.getLogger("registry-service.http")

INTERNAL = "internal error; the daemon's log has the details"


class ErrorAnswer(NamedTuple):
    status: int
    message: str
    headers: dict[str, str]


def error_answer(exc: Exception, request: str) -> ErrorAnswer:
    """``request`` (method and path) names the request in the log when ``exc`` is a bug."""
    if isinstance(exc, Unauthenticated):
        return ErrorAnswer(401, str(exc), {"WWW-Authenticate": 'Bearer realm="registry"'})
    if isinstance(exc, Forbidden):
        return ErrorAnswer(403, str(exc), {})
    if isinstance(exc, ValueError):  # BadQuery, InvalidServiceName, InvalidRecord
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ErrorAnswer(400, text.removeprefix("Error: "), {})
    if isinstance(exc, StorageUnavailable):
        return ErrorAnswer(503, f"the registry cannot do this now: {exc}", {"Retry-After": "1"})
    log.error("HTTP %s failed", request, exc_info=exc)
    return ErrorAnswer(500, INTERNAL, {})


async def send_error_answer(send: Send, exc: Exception, scope: Scope) -> None:
    """``exc``'s answer from a bare ASGI handler (what the Starlette routes answer)."""
    answer = error_answer(exc, f"{scope['method']} {scope['path']}")
    headers = [(name.lower().encode(), value.encode()) for name, value in answer.headers.items()]
    await error(send, answer.status, answer.message, headers)
