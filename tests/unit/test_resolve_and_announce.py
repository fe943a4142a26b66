"""Verdicts, ranking, resolve and the announcer's following of its record, in memory."""

from __future__ import annotations

import pytest

from adapters.memory.instances import (
    MemoryAdvertiser,
    MemoryPinger,
    MemoryProviders,
    MemoryRecords,
    MemoryView,
)
from application.announce import Announcement, follow_record
from application.client import ServiceNotFound, UnreadableRecord
from application.resolve import NotInView, measure_the_silent, resolve, resolve_instances
from domain.instance_verdict import (
    DEFAULT_PING_TIMEOUT_NS,
    Provider,
    Verdict,
    judge,
    no_usable_reason,
    ping_timeout_ns,
)
from domain.service_info import PerfInd, ServiceInfo, encode_service_info
from domain.watch_wire import EventType, WatchEvent

MS = 1_000_000
INFO = ServiceInfo(content_hash="QmA", network_soft_req=PerfInd.from_millis(20),
                   network_hard_req=PerfInd.from_millis(60))
NO_REQS = ServiceInfo(content_hash="QmA")


def test_verdicts_against_soft_and_hard():
    assert judge(5 * MS, INFO) is Verdict.GOOD
    assert judge(20 * MS, INFO) is Verdict.GOOD  # within means <=
    assert judge(20 * MS + 1, INFO) is Verdict.SLOW
    assert judge(60 * MS, INFO) is Verdict.SLOW
    assert judge(60 * MS + 1, INFO) is Verdict.UNUSABLE
    assert judge(None, INFO) is Verdict.UNUSABLE


def test_a_requirement_of_zero_is_none_not_nothing_good_enough():
    assert judge(900 * MS, NO_REQS) is Verdict.GOOD
    assert judge(None, NO_REQS) is Verdict.UNUSABLE
    assert ping_timeout_ns(NO_REQS) == DEFAULT_PING_TIMEOUT_NS
    assert ping_timeout_ns(INFO) == 60 * MS
    soft_only = ServiceInfo(content_hash="x", network_soft_req=PerfInd.from_millis(10))
    assert judge(11 * MS, soft_only) is Verdict.SLOW
    hard_only = ServiceInfo(content_hash="x", network_hard_req=PerfInd.from_millis(10))
    assert judge(9 * MS, hard_only) is Verdict.GOOD


def _world(rtts: dict[str, int]):  # type: ignore[no-untyped-def]
    providers = MemoryProviders({"QmA": [Provider(p, [f"/ip4/127.0.0.1/tcp/{i}"])
                                        for i, p in enumerate(["dead", *rtts])]})
    return MemoryRecords({"svc": INFO}), providers, MemoryPinger(rtts)


async def test_resolve_ranks_by_rtt_judges_and_leaves_unusable_out():
    records, providers, pinger = _world({"far": 90 * MS, "near": 3 * MS, "mid": 40 * MS})
    found = await resolve_instances("svc", records, providers, pinger)
    assert [(i.peer_id, i.verdict) for i in found] == [
        ("near", Verdict.GOOD), ("mid", Verdict.SLOW)]
    assert found[0].rtt_ns == 3 * MS and found[0].addrs == ["/ip4/127.0.0.1/tcp/2"]
    assert pinger.timeouts == [60 * MS]  # the hard requirement is the ping timeout
    assert providers.asked == ["QmA"]
    every = await resolve_instances("svc", records, providers, pinger, include_unusable=True)
    assert [(i.peer_id, i.rtt_ns, i.verdict) for i in every] == [
        ("near", 3 * MS, Verdict.GOOD), ("mid", 40 * MS, Verdict.SLOW),
        ("dead", None, Verdict.UNUSABLE), ("far", None, Verdict.UNUSABLE)]


async def test_a_view_saves_the_registry_round_trip():
    records, providers, pinger = _world({"near": 3 * MS})
    found = await resolve_instances("svc", records, providers, pinger,
                                    view=MemoryView({"svc": INFO}))
    assert [i.peer_id for i in found] == ["near"] and records.gets == 0
    with pytest.raises(NotInView):
        await resolve("other", records, providers, pinger, view=MemoryView({}))
    with pytest.raises(ServiceNotFound):
        await resolve("other", records, providers, pinger)


async def test_the_reason_when_nothing_is_usable():
    records, providers, pinger = _world({})
    resolution = await resolve("svc", records, providers, pinger)
    assert resolution.usable() == []
    assert no_usable_reason(resolution.instances, INFO) == (
        "1 instance found, none answered a ping within the hard requirement of 60 ms")
    from domain.instance_verdict import Instance
    slow = [Instance(peer_id=p, addrs=[], rtt_ns=r, verdict=Verdict.UNUSABLE)
            for p, r in (("a", 412 * MS), ("b", None), ("c", 500 * MS))]
    hard300 = ServiceInfo(content_hash="x", network_hard_req=PerfInd.from_millis(300))
    assert no_usable_reason(slow, hard300) == (
        "3 instances found, none within the hard requirement of 300 ms: closest 412 ms")
    assert no_usable_reason([], INFO).startswith("no instance found")


def _put(name: str, info: ServiceInfo, rev: int) -> WatchEvent:
    return WatchEvent(type=EventType.PUT, name=name, info_str=encode_service_info(info),
                      revision=rev)


async def _feed(events: list[WatchEvent]):  # type: ignore[no-untyped-def]
    for event in events:
        yield event


async def test_the_announcer_follows_new_content_hashes_and_stops_on_delete():
    moved = ServiceInfo(content_hash="QmB")
    events = [_put("svc", INFO, 3), WatchEvent(type=EventType.SYNCED, revision=4),
              _put("svc", INFO, 5),  # same ContentHash: nothing to move
              _put("svc", moved, 6), WatchEvent(type=EventType.DELETE, name="svc", revision=7)]
    advertiser, seen = MemoryAdvertiser(), []
    announcement = Announcement("svc")
    deleted = await follow_record(announcement, _feed(events), advertiser,
                                  on_change=lambda a: seen.append(a.content_hash))
    assert advertiser.history == ["QmA", "QmB", None]
    assert seen == ["QmA", "QmB", None]
    assert deleted.revision == 7 and announcement.deleted is deleted
    assert announcement.changes == 2


async def test_the_announcer_refuses_an_absent_or_unreadable_record():
    with pytest.raises(ServiceNotFound):
        await follow_record(Announcement("svc"), _feed(
            [WatchEvent(type=EventType.SYNCED, revision=2)]), MemoryAdvertiser())
    bad = WatchEvent(type=EventType.PUT, name="svc", info_str="nope", revision=2)
    with pytest.raises(UnreadableRecord):
        await follow_record(Announcement("svc"), _feed(
            [bad, WatchEvent(type=EventType.SYNCED, revision=2)]), MemoryAdvertiser())


async def test_a_reset_whose_state_lacks_the_record_counts_as_deleted():
    advertiser = MemoryAdvertiser()
    events = [_put("svc", INFO, 3), WatchEvent(type=EventType.SYNCED, revision=3),
              WatchEvent(type=EventType.RESET, revision=9),
              WatchEvent(type=EventType.SYNCED, revision=9)]
    deleted = await follow_record(Announcement("svc"), _feed(events), advertiser)
    assert advertiser.history == ["QmA", None] and deleted.revision == 9


async def test_when_none_is_usable_the_silent_are_measured_to_name_the_closest():
    records, providers, pinger = _world({"far": 200 * MS, "farther": 900 * MS})
    resolution = await resolve("svc", records, providers, pinger)
    assert resolution.usable() == [] and all(i.rtt_ns is None for i in resolution.instances)
    measured = await measure_the_silent(resolution, pinger)
    assert pinger.timeouts == [60 * MS, 4 * 60 * MS]
    assert [(i.peer_id, i.rtt_ns, i.verdict) for i in measured.instances] == [
        ("far", 200 * MS, Verdict.UNUSABLE), ("dead", None, Verdict.UNUSABLE),
        ("farther", None, Verdict.UNUSABLE)]
    assert no_usable_reason(measured.instances, INFO) == (
        "3 instances found, none within the hard requirement of 60 ms: closest 200 ms")


async def test_the_silent_are_not_measured_again_when_one_is_usable():
    records, providers, pinger = _world({"near": 5 * MS, "far": 412 * MS})
    resolution = await resolve("svc", records, providers, pinger)
    assert await measure_the_silent(resolution, pinger) == resolution
    assert pinger.timeouts == [60 * MS]
