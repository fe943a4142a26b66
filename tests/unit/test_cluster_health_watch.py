"""The daemon's cluster watch and the cut-off notice, over in-memory adapters and a fake clock."""

from __future__ import annotations

import pytest

from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.cluster.cut_off_notice import tell_watchers_of_quorum
from application.cluster.health_watch import watch_cluster
from application.cluster.janitor import MemberJanitor
from application.cluster.quorum import QuorumStatus
from domain.cluster import EtcdMember

STARTED = EtcdMember(name="a", peer_urls=("http://10.0.0.1:2380",), member_id=1)
LEARNER = EtcdMember(name="b", peer_urls=("http://10.0.0.2:2380",), member_id=2,
                     is_learner=True)


class Rounds:
    """A clock whose sleep ends the watch after ``rounds`` rounds, running ``between`` first."""

    def __init__(self, rounds: int, between=lambda n: None) -> None:  # type: ignore[no-untyped-def]
        self.now, self.left, self.between, self.slept = 0.0, rounds, between, []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.left -= 1
        if self.left == 0:
            raise _Done
        self.between(self.left)


class _Done(Exception):
    pass


async def run_rounds(membership: InMemoryClusterMembership, quorum: QuorumStatus,
                     clock: Rounds) -> RecordingMetrics:
    metrics = RecordingMetrics()
    janitor = MemberJanitor(membership, grace=60, clock=clock)
    with pytest.raises(_Done):
        await watch_cluster(membership, metrics, quorum, janitor, sleep=clock.sleep, clock=clock)
    return metrics


async def test_a_healthy_round_renews_the_lease_reports_figures_and_promotes_learners() -> None:
    membership = InMemoryClusterMembership([STARTED, LEARNER])
    quorum = QuorumStatus(max_age=1.0)
    clock = Rounds(1)
    metrics = await run_rounds(membership, quorum, clock)
    assert not quorum.lost and metrics.storage_healthy is True
    assert metrics.cluster == {"members": 2, "started_members": 2, "learners": 1,
                               "has_leader": True, "is_leader": True}
    assert not any(m.is_learner for m in membership.members)  # the janitor ran
    assert clock.slept == [0.25]  # the next round starts on the steady beat


async def test_a_settled_cluster_is_not_tended_and_a_newcomer_is() -> None:
    # Nothing to promote or remove: no member list asked for, round after round.
    membership = InMemoryClusterMembership([STARTED])
    quorum = QuorumStatus(max_age=1.0)
    await run_rounds(membership, quorum, Rounds(3))
    assert membership.lists == 0 and not quorum.lost
    # A member added but not started yet (name ""), or a learner: the janitor looks.
    await membership.add_member("http://10.0.0.3:2380")
    await run_rounds(membership, quorum, Rounds(2))
    assert membership.lists == 2


async def test_a_member_that_does_not_answer_is_down_and_the_quorum_lost() -> None:
    membership = InMemoryClusterMembership([STARTED])
    membership.answers = False
    quorum = QuorumStatus(max_age=1.0)
    metrics = await run_rounds(membership, quorum, Rounds(1))
    assert quorum.lost and metrics.etcd_down


async def test_without_a_leader_the_quorum_is_lost_and_the_janitor_rests() -> None:
    membership = InMemoryClusterMembership([STARTED, LEARNER])
    membership.quorum = False
    quorum = QuorumStatus(max_age=1.0)
    metrics = await run_rounds(membership, quorum, Rounds(1))
    assert quorum.lost and metrics.storage_healthy is False
    assert any(m.is_learner for m in membership.members)


async def test_the_quorum_comes_back_with_the_next_healthy_round() -> None:
    membership = InMemoryClusterMembership([STARTED])
    membership.quorum = False
    quorum = QuorumStatus(max_age=1.0)

    def heal(_: int) -> None:
        membership.quorum = True

    await run_rounds(membership, quorum, Rounds(2, heal))
    assert not quorum.lost


async def test_watchers_hear_of_a_lapsed_lease_and_of_its_renewal() -> None:
    now = [0.0]
    quorum = QuorumStatus(clock=lambda: now[0], max_age=1.0)
    quorum.report(healthy=True, checked_at=0.0)
    store = InMemoryRevisionedStore()
    seen: list[bool] = []

    async def sleep(seconds: float) -> None:
        seen.append(store.hub.cut_off)
        if len(seen) == 1:
            now[0] = 1.5  # no check renewed the lease
        elif len(seen) == 2:
            quorum.report(healthy=True, checked_at=1.6)
        else:
            raise _Done

    with pytest.raises(_Done):
        await tell_watchers_of_quorum(quorum, store.hub, sleep=sleep, interval=0.01)
    assert seen == [False, True, False]


def test_a_member_whose_checks_take_a_second_keeps_its_lease_between_them() -> None:
    """Far from its leader (500 ms), a quorum read takes two round trips: ~1.05 s."""
    now = [0.0]
    quorum = QuorumStatus(clock=lambda: now[0], max_age=1.0)
    started = 0.0
    for _ in range(5):  # one check after another, each 1.05 s
        now[0] = started + 1.05
        quorum.report(healthy=True, checked_at=started)
        started = now[0]
        now[0] += 1.0  # well into the next check: still confirmed
        assert not quorum.lost
        now[0] = started
    now[0] = started + 2 * 1.05 + 0.25 + 0.01  # cut off: no check comes back
    assert quorum.lost
    # and a near member's checks keep the 1 s lease
    near = QuorumStatus(clock=lambda: now[0], max_age=1.0)
    near.report(healthy=True, checked_at=now[0] - 0.01)
    now[0] += 1.0
    assert near.lost
