"""The partition scenarios, measured: shared by test_partition.py and bench_partition.py.

Each scenario runs on a healthy PartitionCluster, leaves it healed and healthy,
and returns its figures; the test asserts the promises on them, the benchmark
prints them.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from netns_fixtures import LinkFigures, Node
from partition_cluster import PartitionCluster, Probe, SteadyWriter

# What the docs promise (docs/cluster.md, "During a partition").
STALE_READ_WITHIN = 2.0
MAJORITY_RESUMES_WITHIN = 5.0
CATCH_UP_WITHIN = 10.0
WATCH_CUT_OFF_NOTICE_WITHIN = 3.0


@dataclass
class Figures:
    scenario: str
    majority_resume_s: float | None = None
    minority_read_s: list[float] = field(default_factory=list)
    minority_first_stale_s: float | None = None  # from the cut until a read came back marked stale
    # Answers not marked stale that missed an acknowledged write: all of them, and
    # those to reads begun later than STALE_READ_WITHIN after the cut (promised: 0).
    unmarked_stale_reads: int = 0
    unmarked_stale_reads_late: int = 0
    stale_answers: int = 0  # reads through the cut-off or slow member marked stale
    minority_write_s: float | None = None
    minority_write_error: str | None = None
    catch_up_s: float | None = None
    acknowledged: int = 0
    failed: int = 0
    lost: int = 0
    failed_but_applied: int = 0
    replicas_agree: bool = False
    write_s: list[float] = field(default_factory=list)
    read_s: list[float] = field(default_factory=list)
    # registry-cli in the cut-off namespace, bootstrapping to the cut-off instance
    cli_healthy_s: float | None = None  # the same get before the cut
    cli_read_s: float | None = None
    cli_read: tuple[int, str] | None = None  # exit code, stderr
    cli_write_s: float | None = None
    cli_write: tuple[int, str] | None = None
    # every read through the cut-off member during the cut: ok, stale, seconds, error
    minority_reads: list[dict[str, Any]] = field(default_factory=list)
    # the slow link, measured: before slowing it, once slowed, at the end of the run
    link_healthy: LinkFigures | None = None
    link_slowed: LinkFigures | None = None
    link_at_end: LinkFigures | None = None
    delayer_alive_at_end: bool = False

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scenario": self.scenario}
        for key in ("majority_resume_s", "minority_first_stale_s", "minority_write_s",
                    "minority_write_error", "catch_up_s", "acknowledged", "failed", "lost",
                    "failed_but_applied", "unmarked_stale_reads", "unmarked_stale_reads_late",
                    "stale_answers", "replicas_agree", "cli_healthy_s", "cli_read_s",
                    "cli_write_s"):
            value = getattr(self, key)
            out[key] = round(value, 2) if isinstance(value, float) else value
        for key in ("minority_read_s", "write_s", "read_s"):
            values = getattr(self, key)
            if values:
                out[key.replace("_s", "") + "_count"] = len(values)
                out[key.replace("_s", "") + "_p50_s"] = round(percentile(values, 50), 3)
                out[key.replace("_s", "") + "_p99_s"] = round(percentile(values, 99), 3)
                out[key.replace("_s", "") + "_max_s"] = round(max(values), 3)
        return out


def percentile(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _check_replicas(cluster: PartitionCluster, writer: SteadyWriter, figures: Figures) -> None:
    """After the heal: every replica equal, every acknowledged write in it."""
    cluster.wait_all_healthy(within=60)
    deadline = time.monotonic() + 30
    while True:  # a follower may apply the last entries a moment after the leader
        replicas = cluster.replicas()
        agree = all(r == replicas[0] for r in replicas)
        if agree or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    figures.replicas_agree = agree
    held = replicas[0]
    figures.acknowledged = len(writer.acknowledged)
    figures.failed = len(writer.writes) - figures.acknowledged
    figures.lost = sum(
        1 for w in writer.acknowledged
        if any(r.get(w.name) is None or str(w.seq) not in r[w.name] for r in replicas)
    )
    figures.failed_but_applied = sum(1 for w in writer.writes if not w.ok and w.name in held)


def _read_latest(probe: Probe, writer: SteadyWriter) -> tuple[dict[str, Any], bool]:
    """A read of the newest acknowledged write; and whether, unmarked, it missed that write."""
    latest = writer.last_acknowledged()
    assert latest is not None, "the writer has no acknowledged write yet"
    answer = probe.get(latest.name)
    missed = answer["ok"] and not answer["stale"] and answer["value"] != latest.seq
    return answer, missed


def _count(figures: Figures, answer: dict[str, Any], missed: bool, cut: float) -> None:
    figures.unmarked_stale_reads += missed
    figures.unmarked_stale_reads_late += missed and answer["started"] - cut > STALE_READ_WITHIN
    figures.stale_answers += answer["stale"]


def _catch_up(probe: Probe, writer: SteadyWriter, healed: float) -> float | None:
    """Seconds from the heal until ``probe``'s instance answers the latest write, fresh."""
    while time.monotonic() - healed < 30:
        latest = writer.last_acknowledged()
        assert latest is not None
        answer = probe.get(latest.name)
        if answer["ok"] and not answer["stale"] and answer["value"] == latest.seq:
            return answer["ended"] - healed
        time.sleep(0.1)
    return None


def cut_scenario(cluster: PartitionCluster, victim: Node, scenario: str,
                 hold: float = 8.0) -> Figures:
    """Cut ``victim`` off from the others for ``hold`` s, under a writer on the majority."""
    cluster.wait_all_healthy()
    figures = Figures(scenario)
    majority = [n for n in cluster.nodes if n is not victim]
    minority = cluster.probes[victim.index]
    with SteadyWriter(cluster.probes[majority[0].index], f"{scenario}-w") as writer:
        _wait_for_acknowledged(writer, 3)
        cut = time.monotonic()
        cluster.lab.cut(victim)
        # The write starts 0.3 s after the cut (the member cannot know yet), on a
        # second client, while the reads go on.
        writing = threading.Timer(0.3, _minority_write, (cluster, victim, scenario, figures))
        writing.start()
        while time.monotonic() - cut < hold:
            answer, missed = _read_latest(minority, writer)
            _count(figures, answer, missed, cut)
            figures.minority_read_s.append(answer["seconds"])
            figures.minority_reads.append(
                {key: answer.get(key) for key in ("ok", "stale", "seconds", "error", "message")}
                | {"since_cut": round(answer["started"] - cut, 2), "missed": missed})
            if answer["stale"] and figures.minority_first_stale_s is None:
                figures.minority_first_stale_s = answer["ended"] - cut
            time.sleep(0.2)
        writing.join()
        healed = time.monotonic()
        cluster.lab.heal(victim)
        figures.catch_up_s = _catch_up(minority, writer, healed)
        time.sleep(1.0)
    after = [w for w in writer.writes if w.started >= cut and w.ok]
    figures.majority_resume_s = after[0].ended - cut if after else None
    _check_replicas(cluster, writer, figures)
    return figures


def _wait_for_acknowledged(writer: SteadyWriter, count: int, within: float = 30.0) -> None:
    """Until the writer has ``count`` acknowledged writes: a baseline before the fault."""
    deadline = time.monotonic() + within
    while len(writer.acknowledged) < count:
        assert time.monotonic() < deadline, f"the writer got no {count} writes acknowledged"
        time.sleep(0.05)


def _minority_write(cluster: PartitionCluster, victim: Node, scenario: str,
                    figures: Figures) -> None:
    put = cluster.second_probes[victim.index].put(f"{scenario}-minority", 1)
    figures.minority_write_s = put["seconds"]
    figures.minority_write_error = put["error"]


def flapping_scenario(cluster: PartitionCluster, victim: Node, scenario: str = "flapping",
                      period: float = 2.0, duration: float = 30.0) -> Figures:
    """Cut and heal ``victim``'s link every ``period`` s for ``duration`` s, under a writer."""
    cluster.wait_all_healthy()
    figures = Figures(scenario)
    writer_node = next(n for n in cluster.nodes if n is not victim)
    started = time.monotonic()
    with SteadyWriter(cluster.probes[writer_node.index], f"{scenario}-w") as writer:
        cut = False
        while time.monotonic() - started < duration:
            if cut:
                cluster.lab.heal(victim)
            else:
                cluster.lab.cut(victim)
            cut = not cut
            time.sleep(period)
        cluster.lab.heal(victim)
        healed = time.monotonic()
        figures.catch_up_s = _catch_up(cluster.probes[victim.index], writer, healed)
    figures.write_s = [w.ended - w.started for w in writer.writes]
    _check_replicas(cluster, writer, figures)
    return figures


def slow_link_scenario(cluster: PartitionCluster, victim: Node, scenario: str = "slow-link",
                       duration: float = 20.0, delay: float = 0.2, jitter: float = 0.05,
                       loss: float = 0.05) -> Figures:
    """``victim``'s link slow and lossy; a writer and a reader through ``victim``."""
    cluster.wait_all_healthy()
    figures = Figures(scenario)
    probe = cluster.probes[victim.index]
    other = next(n for n in cluster.nodes if n is not victim)
    figures.link_healthy = cluster.lab.measure_link(victim, other, count=50)
    cluster.lab.slow(victim, delay, jitter, loss)
    try:
        figures.link_slowed = cluster.lab.measure_link(victim, other)
        with SteadyWriter(probe, f"{scenario}-w", interval=0.2) as writer:
            started = time.monotonic()
            while time.monotonic() - started < duration:
                if writer.last_acknowledged() is not None:
                    answer, missed = _read_latest(probe, writer)
                    _count(figures, answer, missed, started)
                    if answer["ok"]:
                        figures.read_s.append(answer["seconds"])
                time.sleep(0.2)
        figures.link_at_end = cluster.lab.measure_link(victim, other)
        figures.delayer_alive_at_end = victim.delayer is not None and victim.delayer.poll() is None
    finally:
        cluster.lab.unslow(victim)
    figures.write_s = [w.ended - w.started for w in writer.writes if w.ok]
    _check_replicas(cluster, writer, figures)
    return figures


def minority_client_scenario(cluster: PartitionCluster, victim: Node,
                             scenario: str = "minority-client") -> Figures:
    """registry-cli get and delete from inside the cut-off namespace, bootstrapping to it."""
    cluster.wait_all_healthy()
    figures = Figures(scenario)
    name = f"{scenario}-x"
    assert cluster.probes[victim.index].put(name, 1)["ok"]
    result, figures.cli_healthy_s = cluster.cli(victim, victim, "get", name)
    assert result.returncode == 0, f"registry-cli get before the cut: {result.stderr}"
    cluster.lab.cut(victim)
    try:
        # Once the instance knows: the client side is under test here, not detection.
        deadline = time.monotonic() + 10
        while not cluster.probes[victim.index].get(name)["stale"]:
            assert time.monotonic() < deadline, "the cut-off instance never marked reads stale"
            time.sleep(0.2)
        result, figures.cli_read_s = cluster.cli(victim, victim, "get", name)
        figures.cli_read = (result.returncode, result.stderr.strip())
        result, figures.cli_write_s = cluster.cli(victim, victim, "delete", name)
        figures.cli_write = (result.returncode, result.stderr.strip())
        figures.minority_write_error = f"exit {result.returncode}"
    finally:
        cluster.lab.heal(victim)
    cluster.wait_all_healthy()
    return figures
