"""Starting this instance's etcd member (new cluster, restart, join), over in-memory adapters."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.memory.etcd_member import InMemoryMemberHost, ScriptedMemberProcess
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.transport import InMemoryRegistryTransport
from application.cluster.member_start import (
    MemberRestartFailed,
    MemberStart,
    StartupError,
    start_member,
)
from application.ports import RegistryTransport
from application.server import RegistryRequestHandler
from domain.cluster import EtcdEndpoint, EtcdMember

ENDPOINT = EtcdEndpoint(ip="10.0.0.3", client_port=2379, peer_port=2380)
FIRST = EtcdMember(name="a", peer_urls=("http://10.0.0.1:2380",), member_id=1,
                   client_urls=("http://10.0.0.1:2379",))


def settings(*, new_cluster: bool = False, can_join: bool = True) -> MemberStart:
    return MemberStart(endpoint=ENDPOINT, data_dir=Path("/data/member"),
                       new_cluster=new_cluster, join_timeout=5.0, can_join=can_join)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def running_cluster() -> tuple[InMemoryClusterMembership, RegistryTransport]:
    membership = InMemoryClusterMembership([FIRST])
    handler = RegistryRequestHandler(InMemoryServiceRepository(), membership, RecordingMetrics())
    return membership, InMemoryRegistryTransport(handler)


def no_transport() -> RegistryTransport:
    raise AssertionError("this start must not ask any registry-service")


async def test_the_first_instance_starts_a_new_cluster_of_itself() -> None:
    host = InMemoryMemberHost()
    clock = Clock()
    process = await start_member(settings(new_cluster=True), host, no_transport,
                                 sleep=clock.sleep, clock=clock)
    assert process.how == f"new:{ENDPOINT.member_name}={ENDPOINT.peer_url}:new"
    assert process.running and process.waited


async def test_existing_member_data_wins_over_new_cluster() -> None:
    host = InMemoryMemberHost(holds=True)
    clock = Clock()
    process = await start_member(settings(new_cluster=True), host, no_transport,
                                 sleep=clock.sleep, clock=clock)
    assert process.how == "restart"
    assert process.waited is False  # not waiting for a quorum the others may not have yet
    assert host.peer_url_updates == 1  # with a leader: the peer URL follows the TLS setting


async def test_a_restart_without_quorum_still_serves_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = InMemoryMemberHost(holds=True, has_leader=False)
    clock = Clock()
    with caplog.at_level(logging.WARNING):
        process = await start_member(settings(), host, no_transport, sleep=clock.sleep,
                                     clock=clock)
    assert process.running and host.peer_url_updates == 0
    assert "has no quorum yet" in caplog.text


async def test_a_removed_member_moves_its_data_aside_and_joins_afresh() -> None:
    host = InMemoryMemberHost(
        holds=True, restart_runs=[ScriptedMemberProcess("restart", exits=True, removed=True)]
    )
    membership, transport = running_cluster()
    clock = Clock()
    process = await start_member(settings(), host, lambda: transport, sleep=clock.sleep,
                                 clock=clock)
    assert host.processes[0].stopped and len(host.moved_aside) == 1
    assert process.how.endswith(":existing") and f"{ENDPOINT.member_name}=" in process.how
    assert any(ENDPOINT.peer_url in m.peer_urls and m.is_learner for m in membership.members)


async def test_a_restart_that_exits_for_another_reason_fails_the_start() -> None:
    host = InMemoryMemberHost(
        holds=True, restart_runs=[ScriptedMemberProcess("restart", exits=True)]
    )
    clock = Clock()
    with pytest.raises(MemberRestartFailed, match="exited with code 1 right after restarting"):
        await start_member(settings(), host, no_transport, sleep=clock.sleep, clock=clock)
    assert host.moved_aside == []


async def test_joining_needs_bootstrap_peers() -> None:
    clock = Clock()
    with pytest.raises(StartupError, match="nothing to join"):
        await start_member(settings(can_join=False), InMemoryMemberHost(), no_transport,
                           sleep=clock.sleep, clock=clock)


async def test_a_newcomer_joins_as_existing_with_the_initial_cluster_it_was_given() -> None:
    host = InMemoryMemberHost()
    _, transport = running_cluster()
    clock = Clock()
    process = await start_member(settings(), host, lambda: transport, sleep=clock.sleep,
                                 clock=clock)
    assert process.how == (f"new:a=http://10.0.0.1:2380,{ENDPOINT.member_name}="
                           f"{ENDPOINT.peer_url}:existing")
