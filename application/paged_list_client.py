"""Client side of `/list/0.2`: the registry, or the names with a prefix, a page at a time.

Each page is one request on its own stream; the next asks for the names after the
last one received. A record is listed at most once; one that exists, unchanged in
name, from the first page to the last is listed exactly once (docs/protocol.md).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

from application.client import UnreadableRecordsWarning, list_services, warn_if_stale
from application.ports import ProtocolNotSpoken, RegistryTransport
from domain.list_wire import (
    DEFAULT_PAGE_RECORDS,
    PAGED_LIST_PROTOCOL,
    PagedRecord,
    PageRequest,
    PageResponse,
)
from domain.record_rules import decode_stored_record
from domain.service_info import InvalidServiceInfo, ServiceInfo
from domain.wire import decode, encode


class PageRefused(ValueError):
    """The registry-service answered a `/list/0.2` request with an Error."""


class ListedWithoutPages(UserWarning):
    """The registry-service does not speak `/list/0.2`: the list came whole over `/list/0.1`."""


async def record_pages(
    transport: RegistryTransport, prefix: str = "", page_size: int = DEFAULT_PAGE_RECORDS
) -> AsyncIterator[list[PagedRecord]]:
    """Each page's records as stored (InfoStr verbatim), in name order.

    ProtocolNotSpoken if the registry-service does not speak `/list/0.2`.
    """
    after = ""
    stale = False
    while True:
        request = encode(PageRequest(prefix=prefix, after=after, limit=page_size))
        page = decode(await transport.request(PAGED_LIST_PROTOCOL, request), PageResponse)
        if page.error:
            raise PageRefused(f"the registry-service refused the list: {page.error}")
        if page.stale and not stale:
            stale = True
            warn_if_stale(True)
        yield page.records
        if not page.next:
            return
        if page.next <= after:  # a server must move forward; never loop on one that doesn't
            raise PageRefused(f"the registry-service's next page starts at {page.next!r}, "
                              f"not after {after!r}")
        after = page.next


async def list_all(
    transport: RegistryTransport, prefix: str = "", page_size: int = DEFAULT_PAGE_RECORDS
) -> dict[str, ServiceInfo]:
    """Every readable record named ``prefix``…; unreadable ones go in one warning."""
    records: dict[str, ServiceInfo] = {}
    unreadable: list[str] = []
    async for page in record_pages(transport, prefix, page_size):
        for record in page:
            if not record.name.startswith(prefix):
                continue  # only what was asked for, whatever a server sends
            try:
                records[record.name] = decode_stored_record(record.info_str)
            except InvalidServiceInfo:
                unreadable.append(record.name)
    if unreadable:
        warnings.warn(UnreadableRecordsWarning(unreadable), stacklevel=2)
    return records


async def list_with_prefix(transport: RegistryTransport, prefix: str) -> dict[str, ServiceInfo]:
    """``list_all``; from a registry-service without `/list/0.2` (a Go one), the whole list
    over `/list/0.1`, filtered here, and one warning saying so."""
    try:
        return await list_all(transport, prefix)
    except ProtocolNotSpoken as exc:
        warnings.warn(ListedWithoutPages(
            f"{exc}; listed the whole registry over /list/0.1 and kept the names starting "
            f"with {prefix!r} here"), stacklevel=2)
    everything = await list_services(transport)
    return {name: info for name, info in everything.items() if name.startswith(prefix)}
