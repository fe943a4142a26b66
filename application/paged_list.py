"""Serving `/list/0.2`: the registry a page at a time, optionally only names with a prefix.

`/list/0.1` answers the whole registry in one JSON object, as the Go original does;
for a large registry that is one answer of tens of megabytes, built and held whole by
server and client. A page is at most MAX_PAGE_RECORDS records or about MAX_PAGE_BYTES,
read from the instance's in-memory copy. Records are handed on verbatim: the client
checks each one (it must anyway, for a server of an older version).
"""

from __future__ import annotations

import time
import unicodedata
from typing import Protocol

from application.cluster.quorum import QuorumStatus
from application.ports import RegistryMetrics
from application.storage_guard import StorageGuard
from domain.list_wire import (
    MAX_PAGE_BYTES,
    MAX_PAGE_REQUEST_BYTES,
    InvalidPageRequest,
    PageRequest,
    PageResponse,
    checked_limit,
)
from domain.record_pages import RecordPage
from domain.service_name import MAX_SERVICE_NAME_BYTES
from domain.wire import MalformedMessage, decode, encode


class RecordPages(Protocol):
    async def page(self, prefix: str, after: str, limit: int, max_bytes: int) -> RecordPage:
        """Up to ``limit`` records named ``prefix``…, after ``after``, in name order."""
        ...


class PagedListHandler:
    """Turns one `/list/0.2` request into its answer.

    A request it cannot serve as asked (malformed, too large, a limit out of range) is
    answered ``{"Error": …}``; a store that cannot answer resets the stream, as for the
    other protocols (the client then tries another instance).
    """

    def __init__(
        self,
        pages: RecordPages,
        metrics: RegistryMetrics,
        local_pages: RecordPages | None = None,
        quorum: QuorumStatus | None = None,
        max_bytes: int = MAX_PAGE_BYTES,
    ) -> None:
        self._pages = pages
        self._local_pages = local_pages
        self._guard = StorageGuard(quorum or QuorumStatus(), local_reads=local_pages is not None)
        self._metrics = metrics
        self._max_bytes = max_bytes

    async def handle(self, request: bytes, peer_id: str | None = None) -> bytes:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return encode(await self._answer(request))
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._metrics.observe_request("list", time.perf_counter() - started, outcome)

    async def _answer(self, request: bytes) -> PageResponse:
        try:
            asked = parse_page_request(request)
        except InvalidPageRequest as exc:
            return PageResponse(error=str(exc))
        limit = checked_limit(asked.limit)
        local = self._local_pages
        page, stale = await self._guard.read(
            lambda: self._pages.page(asked.prefix, asked.after, limit, self._max_bytes),
            None if local is None
            else lambda: local.page(asked.prefix, asked.after, limit, self._max_bytes),
        )
        last = page.records[-1].name if page.more and page.records else ""
        return PageResponse(records=page.records, revision=page.revision, next=last, stale=stale)


def parse_page_request(request: bytes) -> PageRequest:
    if len(request) > MAX_PAGE_REQUEST_BYTES:
        raise InvalidPageRequest(
            f"the request is {len(request)} bytes; a /list/0.2 request is at most "
            f"{MAX_PAGE_REQUEST_BYTES}"
        )
    try:
        asked = decode(request.strip() or b"{}", PageRequest)
    except MalformedMessage as exc:
        raise InvalidPageRequest(str(exc)) from exc
    for field, text in (("Prefix", asked.prefix), ("After", asked.after)):
        _check_name_part(field, text)
    checked_limit(asked.limit)
    return asked


def _check_name_part(field: str, text: str) -> None:
    """A prefix or a name: what a service name may hold (it may be empty)."""
    if len(text.encode("utf-8")) > MAX_SERVICE_NAME_BYTES:
        raise InvalidPageRequest(
            f"{field} is longer than a service name may be ({MAX_SERVICE_NAME_BYTES} bytes)"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise InvalidPageRequest(f"{field} {text!r} contains control characters")
