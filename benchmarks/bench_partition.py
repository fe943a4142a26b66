"""Partition figures: three registry-services in network namespaces, links cut or slowed.

Run (as root): .venv/bin/python benchmarks/bench_partition.py [--only NAME ...]
Uses the harness of tests/integration (netns_fixtures, partition_cluster,
partition_scenarios). Per scenario it prints: time until majority writes resume
after the cut, the minority's read and write answer times (as the server
answers them: the probe client asks its instance directly), catch-up time after
the heal, acknowledged / failed / lost writes, for the flapping and slow links
the p50/p99 of write and read times, and for a registry-cli inside the cut-off
namespace its get and delete times (with discovery, as a user runs it), and for a
registry-cli watch there (watch-cut) the time until it hears it is cut off, until
it hears it is back and has every change made meanwhile, and the events lost. The
baseline is the same cluster's healthy write and read times, measured first in
the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from partition_cluster import PartitionCluster, partition_cluster
from partition_scenarios import (
    Figures,
    cut_scenario,
    flapping_scenario,
    minority_client_scenario,
    percentile,
    slow_link_scenario,
)
from partition_watch import WatchFigures, watch_cut_scenario

SCENARIOS = ("leader-cut", "follower-cut", "minority-client", "flapping", "slow-link",
             "watch-cut")


def baseline(cluster: PartitionCluster, count: int = 100) -> dict[str, float]:
    cluster.wait_all_healthy()
    probe = cluster.probes[cluster.follower().index]
    writes = [probe.put(f"baseline-{i}", i)["seconds"] for i in range(count)]
    reads = [probe.get(f"baseline-{i}")["seconds"] for i in range(count)]
    return {"write_p50_s": percentile(writes, 50), "write_p99_s": percentile(writes, 99),
            "read_p50_s": percentile(reads, 50), "read_p99_s": percentile(reads, 99)}


def run(cluster: PartitionCluster, name: str) -> Figures | WatchFigures:
    if name == "leader-cut":
        return cut_scenario(cluster, cluster.leader(), name)
    if name == "follower-cut":
        return cut_scenario(cluster, cluster.follower(), name)
    if name == "minority-client":
        return minority_client_scenario(cluster, cluster.follower(), name)
    if name == "watch-cut":
        return watch_cut_scenario(cluster, cluster.follower(), name)
    if name == "flapping":
        return flapping_scenario(cluster, cluster.leader(), name)
    return slow_link_scenario(cluster, cluster.follower(), name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-partition-") as tmp, \
            partition_cluster(Path(tmp)) as cluster:
        base = baseline(cluster)
        print(json.dumps({"baseline (healthy, follower)": {k: round(v, 4)
                                                          for k, v in base.items()}}))
        for name in args.only:
            started = time.monotonic()
            summary = run(cluster, name).summary()
            summary["scenario_s"] = round(time.monotonic() - started, 1)
            for key in ("write", "read", "minority_read"):
                p50 = summary.get(f"{key}_p50_s")
                base_key = "read_p50_s" if "read" in key else "write_p50_s"
                if p50 is not None:
                    summary[f"{key}_p50_vs_baseline"] = round(p50 / base[base_key], 1)
            print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
