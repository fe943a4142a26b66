"""application/first_events.py and WatchHub.snapshot: one snapshot shared by the watches
opened at one revision with one filter, sent a chunk at a time, kept by no one after."""

from __future__ import annotations

import gc

from adapters.etcd.watched_repository import PackedRecords, packed
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.first_events import FirstEvents, SharedSnapshot
from application.watch import open_watch
from domain.watch_wire import EventType, WatchEvent, WatchRequest

ALL = WatchRequest()


def put(name: str) -> WatchEvent:
    return WatchEvent(type=EventType.PUT, name=name, revision=1)


def test_the_events_come_in_order_a_chunk_at_a_time() -> None:
    state = {f"s{i}": ("{}", 1) for i in range(5)}
    first = FirstEvents([put("before")], SharedSnapshot(state, sorted(state)),
                        [put("after")])
    first.prepend(put("notice"))
    first.append(put("last"))
    assert len(first) == 9 and first
    chunks = list(first.chunks(4))
    assert [len(c) for c in chunks] == [4, 4, 1]
    assert [e.name for c in chunks for e in c] == [
        "notice", "before", "s0", "s1", "s2", "s3", "s4", "after", "last"]
    first.clear()
    assert len(first) == 0 and not first and list(first.chunks(4)) == []


async def _store(records: int) -> InMemoryRevisionedStore:
    store = InMemoryRevisionedStore()
    for i in range(records):
        await store.put_if(f"svc-{i:03}", '{"ContentHash":"Qm"}', None)
    return store


async def test_watches_opened_at_one_revision_share_one_snapshot_until_a_change() -> None:
    store = await _store(3)
    _, one = await open_watch(store.hub, store, ALL, lambda: None)
    _, two = await open_watch(store.hub, store, ALL, lambda: None)
    _, prefixed = await open_watch(store.hub, store, WatchRequest(prefix="svc-00"), lambda: None)
    assert store.hub.snapshot(ALL) is store.hub.snapshot(WatchRequest())
    assert store.hub.snapshot(ALL) is not store.hub.snapshot(WatchRequest(prefix="svc-00"))
    assert [e.name for e in one] == ["svc-000", "svc-001", "svc-002", None]  # then SYNCED
    assert [e.name for e in prefixed][:-1] == ["svc-000", "svc-001", "svc-002"]
    before = store.hub.snapshot(ALL)
    await store.put_if("svc-new", '{"ContentHash":"Qm"}', None)
    after = store.hub.snapshot(ALL)
    assert after is not before and [e.name for e in after][-1] == "svc-new"
    assert [e.name for e in two][:-1] == ["svc-000", "svc-001", "svc-002"]  # unchanged


async def test_a_snapshot_is_the_state_when_it_was_taken_whatever_changes_after() -> None:
    store = await _store(3)
    before = [(name, *store.entries[name]) for name in sorted(store.entries)]
    _, first = await open_watch(store.hub, store, ALL, lambda: None)
    await store.put_if("svc-000", '{"ContentHash":"Changed"}', None)
    await store.delete_if("svc-001", None)
    assert [(e.name, e.info_str, e.revision) for e in list(first)[:-1]] == before
    assert len(before) == 3 and store.entries["svc-000"][0] == '{"ContentHash":"Changed"}'


def test_the_etcd_copy_of_the_records_is_a_snapshot_too() -> None:
    entries = {"a": packed(5, b'{"A":1}')}
    records = PackedRecords(entries)
    copy = records.copy()
    entries["a"] = packed(6, b'{"A":2}')
    entries["b"] = packed(7, b"{}")
    assert dict(copy.items()) == {"a": ('{"A":1}', 5)}
    assert dict(records.items()) == {"a": ('{"A":2}', 6), "b": ("{}", 7)}


async def test_the_hub_keeps_no_snapshot_once_every_watch_sent_it() -> None:
    store = await _store(3)
    _, one = await open_watch(store.hub, store, ALL, lambda: None)
    _, two = await open_watch(store.hub, store, ALL, lambda: None)
    one.clear()
    gc.collect()
    assert sum(isinstance(o, SharedSnapshot) for o in gc.get_objects()) == 1  # two's
    two.clear()
    gc.collect()
    assert sum(isinstance(o, SharedSnapshot) for o in gc.get_objects()) == 0

