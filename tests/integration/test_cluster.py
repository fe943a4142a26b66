"""Three registry-services on 127.0.0.1-3 form one etcd cluster: join, loss, quorum, backup.

One cluster serves the whole module, in file order; every test leaves it with
three healthy members again. Timings are printed (pytest -s) for docs/cluster.md.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cluster_fixtures import (
    GRACE,
    PASSPHRASE,
    PSK,
    Cluster,
    Instance,
    all_healthy,
    bring_back_every_instance,
    local_entries,
    make_leader,
    members_of,
    run,
    three_instances,
    wait_until,
)
from registry_process import VENV_BIN, RegistryProcess, free_port

from adapters.etcd.membership import EtcdClusterMembership
from adapters.libp2p.node import peer_info_of
from application import client as use_cases
from application.ports import NoQuorum, StaleReadWarning
from domain import ServiceInfo
from domain.bootstrap import parse_bootstraps
from domain.cluster import EtcdEndpoint
from domain.wire import MemberAddRequest, Operation, encode
from entrypoints import library
from entrypoints.common.local_etcd import local_etcd

INFO = ServiceInfo(content_hash="QmClusterTest", docker_hash="r/x@sha256:00", cpu_req=1)
# The cluster runs registry-service's default --etcd-timeout.
ETCD_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with three_instances(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(autouse=True)
def three_healthy(cluster: Cluster) -> None:
    bring_back_every_instance(cluster)


async def _via(instance: Instance, operation, *args):  # type: ignore[no-untyped-def]
    """Run a client use case through ``instance`` (its only bootstrap; checked)."""
    [address] = parse_bootstraps(instance.proc.addrs)
    async with library.registry_client(
        instance.proc.addrs, PSK, attempts=1, preferred=[peer_info_of(address)]
    ) as client:
        result = await operation(client, *args)
        assert client.last_provider is not None
        assert str(client.last_provider.peer_id) == instance.peer_id
        return result


def _cli(args: list[str], bootstraps: list[str], timeout: float = 60):  # type: ignore[no-untyped-def]
    proc = RegistryProcess(Path("/nonexistent"), passphrase=PASSPHRASE)
    proc.addrs = bootstraps
    return proc.cli(*args, timeout=timeout)


def test_three_instances_join_one_cluster_and_share_the_data(cluster: Cluster) -> None:
    times = ", ".join(f"{i.proc.ip} {i.start_seconds:.1f} s" for i in cluster.instances)
    print(f"\nstart-up until serving (first: new cluster; then joins): {times}")
    for instance in cluster.instances:
        members = run(members_of, instance)
        assert sorted(m.name for m in members) == sorted(i.name for i in cluster.instances)
        assert not any(m.is_learner for m in members)  # newcomers were promoted
    first, *others = cluster.instances
    assert "etcd: added to the cluster as" in others[0].log()

    run(_via, first, use_cases.add_service, "shared", INFO)
    for instance in cluster.instances:
        assert run(_via, instance, use_cases.get_service, "shared") == INFO
        assert "shared" in run(_via, instance, use_cases.list_services)
        assert "shared" in run(local_entries, instance)  # replicated into each member
    run(_via, others[-1], use_cases.delete_service, "shared")
    for instance in cluster.instances:
        wait_until(lambda i=instance: "shared" not in run(local_entries, i), 5, "delete applied")


def test_metrics_show_size_leadership_and_health(cluster: Cluster) -> None:
    def settled() -> bool:
        values = [i.metrics() for i in cluster.instances]
        return all(
            v.get("registry_etcd_cluster_members") == 3
            and v.get("registry_etcd_started_members") == 3
            and v.get("registry_etcd_learners") == 0
            and v.get("registry_etcd_healthy") == 1
            and v.get("registry_etcd_up") == 1
            and v.get("registry_etcd_has_leader") == 1
            for v in values
        ) and sum(v["registry_etcd_is_leader"] for v in values) == 1

    wait_until(settled, 10, "metrics of all three instances")


def test_a_member_added_but_never_started_is_removed_and_holds_no_quorum(
    cluster: Cluster,
) -> None:
    first = cluster.instances[0]
    ghost = EtcdEndpoint(ip="127.0.0.9", client_port=free_port(), peer_port=free_port())

    async def ask_member_add() -> str:
        request = encode(MemberAddRequest(member_name=ghost.member_name,
                                          member_peer_url=ghost.peer_url))
        async with library.registry_client(first.proc.addrs, PSK) as client:
            # Refused for 5 s after a member joins ("unhealthy cluster"): retry.
            for _ in range(20):
                try:
                    return (await client.request(Operation.MEMBER_ADD.protocol_id,
                                                 request)).decode()
                except Exception:
                    await trio.sleep(1)
        raise AssertionError("member add never accepted")

    answer = str(run(ask_member_add))
    assert f"{ghost.member_name}={ghost.peer_url}" in answer
    assert len(answer.split(",")) == 4
    [added] = [m for m in run(members_of, first) if ghost.peer_url in m.peer_urls]
    assert added.is_learner and not added.started
    # A learner is no voter: the three started members keep their quorum.
    run(_via, first, use_cases.add_service, "while-ghost", INFO)  # NoQuorum otherwise
    removed_after = wait_until(
        lambda: not any(ghost.peer_url in m.peer_urls for m in run(members_of, first)),
        GRACE + 10, "unstarted learner removed",
    )
    print(f"\nunstarted learner removed {removed_after:.1f} s after the check began "
          f"(grace {GRACE:g} s)")

    # What a Go instance does: add a *voting* member. While it stays unstarted
    # the quorum is 3 of 4; the janitor removes it once the grace has passed.
    voter = EtcdEndpoint(ip="127.0.0.9", client_port=free_port(), peer_port=free_port())

    async def add_voter() -> list[str]:
        # etcd refuses a member add for a while after the last membership change
        # ("unhealthy cluster"): retry, but keep every refusal to show if all fail.
        membership = EtcdClusterMembership(first.client_url)
        refusals: list[str] = []
        try:
            for _ in range(20):
                try:
                    await membership.add_member(voter.peer_url, learner=False)
                    return refusals
                except Exception as exc:
                    refusals.append(repr(exc))
                    await trio.sleep(1)
        finally:
            membership.close()
        raise AssertionError(f"the voting member was never added: {refusals[-3:]}")

    run(add_voter)
    [voting] = [m for m in run(members_of, first) if voter.peer_url in m.peer_urls]
    assert not voting.is_learner and not voting.started  # a real, unstarted voter
    run(_via, first, use_cases.add_service, "while-voter", INFO)
    wait_until(
        lambda: not any(voter.peer_url in m.peer_urls for m in run(members_of, first)),
        GRACE + 10, "unstarted voting member removed",
    )
    # The janitor says which member it removed, and why.
    removals = [line for i in cluster.instances for line in i.log().splitlines()
                if "never started" in line and voter.peer_url in line]
    assert removals, "no instance logged removing the unstarted voting member"


def test_writer_loses_no_acknowledged_write_when_its_instance_crashes(cluster: Cluster) -> None:
    acked: list[tuple[str, float, str]] = []
    failed: list[tuple[float, str]] = []
    report: dict[str, float] = {}

    async def main() -> None:
        async with library.registry_client(
            cluster.addrs, PSK, attempts=3, first_backoff=0.2, max_backoff=1.0,
            request_timeout=8.0,
        ) as client:
            stop = trio.Event()

            async def writer() -> None:
                index = 0
                while not stop.is_set():
                    name = f"w{index:05d}"
                    index += 1
                    try:
                        with trio.fail_after(20):
                            await use_cases.add_service(client, name, INFO)
                    except Exception as exc:
                        failed.append((time.monotonic(), f"{name}: {exc!r}"[:300]))
                        await trio.sleep(0.05)
                        continue
                    assert client.last_provider is not None
                    acked.append((name, time.monotonic(), str(client.last_provider.peer_id)))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer)
                with trio.fail_after(20):
                    while not acked:
                        await trio.sleep(0.05)
                # Worst case: the instance this client uses also leads the cluster.
                victim = cluster.by_peer_id(acked[-1][2])
                await make_leader(cluster, victim)
                await trio.sleep(1.5)
                before = len(acked)
                killed_at = time.monotonic()
                await trio.to_thread.run_sync(victim.kill)
                report["killed"] = killed_at
                report["acked_before_kill"] = before
                report["victim"] = cluster.instances.index(victim)
                with trio.fail_after(30):
                    while not [a for a in acked if a[1] > killed_at and a[2] != victim.peer_id]:
                        await trio.sleep(0.05)
                await trio.sleep(3)  # keep writing after the fail-over
                stop.set()

    run(main)
    killed = report["killed"]
    victim = cluster.instances[int(report["victim"])]
    after = [a for a in acked if a[1] > killed and a[2] != victim.peer_id]
    failover = after[0][1] - killed
    failed_in_window = [f for f in failed if killed <= f[0] <= after[0][1]]
    print(f"\nwriter: {len(acked)} acknowledged adds, {len(failed)} failed "
          f"({len(failed_in_window)} in the fail-over window); fail-over {failover:.2f} s "
          f"after SIGKILL of instance {victim.proc.ip} (its leader and provider)")
    for _, text in failed[:5]:
        print("  failed:", text)
    assert failover < 15
    assert len(after) >= 3

    # One of three down: every operation through each survivor works.
    survivors = [i for i in cluster.instances if i is not victim]
    for survivor in survivors:
        assert run(_via, survivor, use_cases.get_service, acked[0][0]) == INFO
        assert acked[-1][0] in run(_via, survivor, use_cases.list_services)
    run(_via, survivors[0], use_cases.add_service, "during-loss", INFO)
    run(_via, survivors[1], use_cases.delete_service, "during-loss")

    restart = cluster.restart(victim)
    rejoin = wait_until(lambda: all_healthy(cluster), 30, "killed instance back in quorum")
    print(f"killed instance serving {restart:.1f} s after restart, healthy {rejoin:.1f} s later")
    assert "restarting member" in victim.log()
    names = {name for name, _, _ in acked}
    for instance in cluster.instances:
        wait_until(lambda i=instance: names <= set(run(local_entries, i)), 15,
                   f"every acknowledged write in {instance.proc.ip}'s member")
        listed = run(_via, instance, use_cases.list_services)
        lost = names - set(listed)
        assert not lost, f"{len(lost)} acknowledged writes missing via {instance.proc.ip}"
    print(f"lost acknowledged writes: 0 of {len(names)}, read through each of 3 instances")


def test_without_quorum_writes_fail_fast_and_reads_say_they_may_be_stale(
    cluster: Cluster,
) -> None:
    survivor, *lost = cluster.instances
    run(_via, survivor, use_cases.add_service, "before-loss", INFO)
    every_addr = cluster.addrs
    for instance in lost:
        instance.kill()

    started = time.monotonic()
    with pytest.raises(NoQuorum, match="no quorum"):
        library.add_service_blocking(every_addr, PSK, "after-loss", INFO)
    write_fail = time.monotonic() - started
    print(f"\nno quorum: library add failed after {write_fail:.1f} s")
    # The short-lived client node's start, dial and lookup come on top: bounded loosely.
    assert write_fail < ETCD_TIMEOUT + 6, write_fail

    # README: a write without quorum fails within --etcd-timeout: the write alone, timed
    # on a connection already open to the survivor.
    async def write_on_an_open_connection() -> float:
        [address] = parse_bootstraps(survivor.proc.addrs)
        async with library.registry_client(survivor.proc.addrs, PSK, attempts=1,
                                           preferred=[peer_info_of(address)]) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await use_cases.get_service(client, "before-loss")  # connects (stale)
            started = trio.current_time()
            with pytest.raises(NoQuorum, match="no quorum"):
                await use_cases.add_service(client, "after-loss", INFO)
            return trio.current_time() - started

    write_alone = trio.run(write_on_an_open_connection)
    print(f"no quorum: the write itself failed after {write_alone:.2f} s")
    assert write_alone <= ETCD_TIMEOUT + 0.5, write_alone

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run(_via, survivor, use_cases.get_service, "before-loss") == INFO
    assert any(issubclass(w.category, StaleReadWarning) for w in caught)

    started = time.monotonic()
    got = _cli(["get", "before-loss"], survivor.proc.addrs)
    assert got.returncode == 0, got.stderr
    assert "warning" in got.stderr and "stale" in got.stderr
    listed = _cli(["--json", "list"], survivor.proc.addrs)
    assert listed.returncode == 0 and "before-loss" in json.loads(listed.stdout)
    assert "stale" in listed.stderr
    print(f"CLI: get+list without quorum took {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    deleted = _cli(["delete", "before-loss"], every_addr)
    delete_fail = time.monotonic() - started
    print(f"CLI: delete without quorum failed after {delete_fail:.1f} s")
    assert deleted.returncode == 4, deleted.stderr  # README: NoQuorum exits with 4
    assert delete_fail < ETCD_TIMEOUT + 10, delete_fail  # + the CLI process's own start
    assert "no quorum" in deleted.stderr and "Traceback" not in deleted.stderr

    # Every member down; the first back cannot have quorum and must start anyway.
    # (etcd 3.4 answers no request at all before it has reached a quorum once,
    # so until then requests fail, quickly and clearly.)
    assert survivor.proc.stop() == 0
    alone = lost[0]
    seconds = cluster.restart(alone)
    print(f"a lone restarted member is up after {seconds:.1f} s (no quorum)")
    assert seconds < 30
    started = time.monotonic()
    refused = _cli(["get", "before-loss"], alone.proc.addrs)
    print(f"...and refuses a get after {time.monotonic() - started:.1f} s: "
          f"{refused.stderr.strip()[:120]}")
    # README: exit code 1 for a refused request (its etcd member cannot answer at all).
    assert refused.returncode == 1, refused.stderr
    assert "refused the /get/0.2 request" in refused.stderr and "Traceback" not in refused.stderr
    assert time.monotonic() - started < 30
    assert alone.metrics()["registry_etcd_up"] == 0

    cluster.restart(survivor)
    back = wait_until(lambda: all(run(_healthy_pair, cluster)), 30, "quorum with two of three")
    print(f"quorum back {back:.1f} s after the second member restarted")
    run(_via, survivor, use_cases.add_service, "after-quorum", INFO)
    cluster.restart(lost[1])
    wait_until(lambda: all_healthy(cluster), 30, "all three healthy again")
    assert "after-quorum" in run(local_entries, lost[1])


async def _healthy_pair(cluster: Cluster) -> list[bool]:
    from cluster_fixtures import healthy

    return [await healthy(i) for i in cluster.instances if i.proc.alive()]


def test_snapshot_save_then_restore_into_a_fresh_cluster(cluster: Cluster,
                                                          tmp_path: Path) -> None:
    source = cluster.instances[1]
    run(_via, source, use_cases.add_service, "backed-up", INFO)
    snapshot = tmp_path / "registry.snap"
    saved = _service(["snapshot", "save", str(snapshot), "--etcd-ip", source.proc.ip,
                      "--etcd-client-port", str(source.proc.etcd_client_port),
                      "--etcd-peer-port", str(source.proc.etcd_peer_port),
                      "--etcd-data-dir", str(source.proc.data_dir)])
    assert saved.returncode == 0, saved.stderr
    assert snapshot.stat().st_size > 0
    expected = run(local_entries, source)

    fresh = RegistryProcess(tmp_path / "fresh", passphrase="another network", ip="127.0.0.7",
                            new_cluster=False)
    restored = _service(["snapshot", "restore", str(snapshot), "--etcd-ip", fresh.ip,
                         "--etcd-client-port", str(fresh.etcd_client_port),
                         "--etcd-peer-port", str(fresh.etcd_peer_port),
                         "--etcd-data-dir", str(fresh.data_dir)])
    assert restored.returncode == 0, restored.stderr
    again = _service(["snapshot", "restore", str(snapshot), "--etcd-data-dir", str(fresh.data_dir)])
    assert again.returncode == 1 and "not empty" in again.stderr
    fresh.start()  # a restart of the restored one-member cluster, no flags needed
    try:
        psk = library.psk_from_passphrase("another network")
        assert library.list_services_blocking(fresh.addrs, psk).keys() == expected.keys()
        library.add_service_blocking(fresh.addrs, psk, "after-restore", INFO)
        fresh_etcd = local_etcd(etcd_ip=fresh.ip, etcd_client_port=fresh.etcd_client_port,
                                etcd_peer_port=fresh.etcd_peer_port, etcd_data_dir=fresh.data_dir)
        members = run(_members_at, fresh_etcd.client_url)
        assert [m.name for m in members] == [fresh_etcd.endpoint.member_name]
        # The restored member's http peer URL was moved to https at its first start.
        assert members[0].peer_urls == (fresh_etcd.endpoint.peer_url,)
        assert fresh_etcd.endpoint.peer_url.startswith("https://")
    finally:
        fresh.stop()


async def _members_at(client_url: str):  # type: ignore[no-untyped-def]
    membership = EtcdClusterMembership(client_url)
    try:
        return await membership.list_members()
    finally:
        membership.close()


def _service(args: list[str]):  # type: ignore[no-untyped-def]
    import subprocess

    return subprocess.run([str(VENV_BIN / "registry-service"), *args], capture_output=True,
                          text=True, timeout=120)


def test_leave_on_stop_and_leave_command_remove_members_for_good(cluster: Cluster) -> None:
    fourth = cluster.add_instance(extra_args=("--leave",))
    assert len(run(members_of, cluster.instances[0])) == 4
    assert fourth.proc.stop() == 0
    cluster.instances.remove(fourth)
    assert len(run(members_of, cluster.instances[0])) == 3
    assert not fourth.proc.data_dir.exists()
    assert "left the etcd cluster" in fourth.log()

    # A stopped instance (no --leave) leaves with the command, then joins afresh.
    third = cluster.instances[2]
    assert third.proc.stop() == 0
    left = _service(["leave", "--etcd-ip", third.proc.ip,
                     "--etcd-client-port", str(third.proc.etcd_client_port),
                     "--etcd-peer-port", str(third.proc.etcd_peer_port),
                     "--etcd-data-dir", str(third.proc.data_dir)])
    assert left.returncode == 0, left.stderr
    assert "left the cluster" in left.stdout
    assert not third.proc.data_dir.exists()
    assert len(run(members_of, cluster.instances[0])) == 2
    cluster.restart(third, timeout=120)
    assert len(run(members_of, cluster.instances[0])) == 3


def test_a_member_removed_while_down_rejoins_when_restarted(cluster: Cluster) -> None:
    first, second, _third = cluster.instances
    [member] = [m for m in run(members_of, first) if m.name == second.name]
    assert second.proc.stop() == 0

    async def remove() -> None:
        membership = EtcdClusterMembership(first.client_url)
        try:
            for _ in range(20):
                try:
                    await membership.remove_member(member.member_id)
                    return
                except Exception:
                    await trio.sleep(1)
        finally:
            membership.close()

    run(remove)
    cluster.restart(second, timeout=120)
    assert "had been removed from the cluster" in second.log()
    assert list(second.proc.data_dir.parent.glob("etcd-data.removed-*"))
    wait_until(lambda: all_healthy(cluster), 30, "rejoined member healthy")
    assert len(run(members_of, first)) == 3
