"""Choose the heartbeat and election timeout our etcd member runs with (see domain/etcd_timing).

- ``--etcd-heartbeat-ms`` / ``--etcd-election-ms`` given: those.
- ``auto`` (the default), a member that is new (joining, or first of a new cluster):
  measure the round trip to every registry-service it reaches (libp2p ping), learn what
  each of them runs (``/status/0.1``), and take the higher of the two.
- ``auto``, a restart: keep the values of the last run (no new measurement: a member
  does not change its timing under a running cluster by itself), raised to what the
  others run. This is how the first instance, which had nobody to measure, comes to
  run the cluster's values.

Whatever was chosen is logged in one line, with why, and is stored for the next restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.etcd_timing import (
    DEFAULT_TIMING,
    EtcdTiming,
    from_round_trips,
    highest,
    typical_round_trip_ms,
)

log = logging.getLogger("registry-service")

TIMING_RULE = ("rule: election timeout 4 round trips and at least etcd's 1 s, heartbeat a "
               "tenth of it")


@dataclass(frozen=True)
class PeerTiming:
    """One other registry-service: its round trips (ms; empty when not measured) and the
    timing it reports (None: it did not say)."""

    peer: str
    round_trips_ms: Sequence[float]
    timing: EtcdTiming | None


class TimingSurvey(Protocol):
    async def survey(self, *, measure: bool) -> list[PeerTiming]:
        """Every other registry-service reachable now (bounded in time; none is fine)."""
        ...


class TimingStore(Protocol):
    def load(self) -> EtcdTiming | None: ...

    def save(self, timing: EtcdTiming) -> None: ...


async def choose_etcd_timing(
    *, explicit: EtcdTiming | None, restart: bool, survey: TimingSurvey, store: TimingStore,
) -> EtcdTiming:
    """The timing to start our etcd member with; logged (one line) and stored."""
    if explicit is not None:
        chosen = explicit
        peers = await survey.survey(measure=False)
        why = "set by flags"
    elif restart:
        peers = await survey.survey(measure=False)
        chosen, why = _kept(store.load(), peers)
    else:
        peers = await survey.survey(measure=True)
        chosen, why = _measured(peers)
    log.info("etcd timing: %s (%s; %s)", chosen.short(), why, TIMING_RULE)
    for peer in peers:
        if peer.timing is not None and not peer.timing.same_values(chosen):
            log.warning(
                "etcd timing: registry-service %s runs %s, not the same as this member: "
                "members of one cluster should run the same values. In auto mode it raises "
                "its values to the cluster's highest at its next restart", peer.peer,
                peer.timing.short())
    store.save(chosen)
    return chosen


def raised_to_the_cluster(own: EtcdTiming, peers: Sequence[PeerTiming]) -> EtcdTiming | None:
    """``own`` raised to the highest values the others run; None when none runs more."""
    cluster = highest(p.timing for p in peers if p.timing is not None)
    if cluster is None or (own.heartbeat_ms >= cluster.heartbeat_ms
                           and own.election_ms >= cluster.election_ms):
        return None
    raised = highest([own, cluster])
    assert raised is not None
    return EtcdTiming(
        heartbeat_ms=raised.heartbeat_ms, election_ms=raised.election_ms, source="cluster",
        reason=f"raised to the highest the other members run ({cluster.short()})",
    )


def _kept(stored: EtcdTiming | None, peers: Sequence[PeerTiming]) -> tuple[EtcdTiming, str]:
    # A member from before this choice existed ran with etcd's defaults.
    own = stored or DEFAULT_TIMING
    chosen = raised_to_the_cluster(own, peers)
    if chosen is None:
        kept = EtcdTiming(heartbeat_ms=own.heartbeat_ms, election_ms=own.election_ms,
                          source="kept", reason=own.reason)
        return kept, f"auto, restart: kept from the last run ({own.reason or own.source})"
    return chosen, f"auto, restart: {chosen.reason}; ran {own.short()} before"


def _measured(peers: Sequence[PeerTiming]) -> tuple[EtcdTiming, str]:
    measured = from_round_trips(
        typical_round_trip_ms(p.round_trips_ms) for p in peers if p.round_trips_ms)
    cluster = highest(p.timing for p in peers if p.timing is not None)
    candidates = [t for t in (DEFAULT_TIMING, measured, cluster) if t is not None]
    top = highest(candidates)
    assert top is not None
    reasons = [measured.reason if measured is not None else "no other member to measure"]
    if cluster is not None:
        reasons.append(f"the others run at most {cluster.short()}")
    source = "default"
    if measured is not None and top.same_values(measured):
        source = "measured"
    elif cluster is not None and top.same_values(cluster):
        source = "cluster"
    chosen = EtcdTiming(heartbeat_ms=top.heartbeat_ms, election_ms=top.election_ms,
                        source=source, reason="; ".join(reasons))
    return chosen, f"auto, new member: {chosen.reason}"
