"""`GET /v1/services/{name}` (and HEAD) as a bare ASGI handler, not a Starlette route.

One record is the hot read, and the blocking query on it is what a fleet parks by the
thousand (docs/performance.md, "bench_http.py"): Starlette's Request, Response and
routing were about a tenth of a request's cost, and its disconnect watch a second task
per parked query. The answers are Starlette's to the byte: the same headers, the same
JSON errors (adapters/http/errors.py).
"""

from __future__ import annotations

import msgspec

from adapters.http.asgi import Headers, Receive, Scope, Send, answer, error, header, query
from adapters.http.errors import send_error_answer
from adapters.http.query import non_negative_int, wait_seconds
from adapters.http.wakeup import Waited, Wakeup
from application.http_access import HttpAccess
from application.http_registry import HttpRegistry, RecordAnswer
from domain.watch_wire import WatchRequest

RECORD_PREFIX = "/v1/services/"
_RECORD_CHECK = msgspec.json.Decoder(dict)


def stored_record(info_str: str) -> bytes | None:
    """The stored InfoStr as it is, when it is a JSON object (records written by old or
    foreign writers may not be)."""
    raw = info_str.encode("utf-8")
    try:
        _RECORD_CHECK.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return raw


class RecordEndpoint:
    def __init__(self, registry: HttpRegistry, access: HttpAccess) -> None:
        self._registry = registry
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"][len(RECORD_PREFIX):]
        try:
            self._access.read(header(scope, b"authorization"))
            if scope["query_string"] and not await self._blocking(name, scope, receive):
                return  # the client went away
            record = await self._registry.get(name)
        except Exception as exc:
            await send_error_answer(send, exc, scope)
            return
        await self._answer(send, name, record, header(scope, b"if-none-match"))

    async def _blocking(self, name: str, scope: Scope, receive: Receive) -> bool:
        """Wait as ``?index=N&wait=D`` asks; False if the client went away meanwhile."""
        params = query(scope)
        index = non_negative_int(params, "index")
        if index is None:
            return True
        wait = wait_seconds(params.get("wait"))
        wakeup = Wakeup(scope)
        subscription = await self._registry.park(
            WatchRequest(names=[name], since_revision=index), wakeup.wake)
        if subscription is None:
            return True
        try:
            return await wakeup.wait(receive, wait) is not Waited.GONE
        finally:
            # A client that goes away releases its subscription now, not at the wait's end.
            subscription.close()

    @staticmethod
    async def _answer(send: Send, name: str, record: RecordAnswer, if_none_match: str | None
                      ) -> None:
        headers: Headers = [(b"x-registry-index", b"%d" % record.index)]
        if record.stale:
            headers.append((b"x-registry-stale", b"true"))
        if record.info_str is None:
            await error(send, 404, f"no service named {name!r}", headers)
            return
        etag = b'"%d"' % record.revision
        headers += [(b"x-registry-revision", b"%d" % record.revision), (b"etag", etag)]
        if if_none_match is not None and if_none_match.encode("latin-1") == etag:
            await answer(send, 304, headers, content_type=None)
            return
        body = stored_record(record.info_str)
        if body is None:
            await error(send, 422, f"the stored record of {name!r} is not a JSON object",
                         headers)
            return
        await answer(send, 200, headers, body)
