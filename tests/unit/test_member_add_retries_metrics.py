"""A normal join's member-add retries are counted apart from request errors (issue 26)."""

from __future__ import annotations

import grpc
from prometheus_client import CollectorRegistry

from adapters.etcd.errors import translate_rpc_error
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership
from adapters.prometheus.metrics import PrometheusRegistryMetrics
from application.member_add_answer import MemberAddWithReason
from application.membership_deferred import MembershipChangeDeferred
from domain.cluster import EtcdMember
from domain.wire import MemberAddRequest, encode

FIRST = EtcdMember(member_id=1, name="first", peer_urls=("https://127.0.0.1:2380",),
                   client_urls=("https://127.0.0.1:2379",))


class _RpcError(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_etcds_ordinary_refusals_of_a_member_add_are_deferrals() -> None:
    for code, details in [
        (grpc.StatusCode.UNAVAILABLE, "etcdserver: unhealthy cluster"),
        (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),
    ]:
        error = translate_rpc_error(_RpcError(code, details), "unix:/x", 3.0)
        assert isinstance(error, MembershipChangeDeferred), error
        assert details in str(error) and "retry in a few seconds" in str(error)


async def test_a_deferred_member_add_is_a_retry_not_an_error() -> None:
    class Unhealthy(InMemoryClusterMembership):
        async def add_member(self, peer_url: str, *, learner: bool = False) -> list[EtcdMember]:
            raise MembershipChangeDeferred("etcdserver: unhealthy cluster")

    recording = RecordingMetrics()
    request = encode(MemberAddRequest(member_name="new", member_peer_url="https://127.0.0.2:2380"))
    await MemberAddWithReason(Unhealthy([FIRST]), recording).handle(request)
    assert recording.requests == [("memberadd", "retry")]

    prometheus = PrometheusRegistryMetrics(CollectorRegistry())
    for _ in range(4):
        prometheus.observe_request("memberadd", 0.01, "retry")
    prometheus.observe_request("memberadd", 0.01, "ok")
    prometheus.observe_request("memberadd", 0.01, "StorageUnavailable")
    value = prometheus.registry.get_sample_value
    assert value("registry_requests_total", {"operation": "memberadd", "outcome": "retry"}) == 4
    assert value("registry_request_errors_total", {"operation": "memberadd"}) == 1
    assert value("registry_requests_total", {"operation": "memberadd", "outcome": "ok"}) == 1
    assert value("registry_request_duration_seconds_count", {"operation": "memberadd"}) == 6
