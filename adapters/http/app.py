"""The Starlette app of the HTTP API: routes to the use cases, JSON in and out (docs/http.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response

from adapters.http.errors import INTERNAL, error_answer
from adapters.http.in_turn import InTurn
from adapters.http.openapi import OPENAPI_DOCUMENT
from adapters.http.query import non_negative_int, wait_seconds
from adapters.http.record_endpoint import RECORD_PREFIX, RecordEndpoint, stored_record
from adapters.http.responses import error_response, json_response, raw_json_response
from adapters.http.sse_endpoint import EVENTS_PATH, SseEndpoint
from adapters.http.ui_files import ui_routes
from adapters.http.wakeup import Wakeup
from application.http_access import Caller, Forbidden, HttpAccess, Unauthenticated
from application.http_health import Health
from application.http_registry import HttpRegistry
from application.ports import StorageUnavailable
from application.prometheus_targets import TargetGroup
from application.watch import WatchHub
from application.watch_ports import ChangeHistory
from domain.instance_status import InstanceStatus
from domain.revision_wire import WriteOutcome, condition_failed_text
from domain.watch_wire import WatchRequest
from domain.wire import MAX_REQUEST_BYTES

log = logging.getLogger("registry-service.http")

INDEX, STALE = "X-Registry-Index", "X-Registry-Stale"
# Whole lists made and sent at once (adapters/http/in_turn.py); the others wait.
LISTS_AT_ONCE = 2
BODY_TIMEOUT = 10.0  # a request body must arrive within this (a slow client is cut off)


@dataclass(frozen=True)
class HttpParts:
    registry: HttpRegistry
    access: HttpAccess
    hub: WatchHub
    history: ChangeHistory
    status: Callable[[], Awaitable[InstanceStatus]]
    health: Callable[[], Awaitable[Health]]
    targets: Callable[[], Awaitable[list[TargetGroup]]]
    max_body: int = MAX_REQUEST_BYTES
    body_timeout: float = BODY_TIMEOUT
    progress_interval: float = 5.0


class _TooLarge(Exception):
    pass


def build_app(parts: HttpParts) -> Any:
    api = parts.registry
    openapi = msgspec.json.encode(OPENAPI_DOCUMENT)
    list_turns = trio.Semaphore(LISTS_AT_ONCE)

    def index_headers(index: int, stale: bool) -> dict[str, str]:
        headers = {INDEX: str(index)}
        if stale:
            headers[STALE] = "true"
        return headers

    async def list_services(request: Request) -> Response:
        parts.access.read(request.headers.get("authorization"))
        prefix = request.query_params.get("prefix", "")
        index = non_negative_int(request.query_params, "index")
        if index is not None:
            wait = wait_seconds(request.query_params.get("wait"))
            wakeup = Wakeup(request.scope)
            subscription = await api.park(WatchRequest(prefix=prefix, since_revision=index),
                                          wakeup.wake)
            if subscription is not None:
                try:  # (a client gone meanwhile gets the answer all the same: it is cheap)
                    await wakeup.wait(request.receive, wait)
                finally:
                    subscription.close()  # at once when the client goes away

        async def whole_list() -> Response:
            answer = await api.list(prefix)
            body, unreadable = _records_object(answer.entries)
            headers = index_headers(answer.index, answer.stale)
            if unreadable:
                headers["X-Registry-Unreadable"] = ",".join(unreadable)
            return raw_json_response(body, headers=headers)

        return InTurn(list_turns, whole_list)

    async def put_service(request: Request) -> Response:
        caller = parts.access.write(request.headers.get("authorization"))
        name = request.path_params["name"]
        cas = non_negative_int(request.query_params, "cas")
        body = await _body(request, parts.max_body, parts.body_timeout)
        try:
            info_str = body.decode("utf-8").strip()
        except UnicodeDecodeError:
            return error_response(400, "the body is not UTF-8 text")
        outcome = await api.put(caller, name, info_str, cas)
        return _written(caller, "PUT", name, cas, outcome, deleted=None)

    async def delete_service(request: Request) -> Response:
        caller = parts.access.write(request.headers.get("authorization"))
        name = request.path_params["name"]
        cas = non_negative_int(request.query_params, "cas")
        outcome = await api.delete(caller, name, cas)
        return _written(caller, "DELETE", name, cas, outcome, deleted=outcome.deleted)

    async def status(request: Request) -> Response:
        parts.access.read(request.headers.get("authorization"))
        answer = await parts.status()
        return json_response(answer, headers={INDEX: str(answer.revision)})

    async def health(request: Request) -> Response:
        state = await parts.health()
        ok = state is Health.OK or (state is Health.STALE and "stale" in request.query_params)
        headers = {INDEX: str(api.index)}
        if state is Health.STALE:
            headers[STALE] = "true"
        return json_response({"Status": state.value}, 200 if ok else 503, headers)

    async def targets(request: Request) -> Response:
        parts.access.read(request.headers.get("authorization"))
        return json_response(await parts.targets())

    async def openapi_document(request: Request) -> Response:
        return raw_json_response(openapi)

    events = SseEndpoint(parts.access, parts.hub, parts.history, parts.progress_interval)
    record = RecordEndpoint(api, parts.access)
    one_record = _ByMethod({"GET": record, "HEAD": record, "PUT": request_response(put_service),
                            "DELETE": request_response(delete_service)})
    routes = [
        Route("/v1/services", list_services, methods=["GET"]),
        Route("/v1/services/{name:path}", one_record, methods=list(one_record.methods)),
        Route("/v1/status", status, methods=["GET"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/prometheus/targets", targets, methods=["GET"]),
        Route("/v1/openapi.json", openapi_document, methods=["GET"]),
        *ui_routes(),  # the dashboard (docs/http.md, "The dashboard")
    ]
    framework = Starlette(routes=routes, exception_handlers=_EXCEPTION_HANDLERS)

    def app(scope: Any, receive: Any, send: Any) -> Awaitable[None]:
        # Two routes bypass the framework: a record is the hot read and the blocking query
        # that fleets park, and an SSE listener lives for hours (record_endpoint.py,
        # sse_endpoint.py). A plain function returning the handler's coroutine: no frame
        # of its own held while an SSE listener stays.
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path.startswith(RECORD_PREFIX) and method in _GET_OR_HEAD:
                return record(scope, receive, send)
            if path == EVENTS_PATH and method == "GET":
                return events(scope, receive, send)
        return framework(scope, receive, send)  # type: ignore[no-any-return]

    return app


class _ByMethod:
    """One route's ASGI app per method. A path served by one route: Starlette's 405 names
    only the methods of the first route whose path matched (a POST to a record answered
    ``Allow: PUT``). GET and HEAD of a record reach the framework only if ``app`` stops
    handing them to the record endpoint first."""

    def __init__(self, apps: dict[str, Callable[[Any, Any, Any], Awaitable[None]]]) -> None:
        self._apps = apps
        self.methods = tuple(apps)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._apps[scope["method"]](scope, receive, send)


def _written(
    caller: Caller, method: str, name: str, cas: int | None, outcome: WriteOutcome,
    *, deleted: int | None,
) -> Response:
    headers = {"X-Registry-Index": str(outcome.revision)}
    if not outcome.ok:
        log.info("HTTP %s %s by token %s: condition cas=%s failed at revision %d",
                 method, name, caller.name, cas, outcome.revision)
        assert cas is not None  # only a condition can fail
        return error_response(409, condition_failed_text(name, cas, outcome.revision),
                              headers, Revision=outcome.revision)
    log.info("HTTP %s %s by token %s: revision %d", method, name, caller.name, outcome.revision)
    body: dict[str, int] = {"Revision": outcome.revision}
    if deleted is not None:
        body["Deleted"] = deleted
    return json_response(body, headers=headers)


async def _body(request: Request, limit: int, timeout: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    with trio.fail_after(timeout):
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
    return b"".join(chunks)


_GET_OR_HEAD = ("GET", "HEAD")


def _records_object(entries: dict[str, str]) -> tuple[bytes, list[str]]:
    """``{"name": <record>, ...}`` spliced from the stored records; and the names left out."""
    parts: list[bytes] = []
    unreadable: list[str] = []
    for name, info_str in entries.items():
        record = stored_record(info_str)
        if record is None:
            unreadable.append(name)
            continue
        parts.append(msgspec.json.encode(name) + b":" + record)
    return b"{" + b",".join(parts) + b"}", unreadable


async def _shared(request: Request, exc: Exception) -> Response:
    error = error_answer(exc, f"{request.method} {request.url.path}")
    return error_response(error.status, error.message, error.headers)


async def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(413, f"the body is over {MAX_REQUEST_BYTES} bytes",
                          {"Connection": "close"})


async def _too_slow(request: Request, exc: Exception) -> Response:
    return error_response(408, "the body did not arrive in time", {"Connection": "close"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail, dict(exc.headers or {}))


async def _internal(request: Request, exc: Exception) -> Response:
    log.exception("HTTP %s %s failed", request.method, request.url.path)
    return error_response(500, INTERNAL)


_EXCEPTION_HANDLERS: dict[Any, Any] = {
    Unauthenticated: _shared,
    Forbidden: _shared,
    ValueError: _shared,  # BadQuery too
    StorageUnavailable: _shared,
    _TooLarge: _too_large,
    trio.TooSlowError: _too_slow,
    HTTPException: _http_error,
    Exception: _internal,
}
