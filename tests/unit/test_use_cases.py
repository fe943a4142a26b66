"""Client use cases and server handlers, end to end through in-memory adapters."""

import pytest

from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.transport import InMemoryRegistryTransport
from application import client
from application.client import RequestTooLarge, ServiceNotFound
from application.cluster.join import request_membership
from application.cluster.member_start import EtcdStart, choose_etcd_start
from application.ports import RequestRejected
from application.server import RegistryRequestHandler
from domain import PerfInd, ServiceInfo
from domain.cluster import EtcdEndpoint, EtcdMember
from domain.service_name import InvalidServiceName
from domain.wire import Operation


@pytest.fixture
def parts():
    repo = InMemoryServiceRepository()
    membership = InMemoryClusterMembership(
        [EtcdMember(name="127.0.0.1-2379-2380", peer_urls=("http://127.0.0.1:2380",))]
    )
    metrics = RecordingMetrics()
    handler = RegistryRequestHandler(repo, membership, metrics)
    return repo, metrics, handler, InMemoryRegistryTransport(handler)


INFO = ServiceInfo(content_hash="QmA", docker_hash="r/a@sha256:1",
                   network_soft_req=PerfInd.from_millis(10), cpu_req=1, memory_req=2)


async def test_add_get_list_delete_round_trip(parts):
    _repo, metrics, _, transport = parts
    text = await client.add_service(transport, "svc", INFO)
    assert text.startswith("Added {svc: {")
    assert await client.get_service(transport, "svc") == INFO
    assert await client.list_services(transport) == {"svc": INFO}
    assert await client.delete_service(transport, "svc") == "Deleted 1 entry from hash lookup"
    with pytest.raises(ServiceNotFound):
        await client.get_service(transport, "svc")
    with pytest.raises(ServiceNotFound):
        await client.delete_service(transport, "svc")
    assert await client.list_services(transport) == {}
    assert ("add", "ok") in metrics.requests and ("get", "ok") in metrics.requests


async def test_server_stores_info_str_verbatim(parts):
    repo, _, handler, _ = parts
    info_str = '{"ContentHash":"x","FutureField":[1,2]}'
    await handler.handle(Operation.ADD, b'{"Name":"n","InfoStr":' + _q(info_str) + b"}")
    assert repo.entries["n"] == info_str
    reply = await handler.handle(Operation.GET, b"  n\n")  # the server trims white space
    assert reply == b'{"InfoStr":' + _q(info_str) + b',"LookupOk":true}'


async def test_empty_registry_lists_lookup_not_ok(parts):
    _, _, handler, _ = parts
    assert await handler.handle(Operation.LIST, b"") == b'{"NameToInfoStr":{},"LookupOk":false}'


async def test_malformed_requests_are_refused_and_counted(parts):
    _, metrics, _handler, transport = parts
    with pytest.raises(RequestRejected):
        await transport.request("/add/0.1", b"{not json")
    with pytest.raises(RequestRejected):
        await transport.request("/get/0.1", b"\xff\xfe")
    assert [o for _, o in metrics.requests] == ["MalformedMessage", "UnicodeDecodeError"]


async def test_client_refuses_bad_names_and_oversized_requests_before_sending(parts):
    _, metrics, _, transport = parts
    with pytest.raises(InvalidServiceName):
        await client.get_service(transport, " padded")
    with pytest.raises(RequestTooLarge):
        await client.add_service(transport, "big", ServiceInfo(content_hash="x" * (1 << 20)))
    assert metrics.requests == []


async def test_member_add_answers_the_initial_cluster(parts):
    _, _, _handler, transport = parts
    endpoint = EtcdEndpoint(ip="127.0.0.2", client_port=2379, peer_port=2380)
    assert await request_membership(transport, endpoint) == (
        "127.0.0.1-2379-2380=http://127.0.0.1:2380,127.0.0.2-2379-2380=http://127.0.0.2:2380"
    )


def test_etcd_start_mode():
    assert choose_etcd_start(has_member_data=True, new_cluster=True) is EtcdStart.RESTART
    assert choose_etcd_start(has_member_data=False, new_cluster=True) is EtcdStart.NEW
    assert choose_etcd_start(has_member_data=False, new_cluster=False) is EtcdStart.JOIN


def _q(text: str) -> bytes:
    import json

    return json.dumps(text, separators=(",", ":")).encode()


def test_list_response_keys_are_sorted_like_gos_encoding_json():
    from domain.wire import ListResponse, encode

    reply = encode(ListResponse(name_to_info_str={"b": "2", "a": "1"}, lookup_ok=True))
    assert reply == b'{"NameToInfoStr":{"a":"1","b":"2"},"LookupOk":true}'
