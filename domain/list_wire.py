"""Wire shapes of our paged `/list/0.2` (the Go original's one-object `/list/0.1`: domain/wire.py).

A large registry is listed a page at a time, each page on its own stream: the client
sends the ``Next`` of one answer as the ``After`` of the next request. Names come in
byte order (as etcd sorts keys). Field names are Go-style (PascalCase).
"""

from __future__ import annotations

import msgspec

PAGED_LIST_PROTOCOL = "/list/0.2"

# The request is a few names long; more than this is refused with an Error answer.
MAX_PAGE_REQUEST_BYTES = 4096
DEFAULT_PAGE_RECORDS = 1000
MAX_PAGE_RECORDS = 10_000
# A page ends early once its names and InfoStrs reach this many bytes (at least one record).
MAX_PAGE_BYTES = 4 << 20


class PageRequest(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    """All optional: ``{}`` asks for the first page of the whole registry."""

    prefix: str = ""
    after: str = ""  # start strictly after this name (the previous answer's Next)
    limit: int = 0  # 0: DEFAULT_PAGE_RECORDS


class PagedRecord(msgspec.Struct, rename="pascal", gc=False):  # no cycles: strs and an int
    name: str
    info_str: str
    revision: int  # the record's mod revision


class PageResponse(msgspec.Struct, rename="pascal", omit_defaults=True):
    """One page. ``next`` set: ask again with After = next; left out: this was the last.

    ``revision``: the registry's revision the page was read at. ``error`` alone: the
    request was refused (nothing else is set).
    """

    records: list[PagedRecord] = msgspec.field(default_factory=list)
    revision: int = 0
    next: str = ""
    stale: bool = False
    error: str = ""


class InvalidPageRequest(ValueError):
    """A `/list/0.2` request the server refuses; the text goes to the client as Error."""


def checked_limit(limit: int) -> int:
    if limit == 0:
        return DEFAULT_PAGE_RECORDS
    if not 1 <= limit <= MAX_PAGE_RECORDS:
        raise InvalidPageRequest(
            f"Limit must be between 1 and {MAX_PAGE_RECORDS} (0 or missing: "
            f"{DEFAULT_PAGE_RECORDS}), got {limit}"
        )
    return limit
