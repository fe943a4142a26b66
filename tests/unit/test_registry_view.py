"""The registry view in memory: fed by the real watch use case through in-memory instances."""

from __future__ import annotations

import pytest
import trio

from adapters.memory.revisioned import InMemoryRevisionedStore
from adapters.memory.watch_transport import InMemoryWatchTransport
from application.client import UnreadableRecord
from application.compact_record import pack, unpack
from application.registry_view import RegistryView, ViewChange
from application.registry_view_feed import keep_view_current
from domain.service_info import PerfInd, ServiceInfo, decode_service_info, encode_service_info
from domain.watch_wire import EventType, WatchEvent, WatchRequest


def _info(content_hash: str, soft_ms: int = 0) -> str:
    return encode_service_info(ServiceInfo(content_hash=content_hash,
                                           network_soft_req=PerfInd.from_millis(soft_ms)))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _put(store: InMemoryRevisionedStore, name: str, value: str) -> int:
    return (await store.put_if(name, value, None)).revision


async def _until(check, within: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    with trio.fail_after(within):
        while not check():
            await trio.sleep(0.001)


def _view(request: WatchRequest | None = None) -> tuple[RegistryView, Clock]:
    clock = Clock()
    return RegistryView(request or WatchRequest(), clock), clock


async def test_the_view_holds_the_state_then_follows_changes_and_answers_from_memory():
    store = InMemoryRevisionedStore()
    await _put(store, "web-a", _info("QmA", 100))
    await _put(store, "db", _info("QmD"))
    transport = InMemoryWatchTransport(store, ["i1"])
    view, _ = _view(WatchRequest(prefix="web-"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_view_current, view, transport, trio.sleep)
        await _until(lambda: view.freshness.synced)
        assert view.lookup("web-a") == ServiceInfo(
            content_hash="QmA", network_soft_req=PerfInd.from_millis(100))
        assert view.lookup("db") is None  # outside the prefix
        assert view.freshness.current and view.freshness.following == "i1"
        revision = await _put(store, "web-b", _info("QmB"))
        await _until(lambda: view.revision == revision)
        assert view.lookup("web-b") == ServiceInfo(content_hash="QmB")
        await store.delete_if("web-a", None)
        await _until(lambda: "web-a" not in view)
        assert view.lookup("web-a") is None and len(view) == 1
        nursery.cancel_scope.cancel()


async def test_changes_carry_the_old_and_new_record_and_whether_the_content_hash_moved():
    store = InMemoryRevisionedStore()
    await _put(store, "svc", _info("QmOld", 50))
    view, _ = _view()
    changes: list[ViewChange] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_view_current, view, InMemoryWatchTransport(store, ["i1"]),
                           trio.sleep)
        await _until(lambda: view.freshness.synced)
        view.on_change(changes.append)
        await _put(store, "svc", _info("QmOld", 80))  # requirements only
        r_new = await _put(store, "svc", _info("QmNew", 80))
        await store.delete_if("svc", None)
        await _until(lambda: len(changes) == 3)
        nursery.cancel_scope.cancel()
    moved, renamed, deleted = changes
    assert moved.old is not None and moved.new is not None
    assert (moved.old.network_soft_req.rtt_millis, moved.new.network_soft_req.rtt_millis) == (
        50, 80)
    assert not moved.content_hash_changed
    assert renamed.content_hash_changed and renamed.revision == r_new
    assert renamed.old is not None and renamed.old.content_hash == "QmOld"
    assert renamed.new is not None and renamed.new.content_hash == "QmNew"
    assert deleted.new is None and deleted.content_hash_changed


async def test_an_instance_killed_mid_stream_costs_no_change_and_repeats_none():
    store = InMemoryRevisionedStore()
    transport = InMemoryWatchTransport(store, ["i1", "i2"])
    view, _ = _view()
    seen: list[int] = []
    view.on_change(lambda change: seen.append(change.revision))
    written: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_view_current, view, transport, trio.sleep)
        await _until(lambda: view.freshness.synced)
        for n in range(40):
            written.append(await _put(store, f"n{n % 7}", _info(f"Qm{n}")))
            if n % 3 == 0:
                outcome = await store.delete_if(f"n{(n + 1) % 7}", None)
                if outcome.deleted:
                    written.append(outcome.revision)
            if n == 20:
                transport.kill(view.freshness.following or "")
            await trio.sleep(0)
        await _until(lambda: view.revision == store.revision)
        nursery.cancel_scope.cancel()
    assert seen == written  # every change once, in order
    assert [since for _, since in transport.opened][1] > 0  # resumed, not started over
    assert {name: view.lookup(name) for name in view.names()} == {
        name: decode_service_info(value) for name, (value, _) in store.entries.items()}


async def test_with_every_instance_gone_lookups_go_on_marked_stale_and_a_revival_heals():
    store = InMemoryRevisionedStore()
    await _put(store, "svc", _info("QmA"))
    transport = InMemoryWatchTransport(store, ["i1", "i2"])
    view, clock = _view()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_view_current, view, transport, trio.sleep)
        await _until(lambda: view.freshness.synced)
        assert view.freshness.stale_since is None
        clock.now = 2000.0
        transport.kill("i1")
        transport.kill("i2")
        await _until(lambda: view.freshness.following is None)
        assert view.freshness.stale_since == 2000.0 and not view.freshness.current
        assert view.lookup("svc") == ServiceInfo(content_hash="QmA")  # from what it has
        revision = await _put(store, "svc", _info("QmB"))  # made while nobody is reachable
        transport.revive("i2")
        await _until(lambda: view.revision == revision, within=5)
        assert view.freshness.current and view.freshness.following == "i2"
        assert view.lookup("svc") == ServiceInfo(content_hash="QmB")
        nursery.cancel_scope.cancel()


async def test_a_cut_off_instance_makes_the_view_stale_until_it_is_back():
    store = InMemoryRevisionedStore()
    view, clock = _view()
    async with trio.open_nursery() as nursery:
        transport = InMemoryWatchTransport(store, ["i1"])
        nursery.start_soon(keep_view_current, view, transport, lambda s: trio.sleep(s / 20))
        await _until(lambda: view.freshness.synced)
        clock.now = 3000.0
        store.hub.set_cut_off(True)  # the only instance: the view goes back to it, stale
        await _until(lambda: view.last_failure == "i1 is cut off from its quorum")
        clock.now = 3001.0
        for _ in range(3):  # it goes back to it (the only one) and leaves again
            opened = len(transport.opened)
            await _until(lambda n=opened: len(transport.opened) > n, within=5)
            assert view.freshness.stale_since == 3000.0 and not view.freshness.current
        clock.now = 3002.0
        store.hub.set_cut_off(False)
        revision = await _put(store, "later", "{}")
        await _until(lambda: view.revision == revision, within=5)
        assert view.freshness.current and view.freshness.following == "i1"
        nursery.cancel_scope.cancel()


def test_a_reset_replaces_the_state_and_tells_what_differs():
    view, _ = _view()
    view.following("i1")
    for name, value, revision in (("a", "QmA", 3), ("b", "QmB", 4)):
        view.apply(WatchEvent(type=EventType.PUT, name=name, info_str=_info(value),
                              revision=revision))
    view.apply(WatchEvent(type=EventType.SYNCED, revision=5))
    changes: list[ViewChange] = []
    view.on_change(changes.append)
    view.apply(WatchEvent(type=EventType.RESET, revision=9))
    assert view.lookup("a") == ServiceInfo(content_hash="QmA")  # answered while the state comes
    view.apply(WatchEvent(type=EventType.PUT, name="b", info_str=_info("QmB2"), revision=8))
    view.apply(WatchEvent(type=EventType.PUT, name="c", info_str=_info("QmC"), revision=7))
    view.apply(WatchEvent(type=EventType.SYNCED, revision=9))
    hashes = sorted((c.name, c.old and c.old.content_hash, c.new and c.new.content_hash)
                    for c in changes)
    assert hashes == [("a", "QmA", None), ("b", "QmB", "QmB2"), ("c", None, "QmC")]
    assert view.revision == 9 and sorted(view.names()) == ["b", "c"]


def test_a_change_at_or_below_the_view_s_revision_is_not_applied_twice():
    view, _ = _view()
    view.following("i1")
    view.apply(WatchEvent(type=EventType.SYNCED, revision=5))
    view.apply(WatchEvent(type=EventType.PUT, name="a", info_str=_info("QmA"), revision=6))
    view.apply(WatchEvent(type=EventType.PUT, name="a", info_str=_info("QmStale"), revision=6))
    view.apply(WatchEvent(type=EventType.DELETE, name="a", revision=4))
    assert view.lookup("a") == ServiceInfo(content_hash="QmA") and view.changes_applied == 1


def test_the_names_of_one_transaction_share_a_revision_and_each_is_applied():
    view, _ = _view()
    view.following("i1")
    view.apply(WatchEvent(type=EventType.SYNCED, revision=5))
    for name in ("a", "b", "c"):  # one etcd transaction: three names at revision 6
        view.apply(WatchEvent(type=EventType.PUT, name=name, info_str=_info("Qm6"), revision=6))
    view.apply(WatchEvent(type=EventType.DELETE, name="b", revision=7))
    view.apply(WatchEvent(type=EventType.DELETE, name="c", revision=7))
    view.apply(WatchEvent(type=EventType.PUT, name="c", info_str=_info("Qm6"), revision=6))
    assert view.names() == ["a"] and view.changes_applied == 5 and view.revision == 7


def test_an_unreadable_record_is_named_on_lookup_and_a_failing_listener_stops_nothing():
    view, _ = _view()
    view.following("i1")
    view.apply(WatchEvent(type=EventType.SYNCED, revision=1))
    got: list[str] = []

    def broken(change: ViewChange) -> None:
        raise RuntimeError("listener bug")

    view.on_change(broken)
    unsubscribe = view.on_change(lambda change: got.append(change.name))
    view.apply(WatchEvent(type=EventType.PUT, name="bad", info_str="not json", revision=2))
    with pytest.raises(UnreadableRecord, match="'bad'"):
        view.lookup("bad")
    unsubscribe()
    view.apply(WatchEvent(type=EventType.PUT, name="x", info_str="{}", revision=3))
    assert got == ["bad"] and view.lookup("x") == ServiceInfo()


def test_a_record_is_kept_packed_at_about_half_its_json_and_comes_back_whole():
    record = ServiceInfo(
        content_hash="QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        docker_hash="127.0.0.1:5000/web@sha256:" + "ab" * 32,
        network_soft_req=PerfInd.from_millis(20), network_hard_req=PerfInd.from_millis(300),
        cpu_req=2, memory_req=256)
    info_str = encode_service_info(record)
    stored = pack(info_str)
    assert isinstance(stored, bytes) and len(stored) < 0.6 * len(info_str)
    assert unpack("web", stored) == record
    assert unpack("web", pack('{"ContentHash":"Qm1","Newer":1}')) == ServiceInfo(
        content_hash="Qm1")  # a newer writer's extra field is dropped, as on decoding
    with pytest.raises(UnreadableRecord, match="'web'"):
        unpack("web", pack("[1, 2]"))


def test_freshness_is_a_plain_value():
    view, clock = _view()
    fresh = view.freshness
    assert (fresh.revision, fresh.following, fresh.synced, fresh.stale_since) == (
        0, None, False, clock.now)
    assert not fresh.live and not fresh.current


def test_a_silent_instance_makes_the_view_stale_and_its_next_answer_current_again():
    view, clock = _view()
    view.following("i1")
    view.apply(WatchEvent(type=EventType.SYNCED, revision=1))
    assert view.freshness.current
    clock.now = 5000.0
    view.instance_silent("i2", True)  # not the one followed: nothing to say
    assert view.freshness.current
    view.instance_silent("i1", True)
    assert view.freshness.stale_since == 5000.0 and view.freshness.silent
    assert view.freshness.following == "i1" and not view.freshness.live
    view.instance_silent("i1", False)
    assert view.freshness.current and view.freshness.live


async def test_view_changes_is_an_async_iterator_and_a_slow_consumer_is_told_not_waited_for():
    from entrypoints.library import ViewChangesOverflowed, view_changes

    view, _ = _view()
    view.following("i1")
    view.apply(WatchEvent(type=EventType.SYNCED, revision=1))
    async with view_changes(view) as changes:
        view.apply(WatchEvent(type=EventType.PUT, name="a", info_str="{}", revision=2))
        view.apply(WatchEvent(type=EventType.DELETE, name="a", revision=3))
        got = [await changes.receive(), await changes.receive()]
    assert [(c.name, c.revision, c.new) for c in got] == [("a", 2, ServiceInfo()), ("a", 3, None)]
    async with view_changes(view, buffer=2) as changes:
        for n in range(4):  # the feed goes on: nothing here waits for the consumer
            view.apply(WatchEvent(type=EventType.PUT, name=f"n{n}", info_str="{}",
                                  revision=10 + n))
        assert [c.name async for c in _first(changes, 2)] == ["n0", "n1"]
        with pytest.raises(ViewChangesOverflowed, match="more than 2 changes"):
            await changes.receive()
    assert len(view) == 4  # the view itself is exact


async def _first(changes, count: int):  # type: ignore[no-untyped-def]
    for _ in range(count):
        yield await changes.receive()


async def test_with_no_instance_up_the_feed_keeps_trying_and_says_why():
    store = InMemoryRevisionedStore()
    transport = InMemoryWatchTransport(store, ["i1"])
    transport.kill("i1")
    view, _ = _view()
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 5:
            transport.revive("i1")
        await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_view_current, view, transport, sleep)
        await _until(lambda: view.freshness.synced)
        nursery.cancel_scope.cancel()
    assert pauses[:5] == [0.25, 0.5, 1.0, 2.0, 2.0]  # doubling, at most 2 s
    assert view.last_failure == "no in-memory registry-service is up"


async def test_an_instance_cut_off_from_its_quorum_is_left_for_one_that_has_it():
    store = InMemoryRevisionedStore()
    await _put(store, "svc", _info("QmA"))
    transport = InMemoryWatchTransport(store, ["i1", "i2"])
    transport.cut_off.add("i1")  # asked first (the fake asks in name order)
    view, _ = _view()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_view_current, view, transport, trio.sleep)
        await _until(lambda: view.freshness.current)
        assert view.freshness.following == "i2" and view.lookup("svc") is not None
        assert [name for name, _ in transport.opened] == ["i1", "i2"]
        revision = await _put(store, "svc", _info("QmB"))
        await _until(lambda: view.revision == revision)
        nursery.cancel_scope.cancel()
    assert view.last_failure == "i1 is cut off from its quorum"


def test_a_state_cut_short_is_dropped_and_the_next_stream_s_state_alone_is_kept():
    view, _ = _view()
    view.following("i1")
    for name in ("a", "b"):  # the state's PUTs come as they arrive (not held until SYNCED)
        view.apply(WatchEvent(type=EventType.PUT, name=name, info_str=_info("Qm1"), revision=3))
    view.lost()  # before SYNCED: b may be gone by now
    view.following("i2")
    view.apply(WatchEvent(type=EventType.PUT, name="a", info_str=_info("Qm2"), revision=4))
    view.apply(WatchEvent(type=EventType.SYNCED, revision=6))
    assert view.names() == ["a"] and view.lookup("a") == ServiceInfo(content_hash="Qm2")
    assert view.revision == 6 and view.freshness.current


async def test_an_invalid_request_ends_the_view_at_once():
    from domain.service_name import InvalidServiceName

    view, _ = _view(WatchRequest(names=[" bad name"]))
    transport = InMemoryWatchTransport(InMemoryRevisionedStore(), ["i1"])
    with pytest.raises(InvalidServiceName), trio.fail_after(2):
        await keep_view_current(view, transport, trio.sleep)
