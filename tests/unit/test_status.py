"""registry-service status / registry-cli status: use cases, /status/0.1 bytes, output."""

import json

import msgspec
import pytest

from adapters.memory.cluster_status import FixedClusterStatusSource
from adapters.memory.metrics import RecordingMetrics
from application.ports import StorageUnavailable
from application.status import StatusRequestHandler, instance_status, remote_status
from domain.instance_status import (
    STATUS_PROTOCOL_ID,
    ClusterStatus,
    InstanceIdentity,
    InstanceStatus,
    MemberStatus,
)
from domain.wire import MalformedMessage
from entrypoints.common.instance_file import (
    instance_file,
    read_instance_file,
    remove_instance_file,
    write_instance_file,
)
from entrypoints.common.status_output import exit_code, human_status, status_json

IDENTITY = InstanceIdentity(
    peer_id="12D3KooWExample", addresses=("/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWExample",)
)


def member(name: str, *, leader=False, learner=False, healthy=True, index=42) -> MemberStatus:
    return MemberStatus(
        name=name, id=f"{abs(hash(name)) % 0xFFFF:x}", peer_url=f"http://{name}:2380",
        client_url=f"http://{name}:2379", leader=leader, learner=learner, healthy=healthy,
        raft_index=index if healthy else None, db_size=20480 if healthy else None,
    )


def cluster(*, quorum=True, members=None) -> ClusterStatus:
    return ClusterStatus(
        member="a", quorum=quorum, revision=7, services=3, db_size=20480,
        members=members or (member("a", leader=True), member("b"), member("c", healthy=False)),
    )


class HandlerTransport:
    """What a client sees: the handler's bytes, or a refusal for any other protocol."""

    def __init__(self, handler: StatusRequestHandler) -> None:
        self.handler = handler
        self.asked: list[str] = []

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        self.asked.append(protocol_id)
        return await self.handler.handle(payload)


async def test_status_combines_identity_and_cluster():
    status = await instance_status(FixedClusterStatusSource(cluster()), IDENTITY)
    assert status.peer_id == IDENTITY.peer_id
    assert status.addresses == IDENTITY.addresses
    assert (status.quorum, status.revision, status.services) == (True, 7, 3)
    assert status.healthy_members == 2


async def test_unreachable_member_raises_storage_unavailable():
    with pytest.raises(StorageUnavailable):
        await instance_status(FixedClusterStatusSource(None), IDENTITY)


async def test_status_protocol_round_trip_and_metrics():
    metrics = RecordingMetrics()
    handler = StatusRequestHandler(FixedClusterStatusSource(cluster()), lambda: IDENTITY, metrics)
    transport = HandlerTransport(handler)
    status = await remote_status(transport)
    assert transport.asked == [STATUS_PROTOCOL_ID]
    assert status == InstanceStatus.of(IDENTITY, cluster())
    assert metrics.requests == [("status", "ok")]


async def test_status_answer_is_the_documented_json():
    handler = StatusRequestHandler(
        FixedClusterStatusSource(cluster()), lambda: IDENTITY, RecordingMetrics()
    )
    answer = json.loads(await handler.handle(b""))
    assert list(answer) == [
        "format", "peer_id", "addresses", "member", "quorum", "revision", "services",
        "db_size", "members", "metrics", "etcd_timing",
    ]
    assert answer["format"] == 1
    assert list(answer["members"][0]) == [
        "name", "id", "peer_url", "client_url", "leader", "learner", "healthy",
        "raft_index", "db_size", "etcd_timing",
    ]
    assert answer["members"][2]["raft_index"] is None


async def test_non_empty_status_request_is_refused_and_counted():
    metrics = RecordingMetrics()
    handler = StatusRequestHandler(FixedClusterStatusSource(cluster()), lambda: IDENTITY, metrics)
    with pytest.raises(MalformedMessage):
        await handler.handle(b"{}")
    assert metrics.requests == [("status", "MalformedMessage")]


def test_exit_codes():
    assert exit_code(InstanceStatus.of(IDENTITY, cluster())) == 0
    assert exit_code(InstanceStatus.of(IDENTITY, cluster(quorum=False))) == 4


def test_human_form_fits_a_terminal_and_says_what_matters():
    text = human_status(InstanceStatus.of(IDENTITY, cluster(quorum=False)))
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "quorum     NO" in text
    assert "12D3KooWExample" in text
    assert "2 of 3 healthy" in text
    rows = [line for line in text.splitlines() if "http://" in line]
    assert rows[0].startswith("*") and "leader" in rows[0]
    assert "NO" in rows[2] and rows[2].rstrip().endswith("-")


def test_a_member_that_does_not_answer_has_no_role_and_ours_comes_first():
    members = (member("b", leader=True), member("c", healthy=False),
               member("d", learner=True, healthy=False), member("a"))
    rows = [line.split() for line in
            human_status(InstanceStatus.of(IDENTITY, cluster(members=members))).splitlines()
            if "http://" in line]
    assert [r[0] for r in rows] == ["*", "b", "c", "d"]  # ours (*) first, then etcd's order
    roles = [r[next(i for i, t in enumerate(r) if t.startswith("http://")) + 1] for r in rows]
    assert roles == ["follower", "leader", "-", "learner"]


def test_json_form_decodes_back():
    status = InstanceStatus.of(IDENTITY, cluster())
    assert msgspec.json.decode(status_json(status), type=InstanceStatus) == status


def test_instance_file_round_trip(tmp_path):
    path = instance_file(tmp_path / "etcd-10.0.0.1-2379-2380")
    assert path == tmp_path / "etcd-10.0.0.1-2379-2380.instance.json"
    assert read_instance_file(path) is None
    write_instance_file(path, IDENTITY)
    assert read_instance_file(path) == IDENTITY
    remove_instance_file(path)
    assert read_instance_file(path) is None


def test_garbled_instance_file_is_a_clear_error(tmp_path):
    path = tmp_path / "x.instance.json"
    path.write_text("not json")
    with pytest.raises(ValueError, match="not an instance file"):
        read_instance_file(path)


def test_each_members_etcd_timing_comes_from_its_own_instance():
    from domain.etcd_timing import EtcdTiming
    from domain.status_merge import with_each_members_own_figures

    def timed(name: str, heartbeat: int) -> InstanceStatus:
        timing = EtcdTiming(heartbeat_ms=heartbeat, election_ms=10 * heartbeat,
                            source="measured", reason="round trip measured")
        identity = msgspec.structs.replace(IDENTITY, etcd_timing=timing)
        return InstanceStatus.of(identity, msgspec.structs.replace(cluster(), member=name))

    merged = with_each_members_own_figures(timed("a", 160), [timed("b", 180)])
    cells = {m.name: m.etcd_timing and m.etcd_timing.heartbeat_ms for m in merged.members}
    assert cells == {"a": 160, "b": 180, "c": None}
    text = human_status(merged)
    assert "HEARTBEAT/ELECTION" in text and "160/1600 ms" in text and "180/1800 ms" in text
    assert "etcd timing heartbeat 160 ms, election timeout 1600 ms (measured: round trip" in text
    # without any timing known (older instances), the table is as before
    assert "HEARTBEAT" not in human_status(InstanceStatus.of(IDENTITY, cluster()))
