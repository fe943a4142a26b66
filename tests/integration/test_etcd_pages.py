"""`/list/0.2`'s pages from a real etcd member: straight from etcd (the copy off) and from
the watched copy, loaded a few keys per Range, agree with each other and with page_of."""

from __future__ import annotations

import itertools

import pytest
import trio
from etcd_fixtures import etcd_member

import adapters.etcd.watched_repository as watched
from adapters.etcd.process import EtcdProcess
from adapters.etcd.repository import EtcdServiceRepository
from adapters.etcd.watched_repository import WatchedServiceRepository
from domain.record_pages import RecordPage, page_of

__all__ = ["etcd_member"]  # the fixture, imported for pytest

NAMES = ["!first", "a", "web-1", "web-2", "web-20", "web-3", "webx", "web\u00e9",
         "x-web-1", "\u30b5\u30fc\u30d3\u30b9/\u2713", "\U0010fffd-last"]
CASES = [  # (prefix, after, limit)
    ("", "", 100), ("", "", 3), ("web-", "", 2), ("web-", "web-2", 100), ("web-", "a", 100),
    ("web-", "web-3", 100), ("web-", "zzz", 100), ("web", "webx", 1), ("", "x-web-1", 100),
    ("\u30b5", "", 100), ("nothing", "", 100), ("\U0010fffd", "", 5),
]


def _names(page: RecordPage) -> list[str]:
    return [r.name for r in page.records]


async def test_pages_from_etcd_and_from_the_copy_agree_with_page_of(
    etcd_member: EtcdProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watched, "LOAD_PAGE_KEYS", 3)  # four Ranges for 11 keys
    store = EtcdServiceRepository(etcd_member.endpoint.tcp_client_url)
    for n, name in enumerate(NAMES):
        await store.put(name, f'{{"CpuReq":{n}}}')
    copy = WatchedServiceRepository(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(copy.run)
        assert copy.ready
        expected_order = sorted(NAMES)  # code point order = etcd's byte order for UTF-8
        everything = await copy.page("", "", 100, 1 << 20)
        assert _names(everything) == expected_order
        revisions = {r.name: r.revision for r in everything.records}
        for prefix, after, limit in CASES:
            from_etcd = await store.page(prefix, after, limit, 1 << 20)
            from_copy = await copy.page(prefix, after, limit, 1 << 20)
            model = page_of(expected_order, lambda name: ("", 0), prefix=prefix, after=after,
                            limit=limit, max_bytes=1 << 20, revision=0)
            case = (prefix, after, limit)
            assert _names(from_etcd) == _names(from_copy) == _names(model), case
            assert from_copy.more == model.more, case
            assert from_etcd.more or not model.more, case  # etcd may only say "maybe more"
            assert [r.revision for r in from_etcd.records] == [
                revisions[name] for name in _names(from_etcd)], case
            assert [r.info_str for r in from_copy.records] == [
                f'{{"CpuReq":{NAMES.index(name)}}}' for name in _names(from_copy)], case
        # Both stop at the byte budget after at least one record.
        assert len((await store.page("", "", 100, 1)).records) == 1
        assert len((await copy.page("", "", 100, 1)).records) == 1
        # Writes through the copy keep its names sorted for the next page.
        await copy.put("web-10", "{}")
        await copy.delete("web-2")
        after_writes = await copy.page("web-", "", 100, 1 << 20)
        assert _names(after_writes) == ["web-1", "web-10", "web-20", "web-3"]
        assert after_writes.revision == (await store.page("", "", 1, 1)).revision
        names = copy._names
        assert all(a < b for a, b in itertools.pairwise(names)) and len(names) == len(NAMES)
        nursery.cancel_scope.cancel()
    store.close()
