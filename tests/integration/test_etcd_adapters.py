"""The etcd adapters against real etcd members started by EtcdProcess (loopback only)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import etcd3
import pytest
import trio
from etcd_fixtures import etcd_member, etcd_process, free_endpoint, throwaway_etcd

from adapters.etcd.connection import parse_client_url
from adapters.etcd.errors import EtcdRequestRejected
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.process import EtcdNotInstalled, EtcdProcess, EtcdStartFailed
from adapters.etcd.repository import EtcdServiceRepository
from application.ports import StorageUnavailable
from domain.cluster import EtcdMember, initial_cluster

__all__ = ["etcd_member"]  # the fixture, imported for pytest

INFO = json.dumps(
    {
        "ContentHash": "QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn",
        "DockerHash": "user/svc@sha256:00ff",
        "NetworkSoftReq": {"RTT": 100000000},
        "NetworkHardReq": {"RTT": 300000000},
        "CpuReq": 1,
        "MemoryReq": 128,
    }
)
# Kept byte for byte: odd spacing, escapes, non-ASCII, fields we do not know.
ODD_INFO = '{ "ContentHash":"Qm\\u00e9",\n\t"Extra" : [1, 2.50, null], "Name": "日本 ✓" }'


def raw_client(process: EtcdProcess) -> etcd3.Etcd3Client:
    """A plain python-etcd3 client: how a foreign (e.g. Go) reader sees the keys."""
    host, port = parse_client_url(process.endpoint.tcp_client_url)
    return etcd3.client(host=host, port=port, timeout=5)


async def eventually(check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds until ``check()`` was true; fails the test after ``within`` s."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await trio.sleep(0.05)
    return time.monotonic() - started


async def test_put_get_list_delete(etcd_member: EtcdProcess) -> None:
    repo = EtcdServiceRepository(etcd_member.endpoint.tcp_client_url)
    assert await repo.list() == {}
    await repo.put("svc:1.0", INFO)
    await repo.put("サービス/✓", ODD_INFO)
    assert await repo.get("svc:1.0") == INFO
    assert await repo.get("サービス/✓") == ODD_INFO
    assert await repo.get("svc") is None  # exact key, not a prefix
    assert await repo.get("") is None
    assert await repo.list() == {"svc:1.0": INFO, "サービス/✓": ODD_INFO}

    await repo.put("svc:1.0", ODD_INFO)  # overwrite
    assert await repo.get("svc:1.0") == ODD_INFO

    assert await repo.delete("svc:1.0") == 1
    assert await repo.delete("svc:1.0") == 0
    assert await repo.delete("never-added") == 0
    assert await repo.get("svc:1.0") is None
    assert await repo.list() == {"サービス/✓": ODD_INFO}
    repo.close()


async def test_layout_is_the_go_originals(etcd_member: EtcdProcess) -> None:
    """Key = the name's UTF-8 bytes, value = the InfoStr's, no prefix: Go reads what we write."""
    repo = EtcdServiceRepository(etcd_member.endpoint.tcp_client_url)
    await repo.put("ünïcode", ODD_INFO)
    raw = raw_client(etcd_member)
    value, meta = raw.get("ünïcode".encode())
    assert value == ODD_INFO.encode()
    assert meta.key == "ünïcode".encode()
    # ... and we read what a foreign writer stored, including keys sorting
    # before/after everything printable.
    raw.put(b"!first", b"{}")
    raw.put("\U0010fffd-last".encode(), b'{"a":1}')
    raw.close()
    assert await repo.list() == {"!first": "{}", "ünïcode": ODD_INFO, "\U0010fffd-last": '{"a":1}'}
    repo.close()


async def test_list_larger_than_grpcs_default_message_limit(etcd_member: EtcdProcess) -> None:
    repo = EtcdServiceRepository(etcd_member.endpoint.tcp_client_url)
    big = json.dumps({"ContentHash": "x" * 1_200_000})  # etcd's request limit is 1.5 MiB
    for i in range(4):
        await repo.put(f"big-{i}", big)
    listed = await repo.list()
    assert sorted(listed) == [f"big-{i}" for i in range(4)]
    assert all(v == big for v in listed.values())
    repo.close()


async def test_restart_on_the_same_data_dir_keeps_data(tmp_path: Path) -> None:
    process = etcd_process(tmp_path)
    await process.start()
    assert not process.restarted
    repo = EtcdServiceRepository(process.endpoint.tcp_client_url)
    await repo.put("kept", INFO)
    await process.stop()
    assert "--initial-cluster" not in process.argv()  # a restart names no bootstrap cluster
    try:
        await process.start()
        assert process.restarted

        # The old repository (its gRPC channel saw etcd go away) recovers by itself.
        async def readable() -> bool:
            try:
                return await repo.get("kept") == INFO
            except StorageUnavailable:
                return False

        await eventually(readable, within=3.0)
        members = await EtcdClusterMembership(process.endpoint.tcp_client_url).list_members()
        assert [m.name for m in members] == [process.endpoint.member_name]
    finally:
        repo.close()
        await process.stop()


async def test_single_member_lists_itself(etcd_member: EtcdProcess) -> None:
    endpoint = etcd_member.endpoint
    membership = EtcdClusterMembership(endpoint.tcp_client_url)
    [member] = await membership.list_members()
    assert (
        member.name
        == endpoint.member_name
        == f"127.0.0.1-{endpoint.client_port}-{endpoint.peer_port}"
    )
    assert member.peer_urls == (endpoint.peer_url,)
    assert member.client_urls == (endpoint.tcp_client_url,)
    assert member.member_id != 0

    status = await membership.status()
    assert status.members == 1
    assert status.is_leader and status.has_leader
    assert status.member_id == member.member_id
    assert status.version.startswith("3.")
    assert await membership.is_healthy()
    membership.close()


async def test_add_member_join_then_remove(tmp_path: Path, etcd_member: EtcdProcess) -> None:
    """The /memberadd/0.1 flow: add, start the newcomer as "existing", then remove it again."""
    first = etcd_member.endpoint
    membership = EtcdClusterMembership(first.tcp_client_url)
    repo = EtcdServiceRepository(first.tcp_client_url)
    await repo.put("before-join", INFO)

    newcomer = free_endpoint()
    members = await membership.add_member(newcomer.peer_url)
    assert len(members) == 2
    [added] = [m for m in members if m.peer_urls == (newcomer.peer_url,)]
    assert added.name == ""  # etcd 3.4 names a member only once it has started
    assert added.client_urls == ()
    assert added.member_id != 0
    cluster = initial_cluster(members, new_name=newcomer.member_name)
    assert set(cluster.split(",")) == {
        f"{first.member_name}={first.peer_url}",
        f"{newcomer.member_name}={newcomer.peer_url}",
    }

    second = etcd_process(
        tmp_path, newcomer, initial_cluster=cluster, initial_cluster_state="existing"
    )
    started = time.monotonic()
    await second.start()
    print(f"joined member healthy after {time.monotonic() - started:.2f} s")
    try:
        listed = await membership.list_members()
        assert {m.name for m in listed} == {first.member_name, newcomer.member_name}
        second_repo = EtcdServiceRepository(newcomer.tcp_client_url)
        assert await second_repo.get("before-join") == INFO  # replicated
        await second_repo.put("after-join", ODD_INFO)
        assert await repo.get("after-join") == ODD_INFO
        second_repo.close()
        assert (await membership.status()).members == 2

        # etcd refuses ("unhealthy cluster") to remove a member until the others
        # have been connected to it for 5 s: its strict reconfiguration check.
        remaining: list[EtcdMember] = []

        async def removed() -> bool:
            nonlocal remaining
            try:
                remaining = await membership.remove_member(added.member_id)
            except StorageUnavailable as exc:
                assert "unhealthy cluster" in str(exc)
                return False
            return True

        print(f"removal accepted after {await eventually(removed, within=15.0):.2f} s")
        assert [m.name for m in remaining] == [first.member_name]
    finally:
        await second.stop()  # a removed member shuts itself down; stop() copes

    # If the newcomer had become leader, the survivor needs an election first.
    print(f"survivor healthy again after {await eventually(membership.is_healthy, 5.0):.2f} s")
    assert (await membership.status()).members == 1
    assert await repo.get("after-join") == ODD_INFO
    with pytest.raises(EtcdRequestRejected, match="member not found"):
        await membership.remove_member(added.member_id)
    membership.close()
    repo.close()


async def test_unstarted_member_costs_a_one_member_cluster_its_quorum(tmp_path: Path) -> None:
    """etcd's rule, documented here: after add_member the quorum is 2, so nothing
    (not even removing the member again) commits until the newcomer starts."""
    async with throwaway_etcd(tmp_path) as process:
        url = process.endpoint.tcp_client_url
        membership = EtcdClusterMembership(url, timeout=1.0)
        repo = EtcdServiceRepository(url, timeout=1.0)
        members = await membership.add_member(free_endpoint().peer_url)
        [added] = [m for m in members if not m.name]
        for attempt in (lambda: membership.remove_member(added.member_id), lambda: repo.get("x")):
            started = time.monotonic()
            with pytest.raises(StorageUnavailable, match=url):
                await attempt()
            assert time.monotonic() - started < 1.0 + 3  # the timeout, + slack for load
        assert not await membership.is_healthy()
        assert len(await membership.list_members()) == 2  # still answered, from the local view
        membership.close()
        repo.close()


async def test_etcd_down_raises_storage_unavailable_quickly(tmp_path: Path) -> None:
    async with throwaway_etcd(tmp_path) as process:
        url = process.endpoint.tcp_client_url
        repo = EtcdServiceRepository(url, timeout=2.0)
        membership = EtcdClusterMembership(url, timeout=2.0)
        await repo.put("a", INFO)
        await process.stop()
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "put": lambda: repo.put("a", INFO),
            "get": lambda: repo.get("a"),
            "list": repo.list,
            "delete": lambda: repo.delete("a"),
            "add_member": lambda: membership.add_member("http://127.0.0.1:1"),
            "list_members": membership.list_members,
            "status": membership.status,
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StorageUnavailable, match=f"etcd at {url}: unreachable"):
                await call()
            elapsed = time.monotonic() - started
            print(f"{name}: StorageUnavailable after {elapsed * 1000:.1f} ms")
            assert elapsed < 2.0 + 3  # within the timeout (+ slack for a loaded machine)
        assert not await membership.is_healthy()


async def _stopped(pid: int) -> None:
    """Wait until every thread of ``pid`` has stopped: SIGSTOP takes effect a little later,
    and a busy etcd thread can still answer a request in between (seen: 1 run in 4)."""
    tasks = Path(f"/proc/{pid}/task")
    with trio.fail_after(10):
        while not all((t / "stat").read_text().rsplit(")", 1)[1].split()[0] in "Tt"
                      for t in tasks.iterdir()):
            await trio.sleep(0.01)


async def test_hung_etcd_raises_storage_unavailable_after_the_timeout(tmp_path: Path) -> None:
    """A frozen member (SIGSTOP) accepts TCP but never answers: the deadline must end the call."""
    async with throwaway_etcd(tmp_path) as process:
        assert process.pid is not None
        repo = EtcdServiceRepository(process.endpoint.tcp_client_url, timeout=1.0)
        await repo.put("a", INFO)
        os.kill(process.pid, signal.SIGSTOP)
        try:
            await _stopped(process.pid)
            started = time.monotonic()
            with pytest.raises(StorageUnavailable, match="no answer within 1 s"):
                await repo.get("a")
            elapsed = time.monotonic() - started
            print(f"frozen etcd: StorageUnavailable after {elapsed:.2f} s")
            # The deadline ended it (the message names it); slack for a loaded machine.
            assert elapsed < 1.0 + 3
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert await repo.get("a") == INFO
        repo.close()


async def test_stop_kills_an_etcd_that_ignores_sigterm(tmp_path: Path) -> None:
    process = etcd_process(tmp_path, stop_timeout=0.5)
    await process.start()
    assert process.pid is not None
    os.kill(process.pid, signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    await _stopped(process.pid)
    started = time.monotonic()
    await process.stop()
    assert not process.running
    # SIGTERM first, SIGKILL once stop_timeout has passed (a lower bound cannot flake).
    assert 0.4 < time.monotonic() - started < 0.5 + 5
    await process.stop()  # idempotent


async def test_start_fails_clearly_when_the_port_is_taken(tmp_path: Path) -> None:
    endpoint = free_endpoint()
    with socket.socket() as squatter:
        squatter.bind((endpoint.ip, endpoint.client_port))
        squatter.listen()
        process = etcd_process(tmp_path, endpoint, start_timeout=10.0)
        started = time.monotonic()
        with pytest.raises(EtcdStartFailed, match="address already in use") as failure:
            await process.start()
    assert time.monotonic() - started < 10.0  # on etcd's exit, not by the start timeout
    assert "exited with code" in str(failure.value)
    assert str(process.log_path) in str(failure.value)
    assert not process.running


async def test_start_without_the_binary_says_what_to_install(tmp_path: Path) -> None:
    process = etcd_process(tmp_path, binary=str(tmp_path / "no-such-etcd"))
    with pytest.raises(EtcdNotInstalled, match="etcd-server"):
        await process.start()
    assert not process.running
