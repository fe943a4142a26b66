"""One page of records out of names kept in sorted order: what `/list/0.2` answers."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

from domain.list_wire import PagedRecord


class RecordPage(NamedTuple):
    records: list[PagedRecord]
    revision: int  # the store's revision the page was read at
    more: bool  # records after the last one may match (ask again after it)


def first_index(names: Sequence[str], prefix: str, after: str) -> int:
    """Where a page of ``prefix`` names after ``after`` starts in sorted ``names``."""
    if after >= prefix:
        return bisect_right(names, after)
    return bisect_left(names, prefix)


def page_of(
    names: Sequence[str],
    record: Callable[[str], tuple[str, int]],
    *,
    prefix: str,
    after: str,
    limit: int,
    max_bytes: int,
    revision: int,
) -> RecordPage:
    """Up to ``limit`` records whose names start with ``prefix``, after ``after``, in order.

    ``names`` is sorted; ``record(name)`` gives (InfoStr, mod revision). The page ends
    early, after at least one record, once its names and InfoStrs reach ``max_bytes``.
    """
    records: list[PagedRecord] = []
    size = 0
    index = first_index(names, prefix, after)
    end = len(names)
    while index < end:
        name = names[index]
        if not name.startswith(prefix):
            return RecordPage(records, revision, more=False)
        if len(records) >= limit or (records and size >= max_bytes):
            return RecordPage(records, revision, more=True)
        info_str, mod_revision = record(name)
        records.append(PagedRecord(name=name, info_str=info_str, revision=mod_revision))
        size += len(name) + len(info_str)
        index += 1
    return RecordPage(records, revision, more=False)
