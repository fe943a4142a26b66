"""Watchers hear when their instance is cut off from its quorum, and lose nothing (in memory)."""

from __future__ import annotations

import msgspec
import trio
from test_watch_use_cases import FakeStream, FakeTransport, _ev

from adapters.memory.revisioned import InMemoryRevisionedStore
from application.cluster.quorum import QuorumStatus
from application.watch import open_watch
from application.watch_client import follow_watch
from domain.watch_wire import EventType, WatchEvent, WatchRequest, cut_off_notice
from entrypoints.service.watch_cut_off import tell_watchers_of_quorum

ALL = WatchRequest()


def _line(event: WatchEvent) -> bytes:
    return msgspec.json.encode(event)


def _shape(event: WatchEvent) -> tuple[str, str | None, int | None, bool | None]:
    return str(event.type), event.name, event.revision, event.cut_off


def test_the_notice_is_a_progress_line_that_old_clients_read_as_progress():
    assert _line(cut_off_notice(7, True)) == b'{"Type":"PROGRESS","Revision":7,"CutOff":true}'
    assert _line(cut_off_notice(9, False)) == b'{"Type":"PROGRESS","Revision":9,"CutOff":false}'

    class OldWatchEvent(msgspec.Struct, rename="pascal", kw_only=True):  # before CutOff
        type: EventType
        revision: int | None = None

    old = msgspec.json.decode(_line(cut_off_notice(7, True)), type=OldWatchEvent)
    assert old.type is EventType.PROGRESS and old.revision == 7


async def test_running_watchers_hear_once_when_the_instance_is_cut_off_and_back_in_order():
    store = InMemoryRevisionedStore()
    sub, _ = await open_watch(store.hub, store, ALL, lambda: None)
    await store.put_if("a", "A", None)
    store.hub.set_cut_off(True)
    store.hub.set_cut_off(True)  # no news: no second notice
    # the minority member's etcd watch delivers what it missed after the heal
    store.hub.set_cut_off(False)
    await store.put_if("b", "B", None)
    assert [_shape(e) for e in sub.take()] == [
        ("PUT", "a", 2, None), ("PROGRESS", None, 2, True), ("PROGRESS", None, 2, False),
        ("PUT", "b", 3, None)]


async def test_a_watch_opened_on_a_cut_off_instance_hears_so_first():
    store = InMemoryRevisionedStore()
    await store.put_if("a", "A", None)
    store.hub.set_cut_off(True)
    _, first = await open_watch(store.hub, store, WatchRequest(since_revision=1), lambda: None)
    assert [_shape(e) for e in first] == [("PROGRESS", None, 1, True), ("PUT", "a", 2, None)]


async def test_the_hub_follows_the_quorum_lease(autojump_clock):
    # Virtual time (autojump_clock): each sleep below lets the 0.01 s loop run 5 times,
    # however busy the machine, so the assertions wait for its turn, not for luck.
    now = [0.0]
    quorum = QuorumStatus(clock=lambda: now[0], max_age=1.0)
    quorum.report(healthy=True, checked_at=0.0)
    store = InMemoryRevisionedStore()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tell_watchers_of_quorum, quorum, store.hub, 0.01)
        await trio.sleep(0.05)
        assert not store.hub.cut_off
        now[0] = 1.5  # no check renewed the lease
        await trio.sleep(0.05)
        assert store.hub.cut_off
        quorum.report(healthy=True, checked_at=1.6)
        await trio.sleep(0.05)
        assert not store.hub.cut_off
        nursery.cancel_scope.cancel()


async def test_the_client_tells_the_caller_once_per_change_across_a_held_reconnection():
    """Cut off on a running stream; the feed then stops (ERROR); the held stream repeats
    the notice, catches up from history and says it is back."""
    lost_feed = _line(WatchEvent(type=EventType.ERROR, error="the server lost its change feed"))
    transport = FakeTransport([
        FakeStream("p1", [_ev("SYNCED", None, 4), _ev("PUT", "a", 5),
                          _line(cut_off_notice(5, True)), lost_feed], None),
        FakeStream("p1", [_line(cut_off_notice(5, True)), _line(cut_off_notice(5, True)),
                          _ev("PUT", "b", 7), _ev("DELETE", "a", 8),
                          _line(cut_off_notice(8, False)), _ev("PUT", "c", 9)], None),
    ])
    got = []
    async for event in follow_watch(transport, ALL):
        got.append(_shape(event))
        if len(got) == 7:
            break
    assert got == [
        ("SYNCED", None, 4, None), ("PUT", "a", 5, None), ("PROGRESS", None, 5, True),
        ("PUT", "b", 7, None), ("DELETE", "a", 8, None), ("PROGRESS", None, 8, False),
        ("PUT", "c", 9, None)]
    assert [r.since_revision for r in transport.requests] == [0, 5]


async def test_a_client_that_resumes_on_an_instance_that_is_not_cut_off_hears_it_is_back():
    transport = FakeTransport([
        FakeStream("p1", [_ev("SYNCED", None, 4), _line(cut_off_notice(4, True))],
                   ConnectionError("gone")),
        FakeStream("p2", [_ev("PUT", "a", 6)], None),
    ])
    got = []
    async for event in follow_watch(transport, ALL):
        got.append(_shape(event))
        if len(got) == 4:
            break
    assert got == [("SYNCED", None, 4, None), ("PROGRESS", None, 4, True),
                   ("PROGRESS", None, 4, False), ("PUT", "a", 6, None)]


async def test_lines_of_an_unknown_type_are_skipped():
    transport = FakeTransport([
        FakeStream("p1", [_ev("SYNCED", None, 4), b'{"Type":"SOMETHING-NEW","Revision":5}',
                          _ev("PUT", "a", 6)], None),
    ])
    got = []
    async for event in follow_watch(transport, ALL):
        got.append(_shape(event))
        if len(got) == 2:
            break
    assert got == [("SYNCED", None, 4, None), ("PUT", "a", 6, None)]


def test_registry_cli_watch_prints_one_line_for_each_notice():
    from entrypoints.cli.watch import human_event

    assert human_event(cut_off_notice(5, True)).startswith("CUT OFF ")  # type: ignore[union-attr]
    assert human_event(cut_off_notice(8, False)).startswith("RESUMED ")  # type: ignore[union-attr]
    assert human_event(WatchEvent(type=EventType.PROGRESS, revision=8)) is None
