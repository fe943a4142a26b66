"""WAN figures: three registry-services whose links are 50, 150 and 300 ms ± 10 % apart.

Run (as root): .venv/bin/python benchmarks/bench_wan.py [--minutes 3] [--rtt-ms 50 150 300]
[--modes auto defaults] [--loss 0.02] [--cuts 2]

For each round trip it starts the cluster twice, with ``--etcd-timing auto`` (the default:
timing from the measured round trip) and with etcd's defaults (100 ms / 1 s), and measures:

- leader changes and elections (raft term rise) during ``--minutes`` without faults;
- write latency through a follower's instance (its write goes to the leader: two round
  trips) and through the leader's own, against the round trip;
- read latency from the local copy (through the follower's instance);
- the same writes straight to etcd (benchmarks/bare_etcd_puts.py: a gRPC Put to the
  follower's member and to the leader's, no registry): the floor under ours;
- the time until the other two agree on a new leader after the leader's site is cut,
  against the election timeout, and the election rounds it took (more than one: the
  remaining followers split their votes), ``--cuts`` times.

The delay is user-space (tests/integration/link_delay.py, NFQUEUE) and is measured on
every link before each cluster starts (the run stops if it is not there). Load averages
are printed before and after each run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from netns_fixtures import Node
from partition_scenarios import percentile
from wan_cluster import (
    AUTO,
    ETCD_DEFAULTS,
    WanCluster,
    quiet_window,
    time_to_new_leader,
    wan_cluster,
)

LEADER_WRITES = 40
BARE_PUTS = 60
BARE_ETCD_PUTS = Path(__file__).with_name("bare_etcd_puts.py")


def through_the_leader(wan: WanCluster) -> list[float]:
    probe = wan.cluster.probes[wan.cluster.leader().index]
    seconds = []
    for i in range(LEADER_WRITES):
        answer = probe.put(f"wan-leader-{i:04d}", i)
        if answer["ok"]:
            seconds.append(answer["seconds"])
    return seconds


def straight_to_etcd(wan: WanCluster, node: Node) -> list[float]:
    """Seconds of BARE_PUTS gRPC puts to ``node``'s own member, from its namespace."""
    socket_name = wan.cluster.client_socket(node)
    target = f"unix:{socket_name}" if socket_name else f"{node.ip}:2379"
    result = node.run(sys.executable, str(BARE_ETCD_PUTS), target, str(BARE_PUTS), "0.2",
                      cwd=wan.cluster.procs[node.index].data_dir if socket_name else None,
                      timeout=BARE_PUTS * 5 + 30)
    return list(json.loads(result.stdout)["seconds"])


def milliseconds(name: str, seconds: list[float]) -> dict[str, float]:
    return {f"{name}_p50_ms": round(percentile(seconds, 50) * 1000, 1),
            f"{name}_p99_ms": round(percentile(seconds, 99) * 1000, 1)}


def one_run(rtt_ms: int, mode: str, minutes: float, loss: float,
            cuts: int) -> dict[str, Any]:
    args = AUTO if mode == "auto" else ETCD_DEFAULTS
    with tempfile.TemporaryDirectory(prefix="bench-wan-") as root, \
            wan_cluster(Path(root), rtt_ms / 1000, args, loss=loss) as wan:
        timing = wan.timing(wan.nodes[0])
        consistent = len({(t["heartbeat_ms"], t["election_ms"])
                          for t in (wan.timing(n) for n in wan.nodes)}) == 1
        quiet = quiet_window(wan, minutes * 60)
        leader_writes = through_the_leader(wan)
        bare_follower = straight_to_etcd(wan, wan.cluster.follower())
        bare_leader = straight_to_etcd(wan, wan.cluster.leader())
        new_leaders = [time_to_new_leader(wan) for _ in range(cuts)]
        links = [round(link.median_rtt * 1000, 1) for link in wan.links]
        return {
            "rtt_ms": rtt_ms, "loss": loss, "mode": mode, "heartbeat_ms": timing["heartbeat_ms"],
            "election_ms": timing["election_ms"], "consistent": consistent,
            "link_median_rtt_ms": links, **quiet.summary(),
            **milliseconds("leader_write", leader_writes),
            **milliseconds("bare_etcd_follower_put", bare_follower),
            **milliseconds("bare_etcd_leader_put", bare_leader),
            "new_leader_s": [round(c.seconds, 2) for c in new_leaders],
            "election_rounds": [c.rounds for c in new_leaders],
            "load_end": os.getloadavg(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0,
                        help="length of the no-fault window per run (default 3)")
    parser.add_argument("--rtt-ms", type=int, nargs="+", default=[50, 150, 300])
    parser.add_argument("--modes", nargs="+", default=["auto", "defaults"],
                        choices=["auto", "defaults"])
    parser.add_argument("--cuts", type=int, default=2,
                        help="times the leader's site is cut, one after another (default 2)")
    parser.add_argument("--loss", type=float, default=0.0,
                        help="fraction of packets each node drops on the way out (default 0)")
    options = parser.parse_args()
    print(f"load before: {os.getloadavg()}", flush=True)
    for rtt_ms in options.rtt_ms:
        for mode in options.modes:
            figures = one_run(rtt_ms, mode, options.minutes, options.loss, options.cuts)
            print(json.dumps(figures), flush=True)
    print(f"load after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
