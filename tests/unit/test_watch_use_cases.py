"""Watch fan-out, SinceRevision catch-up, conditional writes and the client's resume, in memory."""

from __future__ import annotations

import msgspec
import pytest

from adapters.memory.metrics import RecordingMetrics
from adapters.memory.revisioned import InMemoryRevisionedStore
from application import watch
from application.conditional_write import RevisionRequestHandler
from application.ports import RequestRejected
from application.watch import WatchClosed, WatchHub, open_watch
from application.watch_client import WatchLost, WatchRefused, follow_watch
from application.watch_ports import FeedUnavailable
from domain.record_change import RecordChange
from domain.revision_wire import ADD_IF_PROTOCOL, DELETE_IF_PROTOCOL, GET_REVISION_PROTOCOL
from domain.service_name import InvalidServiceName
from domain.watch_wire import EventType, WatchEvent, WatchRequest, watch_limit_reason

ALL = WatchRequest()


def _line(event: WatchEvent) -> bytes:
    return msgspec.json.encode(event)


def test_event_lines_carry_only_the_fields_of_their_type():
    assert _line(WatchEvent(type=EventType.PUT, name="a", info_str="{}", revision=5)) == (
        b'{"Type":"PUT","Name":"a","InfoStr":"{}","Revision":5}')
    assert _line(WatchEvent(type=EventType.DELETE, name="a", revision=6)) == (
        b'{"Type":"DELETE","Name":"a","Revision":6}')
    assert _line(WatchEvent(type=EventType.SYNCED, revision=6)) == b'{"Type":"SYNCED","Revision":6}'
    assert _line(WatchEvent(type=EventType.ERROR, error="x")) == b'{"Type":"ERROR","Error":"x"}'
    assert _line(WatchEvent(type=EventType.PUT, name="a", info_str="", revision=7)) == (
        b'{"Type":"PUT","Name":"a","InfoStr":"","Revision":7}')


def test_request_fields_are_optional_and_names_and_prefix_both_apply():
    request = msgspec.json.decode(b'{"Names":["web-a","db"],"Prefix":"web-"}', type=WatchRequest)
    assert [request.matches(n) for n in ("web-a", "db", "web-b")] == [True, False, False]
    assert msgspec.json.decode(b"{}", type=WatchRequest).matches("anything")
    assert msgspec.json.decode(b'{"Names":[]}', type=WatchRequest).matches("anything")


async def _put(store: InMemoryRevisionedStore, name: str, value: str = "{}") -> int:
    return (await store.put_if(name, value, None)).revision


async def test_a_new_watch_gets_the_state_then_synced_then_changes():
    store = InMemoryRevisionedStore()
    r_a = await _put(store, "a", "A")
    await _put(store, "b", "B")
    sub, first = await open_watch(store.hub, store, WatchRequest(names=["a"]), lambda: None)
    assert [(e.type, e.name, e.revision) for e in first] == [
        (EventType.PUT, "a", r_a), (EventType.SYNCED, None, store.revision)]
    await _put(store, "b", "B2")
    r_a2 = await _put(store, "a", "A2")
    await store.delete_if("a", None)
    taken = sub.take()
    assert [(e.type, e.name, e.revision) for e in taken] == [
        (EventType.PUT, "a", r_a2), (EventType.DELETE, "a", store.revision)]
    assert sub.take() == []


async def test_since_revision_replays_history_without_gap_or_duplicate():
    store = InMemoryRevisionedStore()
    since = await _put(store, "a")
    made = [await _put(store, "b"), await _put(store, "a"), await _put(store, "c")]
    request = WatchRequest(since_revision=since)
    sub, first = await open_watch(store.hub, store, request, lambda: None)
    assert [e.revision for e in first] == made
    later = await _put(store, "d")
    assert [e.revision for e in sub.take()] == [later]


async def test_changes_made_while_history_is_read_come_once():
    store = InMemoryRevisionedStore()
    since = await _put(store, "a")
    await _put(store, "b")

    class SlowHistory:
        async def changes(self, after, through, keep, limit):  # type: ignore[no-untyped-def]
            await _put(store, "during")  # arrives in the queue meanwhile
            return await store.changes(after, through, keep, limit)

    sub, first = await open_watch(store.hub, SlowHistory(), WatchRequest(since_revision=since),
                                  lambda: None)
    assert [e.name for e in first] == ["b"]
    assert [e.name for e in sub.take()] == ["during"]


async def test_a_since_revision_ahead_of_this_instance_skips_what_it_already_has():
    store = InMemoryRevisionedStore()
    await _put(store, "a")
    sub, first = await open_watch(store.hub, store, WatchRequest(since_revision=store.revision + 1),
                                  lambda: None)
    assert list(first) == []
    await _put(store, "b")  # revision == since: the client has it
    newer = await _put(store, "c")
    assert [e.revision for e in sub.take()] == [newer]


async def test_a_compacted_since_revision_gets_reset_state_and_synced():
    store = InMemoryRevisionedStore()
    old = await _put(store, "a")
    await store.delete_if("a", None)
    r_b = await _put(store, "b")
    store.compact()
    _, first = await open_watch(store.hub, store, WatchRequest(since_revision=old), lambda: None)
    assert [(e.type, e.name, e.revision) for e in first] == [
        (EventType.RESET, None, r_b), (EventType.PUT, "b", r_b), (EventType.SYNCED, None, r_b)]


async def test_a_watcher_that_falls_too_far_behind_is_ended_and_its_queue_freed():
    store = InMemoryRevisionedStore()
    woken: list[int] = []
    sub, _ = await open_watch(store.hub, store, ALL, lambda: woken.append(1))
    other, _ = await open_watch(store.hub, store, ALL, lambda: None)
    for n in range(watch.MAX_QUEUED_CHANGES + 1):
        await _put(store, f"n{n}")
        if n % 100 == 0:
            other.take()
    assert sub.closed and "fell more than" in sub.closed
    with pytest.raises(WatchClosed):
        sub.take()
    assert other.closed is None  # a watcher that reads is not affected
    assert [e.name for e in other.take()][-1] == f"n{watch.MAX_QUEUED_CHANGES}"
    assert store.hub.watchers == 2 and woken
    assert store.hub.dropped_behind == 1  # what registry_watchers_dropped_behind_total shows
    sub.close()
    assert store.hub.watchers == 1


async def test_a_restarted_feed_ends_running_watchers_and_a_stopped_one_refuses_new_ones():
    store = InMemoryRevisionedStore()
    sub, _ = await open_watch(store.hub, store, ALL, lambda: None)
    store.hub.loaded(store.entries, store.revision)
    assert sub.closed and "SinceRevision" in sub.closed
    store.hub.stopped()
    with pytest.raises(FeedUnavailable):
        await open_watch(store.hub, store, ALL, lambda: None)


async def test_bad_watch_requests_are_refused():
    store = InMemoryRevisionedStore()
    with pytest.raises(InvalidServiceName):
        await open_watch(store.hub, store, WatchRequest(names=[" x"]), lambda: None)
    with pytest.raises(ValueError):
        await open_watch(store.hub, store, WatchRequest(since_revision=-1), lambda: None)
    assert store.hub.watchers == 0


# --- conditional writes ------------------------------------------------------------------


async def test_conditional_writes_answer_ok_or_the_current_revision():
    store = InMemoryRevisionedStore()
    handler = RevisionRequestHandler(store, RecordingMetrics())
    first = await handler.handle(ADD_IF_PROTOCOL, b'{"Name":"a","InfoStr":"{}","IfRevision":0}')
    assert first == b'{"Ok":true,"Revision":2}'
    again = await handler.handle(ADD_IF_PROTOCOL, b'{"Name":"a","InfoStr":"{}","IfRevision":0}')
    assert again == (b'{"Ok":false,"Revision":2,"Error":"condition failed: \'a\' was to be '
                     b'absent but is at revision 2"}')
    assert await handler.handle(GET_REVISION_PROTOCOL, b"a") == (
        b'{"InfoStr":"{}","LookupOk":true,"Revision":2}')
    assert await handler.handle(GET_REVISION_PROTOCOL, b"zz") == (
        b'{"InfoStr":"","LookupOk":false,"Revision":0}')
    wrong = await handler.handle(DELETE_IF_PROTOCOL, b'{"Name":"a","IfRevision":1}')
    assert wrong.startswith(b'{"Ok":false,"Revision":2,')
    assert await handler.handle(DELETE_IF_PROTOCOL, b'{"Name":"a","IfRevision":2}') == (
        b'{"Ok":true,"Revision":3,"Deleted":1}')
    assert await handler.handle(DELETE_IF_PROTOCOL, b'{"Name":"a"}') == (
        b'{"Ok":true,"Revision":3,"Deleted":0}')
    with pytest.raises(InvalidServiceName):
        await handler.handle(ADD_IF_PROTOCOL, b'{"Name":"","InfoStr":"{}"}')
    assert store.entries == {}


# --- the client's resume ----------------------------------------------------------------


class FakeStream:
    def __init__(self, provider: str, lines: list[bytes], then: Exception | None) -> None:
        self.provider = provider
        self._lines = list(lines)
        self._then = then

    async def next_line(self) -> bytes | None:
        if self._lines:
            return self._lines.pop(0)
        if self._then is not None:
            raise self._then
        return None

    async def close(self) -> None:
        pass


class FakeTransport:
    """Each open gets the next scripted stream; records the requests and avoided peers."""

    def __init__(self, streams: list[FakeStream]) -> None:
        self.streams = streams
        self.requests: list[WatchRequest] = []
        self.avoided: list[frozenset[str]] = []

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> FakeStream:
        self.requests.append(msgspec.json.decode(request, type=WatchRequest))
        self.avoided.append(avoid)
        if not self.streams:
            raise ConnectionError("no more instances")
        return self.streams.pop(0)


def _ev(kind: str, name: str | None = None, revision: int | None = None) -> bytes:
    return _line(WatchEvent(type=EventType(kind), name=name, revision=revision,
                            info_str="{}" if kind == "PUT" else None))


async def _collect(transport: FakeTransport, count: int, request: WatchRequest = ALL) -> list:
    got = []
    async for event in follow_watch(transport, request):
        got.append((str(event.type), event.name, event.revision))
        if len(got) == count:
            break
    return got


async def test_the_client_resumes_elsewhere_from_the_last_revision_delivered():
    lost = ConnectionError("instance died")
    transport = FakeTransport([
        FakeStream("p1", [_ev("PUT", "a", 3), _ev("SYNCED", None, 4), _ev("PUT", "b", 5)], lost),
        FakeStream("p2", [_ev("DELETE", "a", 6)], None),
    ])
    got = await _collect(transport, 4)
    assert got == [("PUT", "a", 3), ("SYNCED", None, 4), ("PUT", "b", 5), ("DELETE", "a", 6)]
    assert [r.since_revision for r in transport.requests] == [0, 5]
    assert transport.avoided == [frozenset(), frozenset({"p1"})]


async def test_a_state_cut_before_synced_is_not_delivered_half_and_is_asked_again():
    transport = FakeTransport([
        FakeStream("p1", [_ev("PUT", "a", 3)], ConnectionError("cut")),
        FakeStream("p2", [_ev("PUT", "a", 3), _ev("PUT", "b", 4), _ev("SYNCED", None, 4)], None),
    ])
    got = await _collect(transport, 3)
    assert got == [("PUT", "a", 3), ("PUT", "b", 4), ("SYNCED", None, 4)]
    assert [r.since_revision for r in transport.requests] == [0, 0]


async def test_an_error_before_any_event_is_a_refusal_and_one_later_a_resume():
    refused = FakeTransport([FakeStream("p1", [_line(WatchEvent(type=EventType.ERROR,
                                                                error="bad"))], None)])
    with pytest.raises(WatchRefused, match="bad"):
        await _collect(refused, 1)
    overflow = _line(WatchEvent(type=EventType.ERROR, error="fell behind"))
    resumed = FakeTransport([
        FakeStream("p1", [_ev("SYNCED", None, 9), _ev("PUT", "x", 10), overflow], None),
        FakeStream("p1", [_ev("PUT", "y", 11)], None),
    ])
    assert [e[2] for e in await _collect(resumed, 3)] == [9, 10, 11]
    assert resumed.requests[1].since_revision == 10


async def test_the_client_gives_up_when_no_instance_delivers_anything():
    empty = [FakeStream(f"p{n}", [], ConnectionError("x")) for n in range(10)]
    transport = FakeTransport([FakeStream("p", [_ev("SYNCED", None, 2)], ConnectionError("x")),
                               *empty])
    with pytest.raises(WatchLost):
        await _collect(transport, 5)


async def test_conditional_writes_obey_the_writers_list_and_the_record_rules():
    from adapters.memory.writers import FixedWriters
    from application.write_policy import WritePolicy

    store = InMemoryRevisionedStore()
    policy = WritePolicy(FixedWriters({"allowed"}))
    handler = RevisionRequestHandler(store, RecordingMetrics(), write_policy=policy)
    good = b'{"Name":"a","InfoStr":"{\\"CpuReq\\":1}","IfRevision":0}'
    refused = msgspec.json.decode(await handler.handle(ADD_IF_PROTOCOL, good, "other"))
    assert refused["Ok"] is False and refused["Refused"] is True
    assert "is not allowed to write to this registry" in refused["Error"]
    junk = b'{"Name":"a","InfoStr":"not json","IfRevision":0}'
    invalid = msgspec.json.decode(await handler.handle(ADD_IF_PROTOCOL, junk, "allowed"))
    assert invalid["Refused"] is True and invalid["Error"].startswith("Error: not added:")
    delete = b'{"Name":"a"}'
    assert msgspec.json.decode(await handler.handle(DELETE_IF_PROTOCOL, delete, None))["Refused"]
    assert store.entries == {} and store.revision == 1  # nothing was written
    assert await handler.handle(GET_REVISION_PROTOCOL, b"a", "other")  # reads stay open
    ok = msgspec.json.decode(await handler.handle(ADD_IF_PROTOCOL, good, "allowed"))
    assert ok == {"Ok": True, "Revision": 2}


class RefusingOnceTransport(FakeTransport):
    """Refuses the second open, as an instance does while it rebuilds its feed."""

    async def open_watch(self, request: bytes, avoid: frozenset[str]) -> FakeStream:
        if len(self.requests) == 1 and not getattr(self, "refused", False):
            self.refused = True
            raise RequestRejected("stream reset")
        return await super().open_watch(request, avoid)


async def test_a_resumption_refused_while_the_feed_rebuilds_is_retried_after_a_pause():
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    transport = RefusingOnceTransport([
        FakeStream("p1", [_ev("SYNCED", None, 4), _ev("PUT", "b", 5)], ConnectionError("cut")),
        FakeStream("p1", [_ev("DELETE", "b", 6)], None),
    ])
    got = []
    async for event in follow_watch(transport, ALL, sleep=sleep):
        got.append((str(event.type), event.name, event.revision))
        if len(got) == 3:
            break
    assert got == [("SYNCED", None, 4), ("PUT", "b", 5), ("DELETE", "b", 6)]
    # the refused open is not recorded: the resumption that worked asked from 5 again
    assert transport.refused and [r.since_revision for r in transport.requests] == [0, 5]
    assert len(pauses) == 1 and pauses[0] > 0


async def test_a_first_watch_that_is_refused_is_not_retried():
    transport = RefusingOnceTransport([])
    transport.requests.append(ALL)  # makes the very first open the refused one
    with pytest.raises(RequestRejected):
        async for _ in follow_watch(transport, ALL):
            pass



def _limit_error() -> bytes:
    return _line(WatchEvent(type=EventType.ERROR, error=watch_limit_reason(2)))


async def test_an_instance_at_its_watch_limit_sends_the_watch_to_the_next_one():
    transport = FakeTransport([
        FakeStream("p1", [_limit_error()], None),
        FakeStream("p2", [_limit_error()], None),
        FakeStream("p3", [_ev("SYNCED", None, 4), _ev("PUT", "a", 5)], None),
    ])
    assert await _collect(transport, 2) == [("SYNCED", None, 4), ("PUT", "a", 5)]
    assert transport.avoided == [frozenset(), frozenset({"p1"}), frozenset({"p1", "p2"})]


async def test_a_watch_is_refused_once_every_instance_is_at_its_limit():
    transport = FakeTransport([
        FakeStream("p1", [_limit_error()], None),
        FakeStream("p2", [_limit_error()], None),
        FakeStream("p1", [_limit_error()], None),  # the search came back: none has room
        FakeStream("p3", [_ev("SYNCED", None, 4)], None),
    ])
    with pytest.raises(WatchRefused, match="watch limit reached"):
        await _collect(transport, 1)
    assert len(transport.streams) == 1


async def test_a_resumed_watch_at_a_full_instance_moves_on_too():
    transport = FakeTransport([
        FakeStream("p1", [_ev("SYNCED", None, 4)], ConnectionError("cut")),
        FakeStream("p2", [_limit_error()], None),
        FakeStream("p3", [_ev("PUT", "a", 5)], None),
    ])
    assert await _collect(transport, 2) == [("SYNCED", None, 4), ("PUT", "a", 5)]
    assert transport.requests[-1].since_revision == 4


def test_a_subscription_skips_what_its_first_events_hold_and_keeps_the_rest() -> None:
    hub = WatchHub()
    hub.loaded({}, 4)
    subscription = hub.subscribe(ALL, lambda: None)
    for revision in (5, 6, 7):
        hub.publish(RecordChange(f"svc-{revision}", "{}", revision))
    subscription.skip_through(6)
    hub.publish(RecordChange("svc-6-again", "{}", 6))  # at or below the floor: ignored
    assert [(e.name, e.revision) for e in subscription.take()] == [("svc-7", 7)]
    assert subscription.take() == []
    hub.publish(RecordChange("svc-8", "{}", 8))
    assert [e.name for e in subscription.take()] == ["svc-8"]


async def test_a_resume_further_back_than_is_replayed_is_a_reset_and_the_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watch, "MAX_REPLAYED_CHANGES", 3)
    store = InMemoryRevisionedStore()
    since = store.revision
    for n in range(3):
        await store.put_if(f"svc-{n}", "{}", None)
    _, first = await open_watch(store.hub, store, WatchRequest(since_revision=since),
                                lambda: None)
    assert [str(e.type) for e in first] == ["PUT"] * 3  # three: replayed
    await store.put_if("svc-3", "{}", None)
    _, first = await open_watch(store.hub, store, WatchRequest(since_revision=since),
                                lambda: None)
    events = list(first)
    assert [str(e.type) for e in events] == ["RESET"] + ["PUT"] * 4 + ["SYNCED"]
    assert events[0].revision == events[-1].revision == store.revision
