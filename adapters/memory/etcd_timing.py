"""In-memory TimingSurvey and TimingStore (application/cluster/etcd_timing.py) for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.cluster.etcd_timing import PeerTiming
from domain.etcd_timing import EtcdTiming


@dataclass
class FixedTimingSurvey:
    """Answers ``peers``; round trips only when asked to measure."""

    peers: list[PeerTiming] = field(default_factory=list)
    asked: list[bool] = field(default_factory=list)  # ``measure`` of each survey

    async def survey(self, *, measure: bool) -> list[PeerTiming]:
        self.asked.append(measure)
        return [p if measure else PeerTiming(p.peer, [], p.timing) for p in self.peers]


@dataclass
class MemoryTimingStore:
    stored: EtcdTiming | None = None

    def load(self) -> EtcdTiming | None:
        return self.stored

    def save(self, timing: EtcdTiming) -> None:
        self.stored = timing
