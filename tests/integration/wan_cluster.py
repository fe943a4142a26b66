"""Three registry-services in network namespaces behind slow links (a WAN), measured.

Shared by test_wan_timing.py and benchmarks/bench_wan.py. Every node's outgoing
packets wait ``rtt / 2 ± rtt / 20`` in link_delay.py (NFQUEUE: this kernel has no
sch_netem), so any two nodes are ``rtt ± 10 %`` apart. Before a cluster is started on
it, the delay is measured (UDP probes): a delayer that is missing, dead or bypassed
fails the run instead of leaving a fast link.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netns_fixtures import LinkFigures, NetnsLab, Node, netns_lab
from partition_cluster import PartitionCluster
from partition_scenarios import percentile
from registry_process import VENV_BIN

LAB_PREFIX = "wan"  # every namespace this harness makes is named wan-<pid>-…
ETCD_DEFAULTS = ["--etcd-timing", "defaults"]
AUTO: list[str] = []  # --etcd-timing auto is the default


class LinkNotDelayed(AssertionError):
    """The link is not as slow as asked: the delay is not really on it."""


def slow_every_link(lab: NetnsLab, rtt: float, loss: float = 0.0) -> None:
    """``loss``: the fraction of packets each node drops on the way out."""
    for node in lab.nodes:
        lab.slow(node, rtt / 2, rtt / 20, loss)


def prove_delay(lab: NetnsLab, rtt: float, count: int = 100,
                loss: float = 0.0) -> list[LinkFigures]:
    """Measure each link from node 0 and between 1 and 2; raise LinkNotDelayed if any is
    faster than asked (or slower by far), or a delayer is dead or may be bypassed."""
    for node in lab.nodes:
        if node.delayer is None or node.delayer.poll() is not None:
            raise LinkNotDelayed(f"the delayer of {node.netns} is not running")
        rules = node.run("iptables", "-S", "OUTPUT").stdout
        queued = [r for r in rules.splitlines() if "NFQUEUE" in r]
        if len(queued) != 1 or "bypass" in queued[0]:
            raise LinkNotDelayed(f"{node.netns}: NFQUEUE rule not as expected: {queued}")
    pairs = [(lab.nodes[0], n) for n in lab.nodes[1:]] + [(lab.nodes[1], lab.nodes[2])]
    figures = []
    for source, target in pairs:
        link = lab.measure_link(source, target, count)
        where = f"{source.ip} -> {target.ip}: {link.summary()}, fastest " \
                f"{min(link.rtts) * 1000:.0f} ms (asked {rtt * 1000:.0f} ms ± 10 %)"
        if link.loss > 2 * loss + 0.05 or min(link.rtts) < rtt * 0.9 - 0.005:
            raise LinkNotDelayed(where)
        if not rtt * 0.9 <= link.median_rtt <= rtt * 1.1 + 0.03:
            raise LinkNotDelayed(where)
        figures.append(link)
    return figures


def raft_view(cluster: PartitionCluster, node: Node) -> tuple[int, int, int] | None:
    """(its member id, the leader it knows (0: none), raft term), or None."""
    result = cluster.etcdctl(node, "endpoint", "status", "-w", "json", timeout=5)
    if result.returncode != 0:
        return None
    [status] = json.loads(result.stdout)
    header = status["Status"]["header"]
    leader = int(status["Status"].get("leader", 0))
    return int(header["member_id"]), leader, int(header["raft_term"])


def leader_and_term(cluster: PartitionCluster) -> tuple[int, int]:
    """The leader every answering member names, and the highest raft term among them."""
    views = [v for v in (raft_view(cluster, n) for n in cluster.nodes) if v is not None]
    leaders = {v[1] for v in views if v[1]}
    if len(leaders) != 1:
        raise AssertionError(f"members disagree on the leader: {views}")
    return leaders.pop(), max(v[2] for v in views)


class StatusUnavailable(AssertionError):
    """`registry-service status` did not answer (its instance busy restarting etcd)."""


@dataclass
class WanCluster:
    cluster: PartitionCluster
    rtt: float
    links: list[LinkFigures] = field(default_factory=list)

    @property
    def lab(self) -> NetnsLab:
        return self.cluster.lab

    @property
    def nodes(self) -> list[Node]:
        return self.cluster.nodes

    # --- what each member runs and sees ----------------------------------------------

    def status(self, node: Node, *, as_json: bool = True) -> subprocess.CompletedProcess[str]:
        proc = self.cluster.procs[node.index]
        argv = [str(VENV_BIN / "registry-service"), "status", "--etcd-ip", node.ip,
                "--etcd-client-port", "2379", "--etcd-peer-port", "2380",
                "--etcd-data-dir", str(proc.data_dir)]
        return node.run(*argv, *(["--json"] if as_json else []), check=False, timeout=60)

    def timing(self, node: Node) -> dict[str, Any]:
        """The etcd timing the instance reports in `registry-service status --json`."""
        result = self.status(node)
        if result.returncode != 0:  # e.g. its etcd restarting to take new values
            raise StatusUnavailable(
                f"status of {node.ip} exited {result.returncode}: {result.stderr.strip()}")
        timing = json.loads(result.stdout).get("etcd_timing")
        if not timing:
            raise AssertionError(f"no etcd_timing in the status of {node.ip}: {result.stdout}")
        return dict(timing)

    def etcd_command_line(self, node: Node) -> str:
        """The last command line the daemon started its etcd with (from etcd's log)."""
        log = self.cluster.procs[node.index].data_dir.with_name("etcd-data.log")
        starts = [line for line in log.read_text(errors="replace").splitlines()
                  if line.startswith("--- physarum-registry starts:")]
        return starts[-1]

    def raft(self, node: Node) -> tuple[int, int, int] | None:
        return raft_view(self.cluster, node)

    def leader_and_term(self) -> tuple[int, int]:
        return leader_and_term(self.cluster)

    # --- the member that started the cluster rises to the others' values -------------

    def wait_for_one_timing(self, within: float | None = None) -> dict[str, Any]:
        """Until every member reports the same values (the first member, which had
        nobody to measure, adopts the joiners' while running); returns them. By default
        within 90 s plus 300 round trips: joiners whose measurements fall either side of
        a rounding step make the first member rise twice, each a 15 s round and a restart
        across the slow link."""
        within = 90 + 300 * self.rtt if within is None else within
        deadline = time.monotonic() + within
        while True:
            try:
                timings = [self.timing(node) for node in self.nodes]
            except StatusUnavailable as exc:
                # A member restarting its etcd to rise to the others' values does not
                # answer status for a moment: that is this wait's event under way.
                timings = [{"unavailable": str(exc)}]
            else:
                if len({(t["heartbeat_ms"], t["election_ms"]) for t in timings}) == 1:
                    return timings[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"members still differ after {within} s: {timings}")
            time.sleep(2)


@dataclass
class QuietFigures:
    seconds: float
    leader_changes: int  # the leader seen differs from the one seen before
    elections: int  # raft term rise over the window (each election raises it)
    write_s: list[float]
    read_s: list[float]
    failed_writes: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seconds": round(self.seconds), "leader_changes":
                               self.leader_changes, "elections": self.elections,
                               "writes": len(self.write_s), "failed_writes": self.failed_writes,
                               "load_before": self.load_before, "load_after": self.load_after}
        for name, values in (("write", self.write_s), ("read", self.read_s)):
            if values:
                out[f"{name}_p50_ms"] = round(percentile(values, 50) * 1000, 1)
                out[f"{name}_p99_ms"] = round(percentile(values, 99) * 1000, 1)
        return out


def quiet_window(wan: WanCluster, seconds: float, *, interval: float = 0.2) -> QuietFigures:
    """No faults for ``seconds``: a writer and a reader through a follower's instance (its
    writes go to the leader: the farthest case), and the leader watched every second."""
    import os

    load_before = os.getloadavg()
    cluster = wan.cluster
    follower = cluster.follower()
    probe = cluster.probes[follower.index]
    leader, term = wan.leader_and_term()
    changes, writes, reads, failed = 0, [], [], 0
    started = time.monotonic()
    next_look = started + 1
    seq = 0
    while time.monotonic() - started < seconds:
        seq += 1
        put = probe.put(f"wan-{seq:06d}", seq)
        if put["ok"]:
            writes.append(put["seconds"])
        else:
            failed += 1
        got = probe.get(f"wan-{seq:06d}")
        if got["ok"]:
            reads.append(got["seconds"])
        if time.monotonic() >= next_look:
            next_look += 1
            with contextlib.suppress(AssertionError):
                now, _ = wan.leader_and_term()
                if now != leader:
                    changes, leader = changes + 1, now
        time.sleep(interval)
    _, term_after = wan.leader_and_term()
    return QuietFigures(time.monotonic() - started, changes, term_after - term, writes, reads,
                        failed, load_before, os.getloadavg())


@dataclass
class NewLeader:
    seconds: float  # from the cut until the other two agree on a new leader
    rounds: int  # election rounds it took: the raft term's rise (more than 1: a split vote)


def time_to_new_leader(wan: WanCluster, within: float = 60) -> NewLeader:
    """Cut the leader's site off; seconds until the others agree on a new leader. Heals and
    waits for the cluster to be whole again before returning."""
    cluster = wan.cluster
    leader = cluster.leader()
    old = wan.raft(leader)
    assert old is not None
    _, term_before = wan.leader_and_term()
    others = cluster.lab.others(leader)
    cut_at = time.monotonic()
    cluster.lab.cut(leader)
    try:
        while True:
            elapsed = time.monotonic() - cut_at
            if elapsed > within:
                raise AssertionError(f"no new leader within {within} s of the cut")
            views = [wan.raft(n) for n in others]
            known = {v[1] for v in views if v is not None}
            if len(known) == 1 and 0 not in known and old[0] not in known:
                break
            time.sleep(0.05)
    finally:
        cluster.lab.heal(leader)
        cluster.wait_all_healthy(within=120)
    # Pre-vote keeps the cut-off leader's term; each round of the others raises it once.
    _, term_after = wan.leader_and_term()
    return NewLeader(elapsed, term_after - term_before)


@contextlib.contextmanager
def wan_cluster(root: Path, rtt: float, timing_args: list[str],
                loss: float = 0.0) -> Iterator[WanCluster]:
    """Links slowed to ``rtt`` (proved), then three instances with ``timing_args``; with auto
    timing, until the first instance has risen to the joiners' values."""
    with netns_lab(3, prefix=LAB_PREFIX) as lab:
        slow_every_link(lab, rtt, loss)
        links = prove_delay(lab, rtt, loss=loss)
        cluster = PartitionCluster(lab, root, extra_args=timing_args)
        try:
            cluster.start()
            wan = WanCluster(cluster, rtt, links)
            cluster.wait_all_healthy(within=120)
            if timing_args is AUTO:
                wan.wait_for_one_timing()
                cluster.wait_all_healthy(within=120)
            yield wan
        finally:
            cluster.stop()
