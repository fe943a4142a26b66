"""The composition roots, with their adapters overridden by adapters/memory: use cases run
end to end through each container's own wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dependency_injector import providers

from adapters.memory.cluster_status import FixedClusterStatusSource
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.transport import InMemoryRegistryTransport
from application import client
from application.status import remote_status
from domain import ServiceInfo
from domain.cluster import EtcdEndpoint, EtcdMember
from domain.instance_status import STATUS_PROTOCOL_ID, ClusterStatus, InstanceIdentity, MemberStatus
from domain.member_add_answer import MEMBER_ADD_WITH_REASON
from entrypoints.common.instance_file import instance_file, write_instance_file
from entrypoints.common.local_etcd import LocalEtcd
from entrypoints.operator.container import OperatorContainer
from entrypoints.operator.status_command import local_status
from entrypoints.service.container import ServiceContainer

IDENTITY = InstanceIdentity(peer_id="12D3KooWExample", addresses=("/ip4/10.0.0.1/tcp/4001",))
STATUS = ClusterStatus(
    member="a", quorum=True, revision=7, services=1, db_size=20480,
    members=(MemberStatus(name="a", id="1", peer_url="http://a:2380", client_url="http://a:2379",
                          leader=True, learner=False, healthy=True, raft_index=42,
                          db_size=20480),),
)


def service_container() -> tuple[ServiceContainer, InMemoryServiceRepository, RecordingMetrics]:
    container = ServiceContainer(settings=providers.Object(None))
    container.config.from_dict({"etcd_client_url": "unix:///nowhere", "etcd_timeout": 1.0,
                                "request_timeout": 1.0, "health_lease": 1.0,
                                "writers_file": None})
    repository, metrics = InMemoryServiceRepository(), RecordingMetrics()
    container.repository.override(providers.Object(repository))
    container.local_reads.override(providers.Object(repository))
    container.metrics.override(providers.Object(metrics))
    container.membership.override(providers.Object(InMemoryClusterMembership([
        EtcdMember(name="a", peer_urls=("http://10.0.0.1:2380",), member_id=1)])))
    container.status_source.override(providers.Object(FixedClusterStatusSource(STATUS)))
    container.status_identity.override(providers.Object(lambda: IDENTITY))
    return container, repository, metrics


async def test_the_daemons_handlers_serve_add_get_list_through_the_container() -> None:
    container, repository, metrics = service_container()
    handles = {MEMBER_ADD_WITH_REASON: container.member_add_with_reason().handle,
               STATUS_PROTOCOL_ID: container.status_handler().handle}
    transport = InMemoryRegistryTransport(container.handler(), peer_id="12D3KooWClient",
                                          extra=handles)
    info = ServiceInfo(content_hash="QmX", cpu_req=2)
    assert (await client.add_service(transport, "web", info)).startswith("Added")
    assert await client.get_service(transport, "web") == info
    assert await client.list_services(transport) == {"web": info}
    assert "web" in repository.entries  # the override, not etcd, holds the record
    assert [op for op, _ in metrics.requests] == ["add", "get", "list"]
    status = await remote_status(transport)
    assert status.peer_id == IDENTITY.peer_id and status.quorum and status.revision == 7


async def test_the_container_still_names_the_real_adapters_when_not_overridden() -> None:
    container = ServiceContainer(settings=providers.Object(None))
    container.config.from_dict({"etcd_client_url": "unix:///nowhere", "etcd_timeout": 1.0,
                                "request_timeout": 1.0, "health_lease": 1.0,
                                "writers_file": None})
    assert type(container.membership()).__name__ == "EtcdClusterMembership"
    assert type(container.repository()).__name__ == "WatchedServiceRepository"


async def test_the_operators_status_command_runs_through_its_container(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    etcd = OperatorContainer()
    etcd.status_source.override(providers.Factory(lambda *_, **__: FixedClusterStatusSource(
        STATUS)))
    local = LocalEtcd(EtcdEndpoint(ip="127.0.0.1", client_port=2379, peer_port=2380), tmp_path)
    write_instance_file(instance_file(tmp_path), IDENTITY)
    code = await local_status(etcd, local, as_json=True, timeout=1.0)
    shown = json.loads(capsys.readouterr().out)
    assert code == 0  # quorum
    assert (shown["peer_id"], shown["revision"]) == (IDENTITY.peer_id, 7)
