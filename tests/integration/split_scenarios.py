"""Five instances split into sides, and a rolling restart (test_five_instance_split.py,
which prints the figures for docs/performance.md).

Each scenario starts on a healthy PartitionCluster of five (one namespace each, a probe
client in each), leaves it healed and healthy, and returns its figures.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netns_fixtures import Node
from partition_cluster import PartitionCluster, Probe, SteadyWriter, Write
from wan_cluster import leader_and_term


def split(cluster: PartitionCluster, sides: Sequence[Sequence[Node]]) -> None:
    """Drop every packet between nodes of different sides: two iptables calls a node (a
    rule per address pair would take seconds to put in, and leave the sides half-joined
    meanwhile)."""
    for side in sides:
        outside = ",".join(n.ip for n in cluster.nodes if n not in side)
        for node in side:
            for direction in ("-s", "-d"):
                node.run("iptables", "-A", "PARTITION", direction, outside, "-j", "DROP")


def heal_all(cluster: PartitionCluster) -> None:
    for node in cluster.nodes:
        cluster.lab.heal(node)


@dataclass
class SideFigures:
    """What the clients of one side saw during the split."""

    nodes: list[str]
    reads: list[dict[str, Any]] = field(default_factory=list)  # ok, stale, seconds, since_cut
    first_stale_s: float | None = None
    write_error: str | None = None
    write_s: float | None = None

    @property
    def every_read_answered(self) -> bool:
        return bool(self.reads) and all(r["ok"] for r in self.reads)

    @property
    def stale_from_first_on(self) -> bool:
        """Once one came back marked stale, every later one too."""
        first = next((i for i, r in enumerate(self.reads) if r["stale"]), None)
        return first is not None and all(r["stale"] for r in self.reads[first:])


@dataclass
class SplitFigures:
    scenario: str
    sides: list[SideFigures] = field(default_factory=list)
    writers: list[SteadyWriter] = field(default_factory=list)
    cut_at: float = 0.0
    split_complete_at: float = 0.0
    healed_at: float = 0.0
    # the majority side's writer: first acknowledged write after the cut
    majority_resume_s: float | None = None
    # writes begun after the cut and acknowledged before the heal
    acknowledged_during_split: int = 0
    writes_resume_after_heal_s: float | None = None
    acknowledged: int = 0
    lost: int = 0
    replicas_agree: bool = False
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scenario": self.scenario,
                               "split_took_s": round(self.split_complete_at - self.cut_at, 2)}
        for key in ("majority_resume_s", "acknowledged_during_split",
                    "writes_resume_after_heal_s", "acknowledged", "lost", "replicas_agree"):
            value = getattr(self, key)
            out[key] = round(value, 2) if isinstance(value, float) else value
        out["sides"] = [{"nodes": s.nodes, "reads": len(s.reads),
                         "all_answered": s.every_read_answered,
                         "first_stale_s": None if s.first_stale_s is None
                         else round(s.first_stale_s, 2),
                         "write_error": s.write_error,
                         "write_s": None if s.write_s is None else round(s.write_s, 2)}
                        for s in self.sides]
        out["load"] = [round(x, 2) for x in self.load]
        return out


def _side_write(probe: Probe, name: str, side: SideFigures) -> None:
    put = probe.put(name, 1)
    side.write_s, side.write_error = put["seconds"], put["error"]


def split_scenario(cluster: PartitionCluster, sides: Sequence[Sequence[Node]], scenario: str,
                   *, majority: Sequence[Node] | None = None, hold: float = 8.0) -> SplitFigures:
    """Split into ``sides`` for ``hold`` s: a writer on every side (one per side's first
    node), reads on every side, and 0.3 s after the cut one more write on each side that
    is not ``majority``. Heals, then checks every acknowledged write on every replica."""
    cluster.wait_all_healthy(within=60)
    figures = SplitFigures(scenario, load=os.getloadavg())
    figures.sides = [SideFigures([n.ip for n in side]) for side in sides]
    writers = [SteadyWriter(cluster.probes[side[0].index], f"{scenario}-{i}")
               for i, side in enumerate(sides)]
    figures.writers = writers
    # a client of its own for the reads: the writer's waits on a refused write
    readers = [Probe(side[0], cluster.procs[side[0].index].addrs[0]) for side in sides]
    for writer in writers:
        writer.__enter__()
    try:
        _until_each_acknowledged(writers, 3)
        # Time bounds run from the first rule; "nothing acknowledged" from the last.
        cut = figures.cut_at = time.monotonic()
        split(cluster, sides)
        figures.split_complete_at = time.monotonic()
        timers = [threading.Timer(0.3, _side_write, (cluster.second_probes[side[-1].index],
                                                     f"{scenario}-side-{i}", figures.sides[i]))
                  for i, side in enumerate(sides) if side is not majority]
        for timer in timers:
            timer.start()
        while time.monotonic() - cut < hold:
            for side, seen in zip(sides, figures.sides, strict=True):
                if side is majority:
                    continue
                latest = writers[0].last_acknowledged()
                assert latest is not None
                answer = readers[list(sides).index(side)].get(latest.name)
                seen.reads.append({key: answer.get(key) for key in ("ok", "stale", "seconds")}
                                  | {"since_cut": round(answer["started"] - cut, 2)})
                if answer["stale"] and seen.first_stale_s is None:
                    seen.first_stale_s = answer["ended"] - cut
            time.sleep(0.2)
        for timer in timers:
            timer.join()
        figures.healed_at = time.monotonic()
        heal_all(cluster)
        _until_each_acknowledged(writers, 1, after=figures.healed_at, within=60)
    finally:
        for writer in writers:
            writer.__exit__(None, None, None)
        for reader in readers:
            reader.close()
    during = [w for writer in writers for w in writer.writes
              if w.ok and figures.split_complete_at <= w.started and w.ended < figures.healed_at]
    figures.acknowledged_during_split = len(during)
    if majority is not None:
        resumed = [w for w in writers[list(sides).index(majority)].writes
                   if w.ok and w.started >= cut]
        figures.majority_resume_s = resumed[0].ended - cut if resumed else None
    after_heal = [w.ended for writer in writers for w in writer.writes
                  if w.ok and w.started >= figures.healed_at]
    figures.writes_resume_after_heal_s = (min(after_heal) - figures.healed_at
                                          if after_heal else None)
    _check(cluster, [w for writer in writers for w in writer.writes], figures)
    return figures


def _until_each_acknowledged(writers: Sequence[SteadyWriter], count: int, *,
                             after: float = 0.0, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while any(sum(1 for w in writer.acknowledged if w.started >= after) < count
              for writer in writers):
        assert time.monotonic() < deadline, "a writer got no write acknowledged"
        time.sleep(0.05)


def _check(cluster: PartitionCluster, writes: list[Write], figures: Any) -> None:
    """After the heal: every replica equal, every acknowledged write in each."""
    cluster.wait_all_healthy(within=120)
    deadline = time.monotonic() + 30
    while True:
        replicas = cluster.replicas()
        agree = all(r == replicas[0] for r in replicas)
        if agree or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    figures.replicas_agree = agree
    acknowledged = [w for w in writes if w.ok]
    figures.acknowledged = len(acknowledged)
    figures.lost = sum(1 for w in acknowledged
                       if any(r.get(w.name) is None or str(w.seq) not in r[w.name]
                              for r in replicas))


@dataclass
class RollingFigures:
    restarts: int = 0
    term_rise: list[int] = field(default_factory=list)  # per restart
    leader_changes: list[int] = field(default_factory=list)  # per restart
    attempts: int = 0
    failed_after_retries: int = 0
    retried: int = 0
    acknowledged: int = 0
    lost: int = 0
    replicas_agree: bool = False
    restart_s: list[float] = field(default_factory=list)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else
                    [round(x, 2) for x in v] if isinstance(v, (list, tuple)) else v)
                for k, v in self.__dict__.items()}


class RetryingWriter:
    """Writes r-<seq> = seq every ``interval`` s; a failed write is retried through the
    next instance (up to ``tries`` in all), as a client with several bootstraps does."""

    def __init__(self, probes: Sequence[Probe], interval: float = 0.1, tries: int = 4) -> None:
        self.probes, self.interval, self.tries = list(probes), interval, tries
        self.writes: list[Write] = []
        self.retried = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RetryingWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        seq, turn = 0, 0
        while not self._stop.is_set():
            seq += 1
            name = f"rolling-{seq:05d}"
            started = time.monotonic()
            answer: dict[str, Any] = {"ok": False, "error": None}
            for attempt in range(self.tries):
                answer = self.probes[turn % len(self.probes)].put(name, seq)
                if answer["ok"]:
                    break
                self.retried += 1
                turn += 1
                time.sleep(0.2 * (attempt + 1))
            self.writes.append(Write(seq, name, started, time.monotonic(), answer["ok"],
                                     answer["error"]))
            self._stop.wait(self.interval)


def rolling_restart_scenario(cluster: PartitionCluster) -> RollingFigures:
    """Restart every instance in turn (SIGTERM, start again, wait until all healthy),
    under a steady writer with retries; raft term rise and leader changes per restart."""
    cluster.wait_all_healthy(within=60)
    figures = RollingFigures(load=os.getloadavg())
    with RetryingWriter(cluster.probes) as writer:
        time.sleep(1.0)
        for node in cluster.nodes:
            leader, term = leader_and_term(cluster)
            changes = 0
            started = time.monotonic()
            proc = cluster.procs[node.index]
            stopping = threading.Thread(target=proc.stop)
            stopping.start()
            while stopping.is_alive():  # watch the leader while it goes down
                changes, leader = _look(cluster, leader, changes)
                time.sleep(0.2)
            proc.start(timeout=120)
            cluster.wait_all_healthy(within=120)
            changes, leader = _look(cluster, leader, changes)
            figures.restart_s.append(time.monotonic() - started)
            figures.term_rise.append(leader_and_term(cluster)[1] - term)
            figures.leader_changes.append(changes)
            figures.restarts += 1
        time.sleep(1.0)
    figures.attempts = len(writer.writes)
    figures.retried = writer.retried
    figures.failed_after_retries = sum(1 for w in writer.writes if not w.ok)
    _check(cluster, writer.writes, figures)
    return figures


def _look(cluster: PartitionCluster, leader: int, changes: int) -> tuple[int, int]:
    try:
        now, _ = leader_and_term(cluster)
    except AssertionError:  # no leader, or views differ for a moment
        return changes, leader
    return (changes + 1, now) if now != leader else (changes, leader)
