"""etcd timing chosen from measured round trips, across slow links (see wan_cluster.py).

Three registry-services in their own namespaces, every link 150 ms ± 10 % round trip
(user-space delay, measured before the cluster starts). With the default
``--etcd-timing auto`` the joining members measure the round trip and the first one,
which had nobody to measure, rises to their values while it runs (its etcd restarted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from wan_cluster import AUTO, WanCluster, prove_delay, quiet_window, time_to_new_leader, wan_cluster

RTT = 0.150
QUIET_SECONDS = 30


@pytest.fixture(scope="module")
def wan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WanCluster]:
    with wan_cluster(Path(tmp_path_factory.mktemp("wan")), RTT, AUTO) as running:
        yield running


def test_the_delay_is_really_on_every_link(wan: WanCluster) -> None:
    # measured before the cluster started (wan_cluster fails otherwise), and again now
    assert len(wan.links) == 3
    for link in [*wan.links, *prove_delay(wan.lab, RTT, count=50)]:
        assert min(link.rtts) >= RTT * 0.9 - 0.005, link.summary()
        assert RTT * 0.9 <= link.median_rtt <= RTT * 1.1 + 0.03, link.summary()


def test_auto_timing_matches_the_round_trip_on_every_member(wan: WanCluster) -> None:
    timings = [wan.timing(node) for node in wan.nodes]
    values = {(t["heartbeat_ms"], t["election_ms"]) for t in timings}
    assert len(values) == 1, timings  # consistent across members
    [(heartbeat, election)] = values
    # heartbeat about the round trip (a ping over libp2p adds a little), election 10 x
    assert RTT * 1000 * 0.9 <= heartbeat <= RTT * 1000 * 1.3 + 10, timings
    assert election == 10 * heartbeat, timings
    # the joiners measured; the first member rose to the cluster's values, running
    assert timings[0]["source"] == "cluster", timings[0]
    first_log = wan.cluster.procs[0].log_file.read_text()
    assert "restarting this member's etcd to apply it" in first_log
    assert wan.cluster.procs[0].alive()
    assert all(t["source"] in ("measured", "cluster") for t in timings[1:]), timings
    assert any(t["source"] == "measured" and "measured" in t["reason"] for t in timings[1:])
    for node in wan.nodes:  # and etcd really runs with them
        argv = wan.etcd_command_line(node)
        assert f"--heartbeat-interval {heartbeat} " in argv, argv
        assert f"--election-timeout {election} " in argv, argv
        log = wan.cluster.procs[node.index].log_file.read_text()
        chose = re.findall(r"etcd timing: heartbeat \d+ ms.*", log)
        assert chose and f"heartbeat {heartbeat} ms" in chose[-1], chose
    human = wan.status(wan.nodes[1], as_json=False).stdout
    assert f"etcd timing heartbeat {heartbeat} ms, election timeout {election} ms" in human, human


def test_no_leader_change_without_faults(wan: WanCluster) -> None:
    figures = quiet_window(wan, QUIET_SECONDS)
    summary = figures.summary()
    assert figures.leader_changes == 0 and figures.elections == 0, summary
    assert figures.failed_writes == 0 and figures.write_s, summary
    print(summary)


def test_cutting_the_leaders_site_elects_a_new_leader_within_the_election_timeout(
        wan: WanCluster) -> None:
    election_s = wan.timing(wan.nodes[0])["election_ms"] / 1000
    seconds, _ = time_to_new_leader(wan)
    assert seconds <= election_s + 2, (seconds, election_s)
    print(f"new leader {seconds:.2f} s after the cut (election timeout {election_s:g} s)")
