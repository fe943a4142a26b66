"""Five instances, one namespace each, split into sides, and restarted one by one.

The bounds are the promises of docs/cluster.md ("During a partition"): the majority side
resumes writes within 5 s, a side without a majority answers reads within 2 s marked
stale and refuses writes with NoQuorum within --etcd-timeout + 1 s, and no acknowledged
write is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from partition_cluster import ETCD_TIMEOUT, PartitionCluster, partition_cluster
from partition_scenarios import CATCH_UP_WITHIN, MAJORITY_RESUMES_WITHIN, STALE_READ_WITHIN
from split_scenarios import SideFigures, SplitFigures, rolling_restart_scenario, split_scenario
from wan_cluster import LAB_PREFIX


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartitionCluster]:
    with partition_cluster(Path(tmp_path_factory.mktemp("five")), size=5,
                           prefix=LAB_PREFIX) as running:
        yield running


def _without_majority_as_promised(side: SideFigures, summary: object) -> None:
    assert side.every_read_answered, (side.reads, summary)
    assert side.stale_from_first_on, (side.reads, summary)
    assert side.first_stale_s is not None and side.first_stale_s <= STALE_READ_WITHIN, summary
    assert max(r["seconds"] for r in side.reads) <= STALE_READ_WITHIN, summary
    assert side.write_error == "NoQuorum", summary
    assert side.write_s is not None and side.write_s <= ETCD_TIMEOUT + 1, summary


def _nothing_lost(figures: SplitFigures) -> None:
    summary = figures.summary()
    assert figures.acknowledged > 0 and figures.lost == 0, summary
    assert figures.replicas_agree, summary


def test_three_two_with_the_leader_on_the_two_side(cluster: PartitionCluster) -> None:
    leader = cluster.leader()
    small = [leader, next(n for n in cluster.nodes if n is not leader)]
    big = [n for n in cluster.nodes if n not in small]
    figures = split_scenario(cluster, [big, small], "split-3-2", majority=big)
    summary = figures.summary()
    print(summary)
    assert figures.majority_resume_s is not None, summary
    assert figures.majority_resume_s <= MAJORITY_RESUMES_WITHIN, summary
    _without_majority_as_promised(figures.sides[1], summary)
    _nothing_lost(figures)


def test_two_two_one_has_no_majority_anywhere(cluster: PartitionCluster) -> None:
    nodes = cluster.nodes
    sides = [nodes[0:2], nodes[2:4], nodes[4:5]]
    figures = split_scenario(cluster, sides, "split-2-2-1")
    summary = figures.summary()
    print(summary)
    for side in figures.sides:
        _without_majority_as_promised(side, summary)
    assert figures.acknowledged_during_split == 0, summary
    assert figures.writes_resume_after_heal_s is not None, summary
    assert figures.writes_resume_after_heal_s <= CATCH_UP_WITHIN, summary
    _nothing_lost(figures)


def test_rolling_restart_of_all_five_under_a_steady_writer(cluster: PartitionCluster) -> None:
    figures = rolling_restart_scenario(cluster)
    summary = figures.summary()
    print(summary)
    assert figures.restarts == 5, summary
    assert figures.acknowledged > 0 and figures.lost == 0, summary
    assert figures.failed_after_retries == 0, summary
    assert figures.replicas_agree, summary
    assert all(changes <= 1 for changes in figures.leader_changes), summary
    assert all(rise <= 1 for rise in figures.term_rise), summary
