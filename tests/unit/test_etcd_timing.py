"""Choosing etcd's heartbeat and election timeout (domain/etcd_timing, its use case)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from adapters.etcd.process_args import build_etcd_argv
from adapters.memory.etcd_timing import FixedTimingSurvey, MemoryTimingStore
from application.cluster.etcd_timing import PeerTiming, choose_etcd_timing
from domain.cluster import EtcdEndpoint
from domain.etcd_timing import (
    DEFAULT_TIMING,
    EtcdTiming,
    TimingFlagError,
    explicit_timing,
    from_round_trips,
)


def _timing(heartbeat: int, election: int, source: str = "measured") -> EtcdTiming:
    return EtcdTiming(heartbeat_ms=heartbeat, election_ms=election, source=source)


def _choose(**kwargs: object) -> EtcdTiming:
    async def run() -> EtcdTiming:
        return await choose_etcd_timing(**kwargs)  # type: ignore[arg-type]

    return trio.run(run)


def test_the_highest_round_trip_sets_the_election_at_four_times_it_the_heartbeat_a_tenth(
) -> None:
    timing = from_round_trips([151.0, 298.4])
    assert timing is not None
    assert (timing.heartbeat_ms, timing.election_ms) == (120, 1200)
    assert "298 ms" in timing.reason
    far = from_round_trips([1003.0])
    assert far is not None and (far.heartbeat_ms, far.election_ms) == (410, 4100)
    assert far.acceptable()


def test_up_to_250_ms_etcds_one_second_stands() -> None:
    for round_trip in (50.0, 150.0, 250.0):
        timing = from_round_trips([round_trip])
        assert timing is not None and timing.same_values(DEFAULT_TIMING), round_trip
    beyond = from_round_trips([251.0])
    assert beyond is not None and (beyond.heartbeat_ms, beyond.election_ms) == (110, 1100)


def test_round_trips_a_little_apart_give_the_same_values() -> None:
    """Jitter in what two joiners measure must not make the members rise twice."""
    chosen = {from_round_trips([rtt]) for rtt in (301.0, 307.0, 311.0, 324.0)}
    assert {(t.heartbeat_ms, t.election_ms) for t in chosen if t} == {(130, 1300)}


def test_a_lan_keeps_etcds_defaults() -> None:
    timing = from_round_trips([0.4, 2.0])
    assert timing is not None and timing.same_values(DEFAULT_TIMING)
    assert from_round_trips([]) is None


def test_explicit_values_and_the_ones_etcd_refuses() -> None:
    assert explicit_timing(None, None) is None
    only_heartbeat = explicit_timing(200, None)
    assert only_heartbeat is not None and only_heartbeat.election_ms == 2000
    only_election = explicit_timing(None, 5000)
    assert only_election is not None and only_election.heartbeat_ms == 500
    with pytest.raises(TimingFlagError, match="at least 5"):
        explicit_timing(300, 1000)
    with pytest.raises(TimingFlagError, match="at most"):
        explicit_timing(1000, 60_000)


def test_a_new_member_takes_the_highest_of_what_it_measures_and_what_the_others_run() -> None:
    survey = FixedTimingSurvey([
        PeerTiming("a", [148, 152, 150], _timing(160, 1600)),
        PeerTiming("b", [140, 141, 139], _timing(100, 1000, "default")),
    ])
    store = MemoryTimingStore()
    chosen = _choose(explicit=None, restart=False, survey=survey, store=store)
    assert (chosen.heartbeat_ms, chosen.election_ms) == (160, 1600)
    assert survey.asked == [True]
    assert store.stored == chosen


def test_a_new_member_measuring_more_than_the_others_run_raises_the_values(
        caplog: pytest.LogCaptureFixture) -> None:
    survey = FixedTimingSurvey([PeerTiming("a", [301, 305, 299], _timing(110, 1100))])
    with caplog.at_level(logging.INFO, logger="registry-service"):
        chosen = _choose(explicit=None, restart=False, survey=survey, store=MemoryTimingStore())
    assert (chosen.heartbeat_ms, chosen.election_ms, chosen.source) == (130, 1300, "measured")
    chose = [r.getMessage() for r in caplog.records if "etcd timing: heartbeat" in r.getMessage()]
    assert len(chose) == 1 and "301 ms" in chose[0], chose  # one line, with why
    assert "election timeout 4 round trips" in chose[0], chose  # and the rule
    assert any("runs heartbeat 110 ms" in r.getMessage() for r in caplog.records)


def test_a_first_member_with_nobody_to_measure_runs_etcds_defaults() -> None:
    chosen = _choose(explicit=None, restart=False, survey=FixedTimingSurvey(),
                     store=MemoryTimingStore())
    assert chosen.same_values(DEFAULT_TIMING) and chosen.source == "default"


def test_a_restart_keeps_its_values_without_measuring() -> None:
    survey = FixedTimingSurvey([PeerTiming("a", [20, 20, 20], _timing(160, 1600))])
    store = MemoryTimingStore(_timing(160, 1600))
    chosen = _choose(explicit=None, restart=True, survey=survey, store=store)
    assert (chosen.heartbeat_ms, chosen.election_ms, chosen.source) == (160, 1600, "kept")
    assert survey.asked == [False]


def test_a_restart_rises_to_what_the_others_run() -> None:
    """How the first member, which had nobody to measure, comes to run the cluster's values."""
    survey = FixedTimingSurvey([PeerTiming("a", [], _timing(160, 1600)),
                                PeerTiming("b", [], _timing(150, 1500))])
    chosen = _choose(explicit=None, restart=True, survey=survey,
                     store=MemoryTimingStore(DEFAULT_TIMING))
    assert (chosen.heartbeat_ms, chosen.election_ms, chosen.source) == (160, 1600, "cluster")


def test_flags_win_and_a_difference_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    survey = FixedTimingSurvey([PeerTiming("a", [], _timing(160, 1600))])
    with caplog.at_level(logging.INFO, logger="registry-service"):
        chosen = _choose(explicit=explicit_timing(100, 1000), restart=True, survey=survey,
                         store=MemoryTimingStore(_timing(160, 1600)))
    assert (chosen.heartbeat_ms, chosen.election_ms, chosen.source) == (100, 1000, "flags")
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_the_etcd_command_line_carries_the_timing() -> None:
    argv = build_etcd_argv(binary="etcd", endpoint=EtcdEndpoint(), data_dir=Path("/tmp/x"),
                           timing=_timing(160, 1600))
    assert argv[argv.index("--heartbeat-interval") + 1] == "160"
    assert argv[argv.index("--election-timeout") + 1] == "1600"


class _Relaunches:
    def __init__(self) -> None:
        self.timings: list[EtcdTiming] = []

    async def relaunch(self, timing: EtcdTiming) -> None:
        self.timings.append(timing)


class _Rounds:
    """A sleep that lets the loop run ``rounds`` times, then stops it."""

    def __init__(self, rounds: int) -> None:
        self.left = rounds

    async def __call__(self, seconds: float) -> None:
        if self.left == 0:
            raise _Stop
        self.left -= 1


class _Stop(Exception):
    pass


def _adopt(own: EtcdTiming, peers: list[PeerTiming], *, quorum: bool = True,
           rounds: int = 3) -> tuple[list[EtcdTiming], MemoryTimingStore, list[EtcdTiming]]:
    from application.cluster.timing_adoption import adopt_the_clusters_timing

    current = [own]
    relaunches, store = _Relaunches(), MemoryTimingStore()

    async def run() -> None:
        with pytest.raises(_Stop):
            await adopt_the_clusters_timing(
                own=lambda: current[-1], survey=FixedTimingSurvey(peers), store=store,
                member=relaunches, has_quorum=lambda: quorum, adopted=current.append,
                sleep=_Rounds(rounds))

    trio.run(run)
    return relaunches.timings, store, current


def test_a_running_member_rises_to_the_clusters_timing_once() -> None:
    """The first member of a cluster (etcd's defaults) after a joiner measured 160 ms."""
    peers = [PeerTiming("a", [], _timing(160, 1600)), PeerTiming("b", [], _timing(160, 1600))]
    relaunched, store, current = _adopt(DEFAULT_TIMING, peers)
    assert [(t.heartbeat_ms, t.election_ms) for t in relaunched] == [(160, 1600)]  # once
    assert store.stored == relaunched[0] and current[-1] == relaunched[0]
    assert relaunched[0].source == "cluster"


def test_no_restart_without_quorum_or_when_nobody_runs_more() -> None:
    higher = [PeerTiming("a", [], _timing(160, 1600))]
    assert _adopt(DEFAULT_TIMING, higher, quorum=False)[0] == []
    same = [PeerTiming("a", [], _timing(160, 1600)), PeerTiming("b", [], None)]
    assert _adopt(_timing(160, 1600), same)[0] == []
    assert _adopt(_timing(300, 3000), higher)[0] == []  # values never fall by themselves


def test_values_etcd_would_refuse_from_another_instance_are_ignored() -> None:
    """One odd answer must not leave every member unable to start its etcd."""
    survey = FixedTimingSurvey([PeerTiming("a", [400], _timing(10**9, 10**10)),
                                PeerTiming("b", [400], _timing(200, 300))])
    chosen = _choose(explicit=None, restart=False, survey=survey, store=MemoryTimingStore())
    assert (chosen.heartbeat_ms, chosen.election_ms) == (160, 1600)
    assert _adopt(DEFAULT_TIMING, [PeerTiming("a", [], _timing(10**9, 10**10))])[0] == []
