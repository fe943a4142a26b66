"""etcd's Raft timing (heartbeat interval, election timeout) and how a member chooses it.

The rule here (see docs/cluster.md, "Members far apart"): the election timeout 4 times
the highest measured round trip, rounded up to 100 ms (members that measured 307 and
311 ms then choose the same values: jitter seldom makes a member rise twice), never below
etcd's 1 s; the heartbeat a tenth of it; and never below what the rest of the cluster
runs: values only rise, so members that learn each other's values converge on one pair.

Why 4 round trips (measured, benchmarks/bench_wan.py): the timeout must outlast the
silence one lost packet causes (TCP resends after about a round trip plus Linux's 200 ms
floor, the copy takes half a round trip more, then the next heartbeat), about 1.5 round
trips + 300 ms, which 4 round trips or 1 s covers. After a cut, a follower waits a
random 1-2 timeouts, so a longer timeout slows fail-over: with the 10 round trips of
etcd's tuning guide a new leader came 5.0-5.7 s after a cut at 300 ms. A shorter one
splits more votes: two followers that fire within one one-way delay both wait once more
(about round trip / timeout of the cuts): at 300 ms, 8 of 26 cuts with etcd's 1 s, 5 of
26 with 1.2-1.3 s. The heartbeat stays a tenth of the timeout, below the round trip on
slow links: that costs nothing (heartbeats are tiny) and keeps etcd's randomized timeout
fine-grained (it counts whole heartbeats).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import msgspec

DEFAULT_HEARTBEAT_MS = 100  # etcd's defaults
DEFAULT_ELECTION_MS = 1000
ELECTIONS_PER_HEARTBEAT = 10  # an election timeout is 10 heartbeats, as etcd's defaults
ROUND_TRIPS_PER_ELECTION = 4  # see above
MAX_ELECTION_MS = 50_000  # etcd refuses more
MIN_ELECTIONS_PER_HEARTBEAT = 5  # etcd refuses an election timeout below 5 heartbeats


class EtcdTiming(msgspec.Struct, frozen=True, kw_only=True):
    """The values one member's etcd runs with, and why (``source`` and ``reason``).

    ``source``: "default" (nothing measured), "measured", "cluster" (raised to what
    the others run), "kept" (a restart reusing its values) or "flags".
    """

    heartbeat_ms: int
    election_ms: int
    source: str = "default"
    reason: str = ""

    def acceptable(self) -> bool:
        """Values etcd would start with (another instance's answer may be anything)."""
        return (self.heartbeat_ms >= 1
                and MIN_ELECTIONS_PER_HEARTBEAT * self.heartbeat_ms <= self.election_ms
                <= MAX_ELECTION_MS)

    def same_values(self, other: EtcdTiming) -> bool:
        return (self.heartbeat_ms, self.election_ms) == (other.heartbeat_ms, other.election_ms)

    def short(self) -> str:
        return f"heartbeat {self.heartbeat_ms} ms, election timeout {self.election_ms} ms"


DEFAULT_TIMING = EtcdTiming(
    heartbeat_ms=DEFAULT_HEARTBEAT_MS, election_ms=DEFAULT_ELECTION_MS, source="default",
    reason="etcd's defaults: no other member to measure",
)


class TimingFlagError(ValueError):
    """Explicit values that etcd would refuse."""


def explicit_timing(heartbeat_ms: int | None, election_ms: int | None) -> EtcdTiming | None:
    """The values --etcd-heartbeat-ms / --etcd-election-ms ask for (None: neither given).

    One alone: the other follows the 10x rule.
    """
    if heartbeat_ms is None and election_ms is None:
        return None
    heartbeat = heartbeat_ms if heartbeat_ms is not None else max(
        1, (election_ms or 0) // ELECTIONS_PER_HEARTBEAT)
    election = election_ms if election_ms is not None else heartbeat * ELECTIONS_PER_HEARTBEAT
    if heartbeat < 1:
        raise TimingFlagError(f"--etcd-heartbeat-ms must be at least 1, not {heartbeat}")
    if election < MIN_ELECTIONS_PER_HEARTBEAT * heartbeat:
        raise TimingFlagError(
            f"--etcd-election-ms ({election}) must be at least "
            f"{MIN_ELECTIONS_PER_HEARTBEAT} x --etcd-heartbeat-ms ({heartbeat}): etcd refuses less"
        )
    if election > MAX_ELECTION_MS:
        raise TimingFlagError(f"--etcd-election-ms must be at most {MAX_ELECTION_MS}, "
                              f"not {election}")
    return EtcdTiming(heartbeat_ms=heartbeat, election_ms=election, source="flags",
                      reason="--etcd-heartbeat-ms/--etcd-election-ms")


def typical_round_trip_ms(samples_ms: Sequence[float]) -> float:
    """The median of one peer's round trips (jitter goes both ways)."""
    ordered = sorted(samples_ms)
    return ordered[len(ordered) // 2]


def from_round_trips(round_trips_ms: Iterable[float]) -> EtcdTiming | None:
    """What the measured round trips (one per member) call for; None: none measured."""
    measured = list(round_trips_ms)
    if not measured:
        return None
    worst = max(measured)
    election = min(MAX_ELECTION_MS, max(
        DEFAULT_ELECTION_MS, math.ceil(worst * ROUND_TRIPS_PER_ELECTION / 100.0) * 100))
    heartbeat = election // ELECTIONS_PER_HEARTBEAT
    return EtcdTiming(
        heartbeat_ms=heartbeat, election_ms=election, source="measured",
        reason=f"round trip to {len(measured)} member(s) measured, highest median "
               f"{worst:.0f} ms",
    )


def highest(timings: Iterable[EtcdTiming]) -> EtcdTiming | None:
    """The highest heartbeat and the highest election timeout among ``timings`` (those
    etcd would refuse left out)."""
    known = [t for t in timings if t.acceptable()]
    if not known:
        return None
    heartbeat = max(t.heartbeat_ms for t in known)
    election = max(t.election_ms for t in known)
    return EtcdTiming(heartbeat_ms=heartbeat, election_ms=max(election, heartbeat * 5),
                      source="cluster")
