"""Cluster use cases (join, admit, tend, leave) and reads without quorum, in memory."""

from __future__ import annotations

import logging
import warnings

import msgspec
import pytest
import trio

from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.transport import InMemoryRegistryTransport
from application import client
from application.cluster.admit import MemberConflict, admit_member, initial_cluster_for
from application.cluster.janitor import MemberJanitor
from application.cluster.join import JoinFailed, join_cluster
from application.cluster.leave import LeaveFailed, leave_cluster
from application.cluster.quorum import QuorumStatus
from application.member_add_answer import MemberAddWithReason
from application.ports import (
    NoProvider,
    NoQuorum,
    ProtocolNotSpoken,
    RegistryUnavailable,
    RequestRejected,
    StaleReadWarning,
    StorageUnavailable,
)
from application.server import RegistryRequestHandler
from domain import ServiceInfo
from domain.cluster import EtcdEndpoint, EtcdMember
from domain.member_add_answer import MEMBER_ADD_WITH_REASON
from domain.wire import Operation

FIRST = EtcdMember(name="a", peer_urls=("http://10.0.0.1:2380",), member_id=1,
                   client_urls=("http://10.0.0.1:2379",))
SECOND = EtcdMember(name="b", peer_urls=("http://10.0.0.2:2380",), member_id=2)
NEW_URL = "http://10.0.0.3:2380"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


# --- admitting a newcomer --------------------------------------------------------


async def test_a_newcomer_is_added_as_a_learner_and_named_in_the_initial_cluster() -> None:
    membership = InMemoryClusterMembership([FIRST])
    cluster = await admit_member(membership, "c", NEW_URL)
    assert cluster == f"a={FIRST.peer_urls[0]},c={NEW_URL}"
    [added] = [m for m in membership.members if NEW_URL in m.peer_urls]
    assert added.is_learner and not added.started


async def test_asking_again_before_starting_gets_the_same_answer_without_a_second_member() -> None:
    membership = InMemoryClusterMembership([FIRST])
    first = await admit_member(membership, "c", NEW_URL)
    assert await admit_member(membership, "c", NEW_URL) == first
    assert len(membership.members) == 2


async def test_a_member_that_lost_its_data_and_is_down_is_replaced() -> None:
    old = EtcdMember(name="c", peer_urls=(NEW_URL,), member_id=7)
    membership = InMemoryClusterMembership([FIRST, SECOND, old])
    await admit_member(membership, "c", NEW_URL)
    [again] = [m for m in membership.members if NEW_URL in m.peer_urls]
    assert again.member_id != 7 and again.is_learner


async def test_a_running_member_with_the_same_peer_url_is_never_replaced() -> None:
    running = EtcdMember(name="c", peer_urls=(NEW_URL,), member_id=7)
    membership = InMemoryClusterMembership([FIRST, running])
    membership.up.add(7)
    with pytest.raises(MemberConflict, match="is running"):
        await admit_member(membership, "c2", NEW_URL)
    assert running in membership.members


def test_other_unstarted_members_get_distinct_placeholder_names() -> None:
    members = [FIRST, EtcdMember(name="", peer_urls=("http://x:1",), member_id=0xAB),
               EtcdMember(name="", peer_urls=(NEW_URL,), member_id=0xCD)]
    assert initial_cluster_for(members, "c", NEW_URL) == (
        f"a={FIRST.peer_urls[0]},unstarted-ab=http://x:1,c={NEW_URL}"
    )


# --- tending members -------------------------------------------------------------


async def test_the_janitor_promotes_learners_once_started() -> None:
    learner = EtcdMember(name="", peer_urls=(NEW_URL,), member_id=3, is_learner=True)
    membership = InMemoryClusterMembership([FIRST, learner])
    janitor = MemberJanitor(membership, grace=60, clock=Clock())
    result = await janitor.tend()
    assert result.promoted == []  # not started yet: nothing to promote
    membership.members[1] = msgspec.structs.replace(learner, name="c")
    result = await janitor.tend()
    assert result.promoted == ["c"]
    assert not membership.members[1].is_learner


async def test_the_janitor_removes_a_member_unstarted_for_longer_than_the_grace() -> None:
    ghost = EtcdMember(name="", peer_urls=(NEW_URL,), member_id=3, is_learner=True)
    membership = InMemoryClusterMembership([FIRST, ghost])
    clock = Clock()
    janitor = MemberJanitor(membership, grace=10, clock=clock)
    await janitor.tend()
    clock.now = 9.9
    assert (await janitor.tend()).removed == []
    clock.now = 10.0
    assert (await janitor.tend()).removed == [NEW_URL]
    assert membership.members == [FIRST]


async def test_the_grace_starts_again_for_a_member_seen_started_in_between() -> None:
    member = EtcdMember(name="", peer_urls=(NEW_URL,), member_id=3)
    membership = InMemoryClusterMembership([FIRST, member])
    clock = Clock()
    janitor = MemberJanitor(membership, grace=10, clock=clock)
    await janitor.tend()
    membership.members[1] = msgspec.structs.replace(member, name="c")
    clock.now = 8
    await janitor.tend()
    membership.members[1] = member  # (as after being removed and re-added)
    clock.now = 12
    assert (await janitor.tend()).removed == []


async def test_a_failing_removal_is_logged_and_tried_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class NoQuorumMembership(InMemoryClusterMembership):
        fail = True
        attempts = 0

        async def remove_member(self, member_id: int) -> list[EtcdMember]:
            self.attempts += 1
            if self.fail:
                raise StorageUnavailable("no leader")
            return await super().remove_member(member_id)

    ghost = EtcdMember(name="", peer_urls=(NEW_URL,), member_id=3)
    membership = NoQuorumMembership([FIRST, ghost])
    clock = Clock()
    janitor = MemberJanitor(membership, grace=1, clock=clock)
    await janitor.tend()
    clock.now = 5
    with caplog.at_level(logging.WARNING, logger="application.cluster.janitor"):
        result = await janitor.tend()
    assert result.removed == []
    assert ghost in membership.members
    [logged] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert NEW_URL in logged and "removing it failed" in logged and "no leader" in logged
    # tried again at the next tend, without a new grace period: the quorum is back now
    membership.fail = False
    clock.now = 5.5
    assert (await janitor.tend()).removed == [NEW_URL]
    assert membership.attempts == 2
    assert ghost not in membership.members


# --- joining -------------------------------------------------------------------


class ScriptedTransport:
    def __init__(self, *replies: bytes | Exception) -> None:
        self.replies = list(replies)
        self.calls = 0

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        if protocol_id == MEMBER_ADD_WITH_REASON:
            raise ProtocolNotSpoken("a Go instance: /memberadd/0.1 only")
        assert protocol_id == Operation.MEMBER_ADD.protocol_id
        self.calls += 1
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


ENDPOINT = EtcdEndpoint(ip="10.0.0.3", client_port=2379, peer_port=2380)
GO_ANSWER = f"10.0.0.1-2379-2380=http://10.0.0.1:2380,{ENDPOINT.member_name}={NEW_URL}".encode()


async def test_join_retries_while_the_cluster_refuses_for_now() -> None:
    clock = Clock()
    transport = ScriptedTransport(RequestRejected("unhealthy"), RegistryUnavailable("none"),
                                  GO_ANSWER)
    cluster = await join_cluster(transport, ENDPOINT, timeout=30, sleep=clock.sleep, clock=clock)
    assert cluster == GO_ANSWER.decode()  # a Go instance's answer is used as it is
    assert transport.calls == 3 and clock.now == 2.0


async def test_join_gives_up_after_its_timeout() -> None:
    clock = Clock()
    transport = ScriptedTransport(*[RequestRejected("refused")] * 100)
    with pytest.raises(JoinFailed, match="within 5 s"):
        await join_cluster(transport, ENDPOINT, timeout=5, sleep=clock.sleep, clock=clock)
    assert clock.now <= 5


async def test_join_names_etcds_refusal_carried_back_and_counts_the_retries() -> None:
    class UnhealthyMembership(InMemoryClusterMembership):
        async def add_member(self, peer_url: str, *, learner: bool = False) -> list[EtcdMember]:
            raise StorageUnavailable("etcdserver: unhealthy cluster")

    membership = UnhealthyMembership([FIRST])
    handler = RegistryRequestHandler(InMemoryServiceRepository(), membership, RecordingMetrics())
    answer = MemberAddWithReason(membership, RecordingMetrics())
    transport = InMemoryRegistryTransport(handler, extra={MEMBER_ADD_WITH_REASON: answer.handle})
    clock = Clock()
    with pytest.raises(JoinFailed) as caught:
        await join_cluster(transport, ENDPOINT, timeout=3.5, sleep=clock.sleep, clock=clock)
    message = str(caught.value)
    assert "refused to add this member: etcdserver: unhealthy cluster" in message
    assert "(refused 4 times)" in message and "\n" not in message


async def test_join_says_nobody_provides_the_registry_with_the_fix() -> None:
    clock = Clock()
    transport = ScriptedTransport(*[NoProvider("nobody provides 'registry-service'")] * 10)
    with pytest.raises(JoinFailed, match=r"nobody provides 'registry-service'.*--new-etcd-cluster"):
        await join_cluster(transport, ENDPOINT, timeout=2, sleep=clock.sleep, clock=clock)


async def test_join_over_memberadd_0_2_gets_the_initial_cluster() -> None:
    membership = InMemoryClusterMembership([FIRST])
    handler = RegistryRequestHandler(InMemoryServiceRepository(), membership, RecordingMetrics())
    metrics = RecordingMetrics()
    transport = InMemoryRegistryTransport(
        handler, extra={MEMBER_ADD_WITH_REASON: MemberAddWithReason(membership, metrics).handle}
    )
    clock = Clock()
    cluster = await join_cluster(transport, ENDPOINT, timeout=3, sleep=clock.sleep, clock=clock)
    assert f"{ENDPOINT.member_name}={ENDPOINT.peer_url}" in cluster
    assert [o for _, o in metrics.requests] == ["ok"]


# --- leaving -------------------------------------------------------------------


def _confirmation(answer: bool):  # type: ignore[no-untyped-def]
    """A RemovalConfirmation that answers ``answer`` and counts the questions."""
    asked: list[int] = []

    async def confirm_removed() -> bool:
        asked.append(1)
        return answer

    return confirm_removed, asked


async def test_leave_removes_our_member() -> None:
    membership = InMemoryClusterMembership([FIRST, SECOND])
    confirm, asked = _confirmation(False)
    assert await leave_cluster(membership, "b", confirm_removed=confirm,
                               sleep=trio.sleep) == [FIRST]
    assert asked == []  # the answer came: no need to ask


async def test_a_lost_answer_counts_when_our_member_says_it_was_removed() -> None:
    # Our own member shuts down as it applies its removal, often before it answers.
    class ShutsDown(InMemoryClusterMembership):
        async def remove_member(self, member_id: int) -> list[EtcdMember]:
            await super().remove_member(member_id)
            raise StorageUnavailable("etcd at unix:/x: connection closed")

    confirm, asked = _confirmation(True)
    membership = ShutsDown([FIRST, SECOND])
    assert await leave_cluster(membership, "b", confirm_removed=confirm,
                               sleep=trio.sleep) == [FIRST]
    assert asked == [1]


async def test_the_only_voting_member_cannot_leave() -> None:
    learner = EtcdMember(name="c", peer_urls=(NEW_URL,), member_id=3, is_learner=True)
    membership = InMemoryClusterMembership([FIRST, learner])
    confirm, asked = _confirmation(True)
    with pytest.raises(LeaveFailed, match="only voting member"):
        await leave_cluster(membership, "a", confirm_removed=confirm, sleep=trio.sleep)
    with pytest.raises(LeaveFailed, match="not a member"):
        await leave_cluster(membership, "zz", confirm_removed=confirm, sleep=trio.sleep)
    assert asked == []


async def test_leave_retries_while_etcd_refuses_for_now() -> None:
    class Refusing(InMemoryClusterMembership):
        refusals = 2

        async def remove_member(self, member_id: int) -> list[EtcdMember]:
            if self.refusals:
                self.refusals -= 1
                raise StorageUnavailable("etcdserver: unhealthy cluster")
            return await super().remove_member(member_id)

    clock = Clock()
    membership = Refusing([FIRST, SECOND])
    confirm, _ = _confirmation(False)
    assert await leave_cluster(membership, "b", confirm_removed=confirm, sleep=clock.sleep,
                               clock=clock) == [FIRST]
    membership.refusals = 1000
    membership.members = [FIRST, SECOND]
    with pytest.raises(LeaveFailed, match="unhealthy cluster"):
        await leave_cluster(membership, "b", confirm_removed=confirm, timeout=3,
                            sleep=clock.sleep, clock=clock)


# --- serving without quorum ---------------------------------------------------------


class QuorumLostRepository(InMemoryServiceRepository):
    """Linearizable reads and writes fail; the member's own copy is still readable."""

    async def get(self, name: str) -> str | None:
        raise StorageUnavailable("etcd: no leader")

    async def list(self) -> dict[str, str]:
        raise StorageUnavailable("etcd: no leader")

    async def put(self, name: str, info_str: str) -> None:
        raise StorageUnavailable("etcd: no leader")

    async def delete(self, name: str) -> int:
        raise StorageUnavailable("etcd: no leader")


def _serving(repository: InMemoryServiceRepository, *, local: bool = True,
             quorum: QuorumStatus | None = None) -> tuple[RegistryRequestHandler,
                                                          InMemoryServiceRepository]:
    copy = InMemoryServiceRepository()
    copy.entries["svc"] = '{"ContentHash":"Qm1"}'
    handler = RegistryRequestHandler(
        repository, InMemoryClusterMembership([FIRST]), RecordingMetrics(),
        local_reads=copy if local else None, quorum=quorum,
    )
    return handler, copy


async def test_fresh_answers_stay_byte_for_byte_the_go_originals() -> None:
    repository = InMemoryServiceRepository()
    repository.entries["svc"] = "{}"
    handler, _ = _serving(repository)
    assert await handler.handle(Operation.GET, b"svc") == b'{"InfoStr":"{}","LookupOk":true}'
    assert await handler.handle(Operation.LIST, b"") == (
        b'{"NameToInfoStr":{"svc":"{}"},"LookupOk":true}'
    )


async def test_without_quorum_reads_come_from_the_local_copy_marked_stale() -> None:
    handler, _ = _serving(QuorumLostRepository())
    assert await handler.handle(Operation.GET, b"svc") == (
        b'{"InfoStr":"{\\"ContentHash\\":\\"Qm1\\"}","LookupOk":true,"Stale":true}'
    )
    assert b'"Stale":true' in await handler.handle(Operation.LIST, b"")
    with pytest.raises(StorageUnavailable):
        await handler.handle(Operation.ADD, b'{"Name":"x","InfoStr":"{}"}')


async def test_known_quorum_loss_skips_the_read_that_cannot_succeed() -> None:
    quorum = QuorumStatus()
    quorum.lost = True
    repository = InMemoryServiceRepository()
    repository.entries["svc"] = '{"ContentHash":"newer"}'  # e.g. the watched copy
    handler, _ = _serving(repository, quorum=quorum)
    assert b'"Stale":true' in await handler.handle(Operation.GET, b"svc")


async def test_without_a_local_reader_the_failure_stays_a_failure() -> None:
    handler, _ = _serving(QuorumLostRepository(), local=False)
    with pytest.raises(StorageUnavailable):
        await handler.handle(Operation.GET, b"svc")


async def test_clients_are_warned_of_stale_reads_and_told_about_lost_quorum() -> None:
    handler, _ = _serving(QuorumLostRepository())
    transport = InMemoryRegistryTransport(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await client.get_service(transport, "svc") == ServiceInfo(content_hash="Qm1")
        assert list(await client.list_services(transport)) == ["svc"]
    assert [w.category for w in caught] == [StaleReadWarning, StaleReadWarning]
    assert "may be stale" in str(caught[0].message)
    with pytest.raises(NoQuorum, match="no quorum"):
        await client.add_service(transport, "x", ServiceInfo())
    with pytest.raises(NoQuorum):
        await client.delete_service(transport, "svc")


async def test_a_refusal_with_quorum_is_not_blamed_on_quorum() -> None:
    class RefusingRepository(InMemoryServiceRepository):
        async def put(self, name: str, info_str: str) -> None:
            raise ValueError("refused for another reason")

    handler, _ = _serving(RefusingRepository())
    with pytest.raises(RequestRejected) as refused:
        await client.add_service(InMemoryRegistryTransport(handler), "x", ServiceInfo())
    assert not isinstance(refused.value, NoQuorum)


def test_a_failed_write_marks_quorum_lost_until_a_later_check_says_healthy():
    now = [100.0]
    quorum = QuorumStatus(clock=lambda: now[0])
    check_started = quorum.now()  # a watch round under way before the write failed
    now[0] += 1
    quorum.note_failed_write()
    assert quorum.lost
    quorum.report(healthy=True, checked_at=check_started)
    assert quorum.lost  # that round's "healthy" is older news than the failed write
    now[0] += 1
    quorum.report(healthy=True, checked_at=quorum.now())
    assert not quorum.lost
    quorum.report(healthy=False, checked_at=quorum.now())
    assert quorum.lost


def test_healthy_is_a_lease_that_lapses_unless_a_later_check_renews_it():
    now = [100.0]
    quorum = QuorumStatus(clock=lambda: now[0], max_age=1.5)
    assert not quorum.lost  # nothing confirmed yet: no lease to lapse
    quorum.report(healthy=True, checked_at=quorum.now())
    now[0] += 1.4
    assert not quorum.lost
    now[0] += 0.2  # a cut-off member's checks never complete: no renewal
    assert quorum.lost
    quorum.report(healthy=True, checked_at=quorum.now())
    assert not quorum.lost
    quorum.report(healthy=True, checked_at=quorum.now() - 10)  # an old round cannot shorten it
    now[0] += 1.0
    assert not quorum.lost


async def test_handler_marks_reads_stale_right_after_a_write_failed_for_want_of_storage():
    from adapters.memory.metrics import RecordingMetrics
    from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
    from application.ports import StorageUnavailable
    from application.server import RegistryRequestHandler
    from domain.wire import GetResponse, Operation, decode

    class NoQuorumStore(InMemoryServiceRepository):
        async def put(self, name: str, info_str: str) -> None:
            raise StorageUnavailable("etcd at http://x: no leader")

    store, quorum = NoQuorumStore(), QuorumStatus()
    store.entries["a"] = "{}"
    handler = RegistryRequestHandler(store, InMemoryClusterMembership(), RecordingMetrics(),
                                     local_reads=store, quorum=quorum)
    fresh = decode(await handler.handle(Operation.GET, b"a"), GetResponse)
    assert not fresh.stale
    with pytest.raises(StorageUnavailable):
        await handler.handle(Operation.ADD, b'{"Name":"b","InfoStr":"{}"}')
    after = decode(await handler.handle(Operation.GET, b"a"), GetResponse)
    assert after.stale and after.lookup_ok
