"""Cluster fault figures: join time, fail-over after a crash, lost and failed writes, quorum loss.

Run: .venv/bin/python benchmarks/bench_cluster.py [--rounds N]
Starts three real registry-services (each with its own etcd member) on
127.0.0.1-3 and measures:
  - start-up until serving: the first (new cluster), a joiner right after it, and a
    joiner into a cluster that has been stable for 6 s (etcd refuses membership
    changes for 5 s after a member joins);
  - for each round: a writer (one long-lived client node, sequential adds of new
    names) runs; the instance it uses is made etcd leader, then SIGKILLed together
    with its etcd (a machine crash). Reported: fail-over time (kill -> first
    acknowledged add through another instance), adds that failed in that window,
    restart time of the killed instance, and lost acknowledged adds (every one is
    looked up in each member's own copy afterwards);
  - one round killing a follower that is the writer's provider;
  - quorum loss: two of three killed; time until an add fails with NoQuorum, and a
    get answers marked stale.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from cluster_fixtures import (
    PSK,
    Cluster,
    Instance,
    all_healthy,
    leader_id,
    local_entries,
    make_leader,
    members_of,
    run,
    wait_until,
)

from application import client as use_cases
from application.ports import NoQuorum, StaleReadWarning
from domain import ServiceInfo
from entrypoints import library

INFO = ServiceInfo(content_hash="QmBench", docker_hash="r/b@sha256:00", cpu_req=1)


Acked = list[tuple[str, float, str]]  # name, when, provider's peer id


async def write_through_a_crash(
    cluster: Cluster, prefix: str, *, kill_leader: bool
) -> tuple[Acked, list[float], Instance, float, bool]:
    acked: Acked = []
    failed: list[float] = []
    stop = trio.Event()
    async with library.registry_client(cluster.addrs, PSK, attempts=3, first_backoff=0.2,
                                       max_backoff=1.0, request_timeout=8.0) as client:

        async def writer() -> None:
            index = 0
            while not stop.is_set():
                name = f"{prefix}-{index:05d}"
                index += 1
                try:
                    with trio.fail_after(20):
                        await use_cases.add_service(client, name, INFO)
                except Exception:
                    failed.append(time.monotonic())
                    await trio.sleep(0.05)
                    continue
                assert client.last_provider is not None
                acked.append((name, time.monotonic(), str(client.last_provider.peer_id)))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            while not acked:
                await trio.sleep(0.05)
            victim = cluster.by_peer_id(acked[-1][2])
            if kill_leader:
                await make_leader(cluster, victim)
            else:
                others = [i for i in cluster.instances if i is not victim]
                await make_leader(cluster, others[0])
            await trio.sleep(2)
            victim_member = next(m for m in await members_of(victim) if m.name == victim.name)
            was_leader = await leader_id(victim) == victim_member.member_id
            killed = time.monotonic()
            await trio.to_thread.run_sync(victim.kill)
            with trio.fail_after(60):
                while not [a for a in acked if a[1] > killed and a[2] != victim.peer_id]:
                    await trio.sleep(0.02)
            await trio.sleep(2)
            stop.set()
    return acked, failed, victim, killed, was_leader


def crash_round(cluster: Cluster, prefix: str, *, kill_leader: bool) -> dict[str, float]:
    acked, failed, victim, killed, was_leader = trio.run(
        lambda: write_through_a_crash(cluster, prefix, kill_leader=kill_leader)
    )
    first_after = min(a[1] for a in acked if a[1] > killed and a[2] != victim.peer_id)
    restart = cluster.restart(victim)
    healthy = wait_until(lambda: all_healthy(cluster), 60, "healthy after restart")
    names = {a[0] for a in acked}
    lost = 0
    for instance in cluster.instances:
        # Give replication a moment, then count what is still missing.
        with contextlib.suppress(AssertionError):
            wait_until(lambda i=instance: names <= set(run(local_entries, i)), 20, "replicated")
        lost = max(lost, len(names - set(run(local_entries, instance))))  # type: ignore[arg-type]
    return {
        "leader": float(was_leader),
        "failover": first_after - killed,
        "failed_window": float(sum(1 for f in failed if killed <= f <= first_after)),
        "failed_total": float(len(failed)),
        "acked": float(len(names)),
        "lost": float(lost),
        "restart": restart,
        "healthy_after_restart": healthy,
        "writes_per_s_before": _rate(acked, killed),
    }


def _rate(acked: Acked, until: float) -> float:
    before = [a[1] for a in acked if a[1] <= until]
    return (len(before) - 1) / (before[-1] - before[0]) if len(before) > 1 else 0.0


def quorum_loss(cluster: Cluster) -> dict[str, float]:
    survivor, *lost = cluster.instances
    library.add_service_blocking(survivor.proc.addrs, PSK, "quorum-probe", INFO)
    addrs = cluster.addrs
    for instance in lost:
        instance.kill()
    started = time.monotonic()
    try:
        library.add_service_blocking(addrs, PSK, "after-loss", INFO)
        raise AssertionError("an add succeeded without quorum")
    except NoQuorum:
        add_fails = time.monotonic() - started
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        library.get_service_blocking(survivor.proc.addrs, PSK, "quorum-probe")
    stale_get = time.monotonic() - started
    assert any(issubclass(w.category, StaleReadWarning) for w in caught)
    for instance in lost:
        cluster.restart(instance)
    back = wait_until(lambda: all_healthy(cluster), 60, "healthy after quorum loss")
    return {"add_fails_after": add_fails, "stale_get": stale_get, "healthy_after": back}


def join_seconds(root: Path, extra_args: tuple[str, ...]) -> float:
    """A second instance's start until it serves, joining a fresh first one."""
    pair = Cluster(root)
    try:
        pair.add_instance(extra_args=extra_args)
        return pair.add_instance(extra_args=extra_args).start_seconds
    finally:
        pair.stop_all()


def peer_tls_join(root: Path, rounds: int) -> None:
    """Join with mutual-TLS peers against plaintext peers (the pre-TLS daemon), alternated."""
    modes = {"TLS peers": (), "plaintext peers": ("--etcd-plaintext-peers",)}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for n in range(rounds):
        for mode, extra in modes.items():
            times[mode].append(join_seconds(root / f"join-{n}-{len(extra)}", extra))
    medians = {mode: statistics.median(t) for mode, t in times.items()}
    for mode, t in times.items():
        print(f"join with {mode}: median {medians[mode]:.2f} s of {[round(x, 2) for x in t]}")
    print(f"join TLS / plaintext: {medians['TLS peers'] / medians['plaintext peers']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="leader-crash rounds")
    parser.add_argument("--join-rounds", type=int, default=5,
                        help="rounds of the TLS-vs-plaintext-peers join comparison")
    parser.add_argument("--only-join", action="store_true",
                        help="measure only the TLS-vs-plaintext-peers join")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as root:
        peer_tls_join(Path(root), args.join_rounds)
        if args.only_join:
            return
        cluster = Cluster(Path(root))
        try:
            first = cluster.add_instance()
            second = cluster.add_instance()
            time.sleep(6)  # past etcd's 5 s "unhealthy cluster" window
            third = cluster.add_instance()
            print(f"start-up until serving: new cluster {first.start_seconds:.2f} s, "
                  f"join {second.start_seconds:.2f} s, join into a stable cluster "
                  f"{third.start_seconds:.2f} s")
            quick = Cluster(Path(root) / "quick")
            quick.add_instance()
            quick.add_instance()
            rushed = quick.add_instance()
            print(f"a third joiner right after the second: {rushed.start_seconds:.2f} s")
            quick.stop_all()

            rounds = [crash_round(cluster, f"r{n}", kill_leader=True) for n in range(args.rounds)]
            follower = crash_round(cluster, "f", kill_leader=False)
            for n, r in enumerate([*rounds, follower]):
                kind = "leader" if r["leader"] else "follower"
                print(f"round {n} (killed {kind}+provider): fail-over {r['failover']:.2f} s, "
                      f"failed in window {r['failed_window']:.0f} (total {r['failed_total']:.0f}), "
                      f"acked {r['acked']:.0f}, lost {r['lost']:.0f}, restart "
                      f"{r['restart']:.2f} s (+{r['healthy_after_restart']:.2f} s healthy), "
                      f"{r['writes_per_s_before']:.0f} adds/s before")
            print(f"leader crash fail-over median "
                  f"{statistics.median(r['failover'] for r in rounds):.2f} s")
            q = quorum_loss(cluster)
            print(f"quorum loss (2 of 3 killed): add fails with NoQuorum after "
                  f"{q['add_fails_after']:.2f} s; stale get {q['stale_get']:.2f} s; healthy "
                  f"{q['healthy_after']:.2f} s after both restarted")
        finally:
            cluster.stop_all()


if __name__ == "__main__":
    main()
