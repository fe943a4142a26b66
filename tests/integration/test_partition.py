"""Partitions at the edge, with real network namespaces (see netns_fixtures.py).

Three registry-services, each in its own namespace on a private bridge; links
are cut with iptables inside the namespaces and slowed with NFQUEUE. One
cluster serves every scenario (each leaves it healed and healthy). The time
bounds are the documented promises of docs/cluster.md ("During a partition").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from partition_cluster import ETCD_TIMEOUT, PartitionCluster, partition_cluster
from partition_scenarios import (
    CATCH_UP_WITHIN,
    MAJORITY_RESUMES_WITHIN,
    STALE_READ_WITHIN,
    WATCH_CUT_OFF_NOTICE_WITHIN,
    Figures,
    cut_scenario,
    flapping_scenario,
    minority_client_scenario,
    slow_link_scenario,
)
from partition_watch import watch_cut_scenario


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartitionCluster]:
    with partition_cluster(Path(tmp_path_factory.mktemp("partition"))) as running:
        yield running


def _no_acknowledged_write_lost(figures: Figures) -> None:
    assert figures.acknowledged > 0, figures.summary()
    assert figures.lost == 0, figures.summary()
    assert figures.replicas_agree, figures.summary()


def _minority_answers_as_promised(figures: Figures) -> None:
    summary = figures.summary()
    # every read in the window is answered (none fails), and once one came back marked
    # stale every later one does too, until the heal
    reads = figures.minority_reads
    assert reads and all(r["ok"] for r in reads), reads
    first_stale = next((i for i, r in enumerate(reads) if r["stale"]), None)
    assert first_stale is not None, reads
    assert all(r["stale"] for r in reads[first_stale:]), reads
    # every read answered within 2 s, and marked stale within 2 s of the cut ...
    assert max(figures.minority_read_s) <= STALE_READ_WITHIN, summary
    assert figures.minority_first_stale_s is not None, summary
    assert figures.minority_first_stale_s <= STALE_READ_WITHIN, summary
    # ... after which no unmarked answer misses an acknowledged write
    assert figures.unmarked_stale_reads_late == 0, summary
    assert figures.minority_write_error == "NoQuorum", summary
    assert figures.minority_write_s is not None
    assert figures.minority_write_s <= ETCD_TIMEOUT + 1, summary
    assert figures.catch_up_s is not None and figures.catch_up_s <= CATCH_UP_WITHIN, summary


def test_leader_cut_off(cluster: PartitionCluster) -> None:
    figures = cut_scenario(cluster, cluster.leader(), "leader-cut")
    _minority_answers_as_promised(figures)
    assert figures.majority_resume_s is not None, figures.summary()
    assert figures.majority_resume_s <= MAJORITY_RESUMES_WITHIN, figures.summary()
    _no_acknowledged_write_lost(figures)


def test_follower_cut_off(cluster: PartitionCluster) -> None:
    figures = cut_scenario(cluster, cluster.follower(), "follower-cut")
    _minority_answers_as_promised(figures)
    # the majority keeps its leader: it hardly notices
    assert figures.majority_resume_s is not None, figures.summary()
    assert figures.majority_resume_s <= MAJORITY_RESUMES_WITHIN, figures.summary()
    _no_acknowledged_write_lost(figures)


def test_client_that_reaches_only_the_minority(cluster: PartitionCluster) -> None:
    """registry-cli inside the cut-off namespace gets its answer from that instance.

    Bound: the promise plus what the same command took against the healthy cluster
    (interpreter start, node start, connecting).
    """
    figures = minority_client_scenario(cluster, cluster.follower())
    assert figures.cli_read is not None and figures.cli_write is not None
    assert figures.cli_healthy_s is not None
    assert figures.cli_read_s is not None and figures.cli_write_s is not None
    read = f"get: exit/stderr {figures.cli_read} after {figures.cli_read_s:.1f} s " \
        f"(healthy: {figures.cli_healthy_s:.1f} s)"
    code, stderr = figures.cli_read
    assert code == 0 and "may be stale" in stderr, read
    assert figures.cli_read_s <= STALE_READ_WITHIN + figures.cli_healthy_s, read
    write = f"delete: exit/stderr {figures.cli_write} after {figures.cli_write_s:.1f} s"
    code, stderr = figures.cli_write
    assert code == 4 and "no quorum" in stderr, write
    assert figures.cli_write_s <= ETCD_TIMEOUT + 1 + figures.cli_healthy_s, write


def test_flapping_leader_link_under_a_steady_writer(cluster: PartitionCluster) -> None:
    figures = flapping_scenario(cluster, cluster.leader())
    _no_acknowledged_write_lost(figures)
    assert figures.catch_up_s is not None and figures.catch_up_s <= CATCH_UP_WITHIN, (
        figures.summary())


def test_slow_lossy_member_link_under_a_steady_writer(cluster: PartitionCluster) -> None:
    """delay 200 ms ± 50 ms, loss 5% on the member's link; writer and reader through it."""
    delay, jitter, loss = 0.2, 0.05, 0.05
    figures = slow_link_scenario(cluster, cluster.follower(), delay=delay, jitter=jitter,
                                 loss=loss)
    # The link was slow and lossy, measured (UDP probes, 200 each time) once slowed and at
    # the end; the same probe on the healthy link before tells the two apart.
    assert figures.link_healthy is not None and figures.link_healthy.median_rtt < 0.05, (
        figures.link_healthy)
    for link in (figures.link_slowed, figures.link_at_end):
        assert link is not None
        assert min(link.rtts) >= delay - jitter - 0.005, link.summary()
        assert delay - jitter <= link.median_rtt <= delay + jitter + 0.1, link.summary()
        # 5% of 200: fewer than 2 lost has a chance below 1 in 2000
        assert 0.01 <= link.loss <= 0.15, link.summary()
    assert figures.delayer_alive_at_end, "the delayer died during the run"
    _no_acknowledged_write_lost(figures)
    # a slow link is not a partition: the member keeps working
    assert figures.failed <= figures.acknowledged // 10, figures.summary()
    assert figures.read_s, figures.summary()
    print(figures.summary(), figures.link_slowed.summary(), figures.link_at_end.summary())


def test_a_watch_on_the_cut_off_side_says_so_then_resumes_without_a_gap(
        cluster: PartitionCluster) -> None:
    """registry-cli watch inside the cut-off namespace, bootstrapping to that instance."""
    figures = watch_cut_scenario(cluster, cluster.follower())
    summary = figures.summary()
    assert figures.cut_off_notice_s is not None, summary
    assert figures.cut_off_notice_s <= WATCH_CUT_OFF_NOTICE_WITHIN, summary
    assert figures.notices == [True, False], summary  # each once
    assert figures.resumed_notice_s is not None, summary
    assert figures.made_during_cut > 0, summary
    assert figures.catch_up_s is not None and figures.catch_up_s <= CATCH_UP_WITHIN, summary
    assert figures.lost == 0 and figures.duplicates == 0, summary
    assert figures.in_revision_order, summary
    print(summary)  # the figures, for the log
