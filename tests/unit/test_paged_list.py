"""`/list/0.2` through the in-memory fakes: pages, prefixes, limits, refusals, the fallback."""

from __future__ import annotations

import json
import warnings

import pytest

from adapters.etcd.keyspace import page_range, prefix_end
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.revisioned import InMemoryRevisionedStore
from adapters.memory.transport import InMemoryRegistryTransport
from application import paged_list_client
from application.client import UnreadableRecordsWarning
from application.paged_list import PagedListHandler
from application.paged_list_client import ListedWithoutPages, PageRefused
from application.server import RegistryRequestHandler
from domain.list_wire import (
    MAX_PAGE_RECORDS,
    MAX_PAGE_REQUEST_BYTES,
    PAGED_LIST_PROTOCOL,
    PageResponse,
)
from domain.record_pages import page_of
from domain.service_info import ServiceInfo, encode_service_info
from domain.wire import decode


def _info(n: int) -> str:
    return encode_service_info(ServiceInfo(content_hash=f"Qm{n}", cpu_req=n))


async def _store(names: list[str]) -> InMemoryRevisionedStore:
    store = InMemoryRevisionedStore()
    for n, name in enumerate(names):
        await store.put_if(name, _info(n), None)
    return store


def _transport(store: InMemoryRevisionedStore, **handler_options: int) -> InMemoryRegistryTransport:
    pages = PagedListHandler(store, RecordingMetrics(), **handler_options)
    old = RegistryRequestHandler(
        InMemoryServiceRepository(), InMemoryClusterMembership(), RecordingMetrics()
    )
    return InMemoryRegistryTransport(old, extra={PAGED_LIST_PROTOCOL: pages.handle})


NAMES = ["a", "web-1", "web-2", "web-20", "web-3", "webx", "web\u00e9", "x-web-1", "z"]


async def test_pages_of_a_prefix_hold_exactly_its_names_in_order_each_once() -> None:
    store = await _store(NAMES)
    transport = _transport(store)
    for size in (1, 2, 3, 1000):
        pages = [
            [r.name for r in page]
            async for page in paged_list_client.record_pages(transport, "web-", size)
        ]
        assert [n for page in pages for n in page] == ["web-1", "web-2", "web-20", "web-3"]
        assert all(len(page) <= size for page in pages)
    everything = await paged_list_client.list_all(transport, page_size=2)
    assert list(everything) == NAMES  # byte order, as etcd sorts keys
    assert everything["web-20"] == ServiceInfo(content_hash="Qm3", cpu_req=3)


async def test_each_record_carries_its_own_revision_and_the_page_the_store_revision() -> None:
    store = await _store(["a", "b"])
    await store.put_if("a", _info(9), None)  # a is now newer than b
    answer = decode(await _transport(store).request(PAGED_LIST_PROTOCOL, b"{}"), PageResponse)
    assert [(r.name, r.revision) for r in answer.records] == [("a", 4), ("b", 3)]
    assert answer.revision == store.revision == 4
    assert answer.next == ""  # the last page says so by leaving Next out
    assert b'"Next"' not in await _transport(store).request(PAGED_LIST_PROTOCOL, b"{}")


async def test_a_page_holding_the_last_match_leaves_next_out_even_when_full() -> None:
    store = await _store(["p-1", "p-2", "q"])
    raw = await _transport(store).request(PAGED_LIST_PROTOCOL, b'{"Prefix":"p-","Limit":2}')
    answer = decode(raw, PageResponse)
    assert [r.name for r in answer.records] == ["p-1", "p-2"] and answer.next == ""


async def test_paging_across_concurrent_writes_lists_nothing_twice_and_keeps_the_steady() -> None:
    names = [f"svc-{i:03d}" for i in range(60)]
    store = await _store(names)
    transport = _transport(store)
    seen: list[str] = []
    gone = {f"svc-{i:03d}" for i in range(0, 60, 7)}
    async for page in paged_list_client.record_pages(transport, "svc-", 10):
        seen += [r.name for r in page]
        # Between pages: deletes and new names, both before and after the cursor.
        for name in sorted(gone):
            await store.delete_if(name, None)
        await store.put_if(f"svc-{len(seen):03d}a", _info(1), None)
        await store.put_if(f"svc-{len(seen) - 5:03d}b", _info(1), None)
    assert len(seen) == len(set(seen)), "a name listed twice"
    assert seen == sorted(seen)
    steady = set(names) - gone
    assert steady <= set(seen), steady - set(seen)


async def test_a_page_stops_at_its_byte_budget_but_always_holds_one_record() -> None:
    store = await _store(["a", "b", "c"])
    transport = _transport(store, max_bytes=1)
    pages = [page async for page in paged_list_client.record_pages(transport)]
    assert [[r.name for r in page] for page in pages] == [["a"], ["b"], ["c"]]


@pytest.mark.parametrize(
    ("request_bytes", "error"),
    [
        (b"not json", "malformed PageRequest"),
        (b'{"Limit":"ten"}', "malformed PageRequest"),
        (b'{"Limit":-1}', f"Limit must be between 1 and {MAX_PAGE_RECORDS}"),
        (f'{{"Limit":{MAX_PAGE_RECORDS + 1}}}'.encode(), "Limit must be between"),
        (b'{"Prefix":"a\\u0000"}', "contains control characters"),
        (json.dumps({"After": "x" * 300}).encode(), "longer than a service name may be"),
        (b'{"Prefix":"' + b" " * MAX_PAGE_REQUEST_BYTES + b'"}',
         f"a /list/0.2 request is at most {MAX_PAGE_REQUEST_BYTES}"),
    ],
)
async def test_a_bad_request_is_answered_with_one_error_line_and_nothing_else(
    request_bytes: bytes, error: str
) -> None:
    store = await _store(["a"])
    raw = await _transport(store).request(PAGED_LIST_PROTOCOL, request_bytes)
    answer = json.loads(raw)
    assert list(answer) == ["Error"], answer
    assert error in answer["Error"] and "\n" not in answer["Error"]
    assert store.pages_read == 0


async def test_the_client_raises_the_servers_error() -> None:
    store = await _store(["a"])
    with pytest.raises(PageRefused, match="Limit must be between"):
        await paged_list_client.list_all(_transport(store), page_size=MAX_PAGE_RECORDS + 1)


async def test_an_unreadable_record_is_named_in_a_warning_and_the_rest_listed() -> None:
    store = await _store(["good"])
    await store.put_if("junk", '{"CpuReq":1.5}', None)
    with pytest.warns(UnreadableRecordsWarning, match="junk"):
        listed = await paged_list_client.list_all(_transport(store))
    assert list(listed) == ["good"]


async def test_an_instance_without_list_0_2_is_listed_over_0_1_with_one_warning() -> None:
    repository = InMemoryServiceRepository()
    for n, name in enumerate(NAMES):
        repository.entries[name] = _info(n)
    go_like = InMemoryRegistryTransport(
        RegistryRequestHandler(repository, InMemoryClusterMembership(), RecordingMetrics())
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listed = await paged_list_client.list_with_prefix(go_like, "web-")
    assert list(listed) == ["web-1", "web-2", "web-20", "web-3"]
    [warning] = caught
    assert issubclass(warning.category, ListedWithoutPages)
    assert "does not speak /list/0.2" in str(warning.message)
    assert "/list/0.1" in str(warning.message) and "\n" not in str(warning.message)


def test_page_of_starts_after_the_cursor_or_at_the_prefix_whichever_is_later() -> None:
    names = sorted(NAMES)
    records = {name: ("{}", 1) for name in names}

    def page(prefix: str, after: str, limit: int = 100) -> list[str]:
        got = page_of(names, records.__getitem__, prefix=prefix, after=after, limit=limit,
                      max_bytes=1 << 20, revision=1)
        return [r.name for r in got.records]

    assert page("web-", "") == ["web-1", "web-2", "web-20", "web-3"]
    assert page("web-", "a") == ["web-1", "web-2", "web-20", "web-3"]
    assert page("web-", "web-2") == ["web-20", "web-3"]
    assert page("web-", "web-3") == []
    assert page("web-", "zzz") == []
    assert page("", "webx") == ["web\u00e9", "x-web-1", "z"]
    assert page("", "", 2) == ["a", "web-1"]


def test_the_etcd_range_of_a_page_matches_what_page_of_selects() -> None:
    assert prefix_end(b"web-") == b"web."
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"") == b"\0"
    assert page_range("", "") == (b"\0", b"\0")
    assert page_range("web-", "") == (b"web-", b"web.")
    assert page_range("web-", "web-2") == (b"web-2\0", b"web.")
    assert page_range("web-", "a") == (b"web-", b"web.")


async def test_without_quorum_pages_come_from_the_members_own_copy_marked_stale() -> None:
    from application.cluster.quorum import QuorumStatus

    fresh, local = await _store(["a", "b"]), await _store(["a", "b", "local-only"])
    quorum = QuorumStatus()
    handler = PagedListHandler(fresh, RecordingMetrics(), local_pages=local, quorum=quorum)
    answer = decode(await handler.handle(b"{}"), PageResponse)
    assert [r.name for r in answer.records] == ["a", "b"] and not answer.stale
    quorum.lost = True
    answer = decode(await handler.handle(b"{}"), PageResponse)
    assert [r.name for r in answer.records] == ["a", "b", "local-only"] and answer.stale
    old = RegistryRequestHandler(
        InMemoryServiceRepository(), InMemoryClusterMembership(), RecordingMetrics()
    )
    transport = InMemoryRegistryTransport(old, extra={PAGED_LIST_PROTOCOL: handler.handle})
    with pytest.warns(Warning, match="no quorum"):
        listed = await paged_list_client.list_all(transport)
    assert list(listed) == ["a", "b", "local-only"]
