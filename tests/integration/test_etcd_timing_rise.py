"""A running member in auto mode rises to the higher etcd timing another member runs.

The first instance of a cluster has nobody to measure and starts with etcd's defaults; a
joiner that runs more (measured across slow links, or set by flags as here) makes it
restart its own etcd with the joiner's values (application/cluster/timing_adoption.py).
On loopback, the joiner's values come from flags: what is tested is the rise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cluster_fixtures import PSK, Cluster, all_healthy, wait_until

from domain import ServiceInfo
from entrypoints import library

JOINER_FLAGS = ("--etcd-heartbeat-ms", "150", "--etcd-election-ms", "1500")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop_all()


def own_timing(cluster: Cluster, index: int) -> dict[str, object]:
    """What the instance's status says it runs; {} while it does not answer (its etcd
    restarting: the very event the test waits for)."""
    result = cluster.instances[index].proc.cli("--json", "status")
    if result.returncode != 0:
        return {}
    return dict(json.loads(result.stdout)["etcd_timing"])


def etcd_starts(cluster: Cluster, index: int) -> list[str]:
    log = cluster.instances[index].proc.data_dir.with_name("etcd-data.log")
    return [line for line in log.read_text(errors="replace").splitlines()
            if line.startswith("--- physarum-registry starts:")]


def test_the_first_member_rises_to_a_joiners_higher_timing_and_keeps_serving(
        cluster: Cluster) -> None:
    first = cluster.add_instance()
    before = own_timing(cluster, 0)
    assert (before["heartbeat_ms"], before["election_ms"], before["source"]) == (
        100, 1000, "default"), before
    cluster.add_instance(extra_args=JOINER_FLAGS)
    assert own_timing(cluster, 1)["source"] == "flags"

    wait_until(lambda: own_timing(cluster, 0).get("election_ms") == 1500, 60,
               "the first member runs the joiner's election timeout")
    after = own_timing(cluster, 0)
    assert (after["heartbeat_ms"], after["election_ms"], after["source"]) == (
        150, 1500, "cluster"), after
    assert "restarting this member's etcd to apply it" in first.log()
    starts = etcd_starts(cluster, 0)
    assert len(starts) == 2, starts  # its etcd restarted once, with the new values
    assert "--heartbeat-interval 100 " in starts[0] and "--election-timeout 1000 " in starts[0]
    assert "--heartbeat-interval 150 " in starts[1] and "--election-timeout 1500 " in starts[1]

    wait_until(lambda: all_healthy(cluster), 30, "both members healthy")
    assert first.proc.alive()
    info = ServiceInfo(content_hash="QmRisen", cpu_req=1)
    trio.run(library.add_service, first.proc.addrs, PSK, "risen", info)
    assert trio.run(library.get_service, first.proc.addrs, PSK, "risen") == info
