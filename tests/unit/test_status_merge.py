"""registry-cli status: every member's raft index and db size from its own instance."""

from adapters.memory.cluster_status import FixedClusterStatusSource
from adapters.memory.metrics import RecordingMetrics
from application.status import StatusRequestHandler, every_members_status, remote_status
from domain.instance_status import ClusterStatus, InstanceIdentity, InstanceStatus, MemberStatus
from domain.status_merge import with_each_members_own_figures

NAMES = ("a", "b", "c")


def row(name: str, own: str) -> MemberStatus:
    """What instance ``own`` knows of member ``name``: figures for its own member only."""
    known = name == own
    return MemberStatus(
        name=name, id=name, peer_url=f"http://{name}:2380", client_url=f"unix://{name}",
        leader=name == "a", learner=False, healthy=True,
        raft_index=100 + ord(name) if known else None, db_size=1000 * ord(name) if known else None,
    )


def transport_of(own: str):
    identity = InstanceIdentity(peer_id=f"peer-{own}", addresses=())
    source = FixedClusterStatusSource(ClusterStatus(
        member=own, quorum=True, revision=9, services=2, db_size=1000 * ord(own),
        members=tuple(row(n, own) for n in NAMES),
    ))
    handler = StatusRequestHandler(source, lambda: identity, RecordingMetrics())

    class Transport:
        async def request(self, protocol_id: str, payload: bytes) -> bytes:
            return await handler.handle(payload)

    return Transport()


async def test_every_member_gets_its_own_instances_figures():
    transports = {f"peer-{n}": transport_of(n) for n in NAMES}
    skipped: list[str] = []

    async def others(first: InstanceStatus) -> list[InstanceStatus]:
        skipped.append(first.peer_id)
        return [await remote_status(t) for p, t in transports.items() if p != first.peer_id]

    status = await every_members_status(transports["peer-b"], others)
    assert skipped == ["peer-b"]
    assert status.peer_id == "peer-b" and status.member == "b"  # the answering instance's view
    assert [(m.raft_index, m.db_size) for m in status.members] == [
        (100 + ord(n), 1000 * ord(n)) for n in NAMES
    ]


async def test_a_member_whose_instance_did_not_answer_stays_unknown():
    first = await remote_status(transport_of("a"))
    merged = with_each_members_own_figures(first, [await remote_status(transport_of("c"))])
    assert [m.raft_index for m in merged.members] == [100 + ord("a"), None, 100 + ord("c")]
    assert merged.members[1].db_size is None


def _with_row(status: InstanceStatus, name: str, **figures: object) -> InstanceStatus:
    import msgspec

    members = tuple(msgspec.structs.replace(m, **figures) if m.name == name else m
                    for m in status.members)
    return msgspec.structs.replace(status, members=members)


async def test_an_answer_never_overrides_what_the_first_instance_knows():
    import msgspec

    first = await remote_status(transport_of("a"))
    liar = await remote_status(transport_of("b"))
    # claims member a, with other figures for it than a's own instance gave
    liar = _with_row(msgspec.structs.replace(liar, member="a"), "a", raft_index=999, db_size=1)
    merged = with_each_members_own_figures(first, [liar])
    assert (merged.members[0].raft_index, merged.members[0].db_size) == (
        100 + ord("a"), 1000 * ord("a"))
    # ...while it still fills a member the first instance has no figures for
    honest_c = await remote_status(transport_of("c"))
    merged = with_each_members_own_figures(first, [liar, honest_c])
    assert merged.members[0].raft_index == 100 + ord("a")
    assert merged.members[2].raft_index == 100 + ord("c")


async def test_local_status_says_where_the_missing_figures_are():
    from entrypoints.common.status_output import missing_figures_hint

    alone = await remote_status(transport_of("a"))
    hint = missing_figures_hint(alone, "--every-member")
    assert "known only to that member's own instance; --every-member asks" in hint
    assert "not readable from this machine" not in hint  # also said when all are here
    merged = with_each_members_own_figures(
        alone, [await remote_status(transport_of(n)) for n in ("b", "c")]
    )
    assert missing_figures_hint(merged, "--every-member") == ""


async def test_a_merged_view_fills_only_what_the_local_view_lacks():
    from domain.status_merge import with_figures_known_to

    alone = await remote_status(transport_of("a"))
    merged = with_each_members_own_figures(
        alone, [await remote_status(transport_of(n)) for n in ("b", "c")]
    )
    # The local view is newer for its own member than the merged one, and lacks b and c.
    local = _with_row(alone, "a", raft_index=5000, db_size=7)
    filled = with_figures_known_to(local, merged)
    assert [(m.raft_index, m.db_size) for m in filled.members] == [
        (5000, 7), (100 + ord("b"), 1000 * ord("b")), (100 + ord("c"), 1000 * ord("c"))]
    assert filled.member == local.member and filled.peer_id == local.peer_id
    # The view has nothing the local one lacks: the local one, unchanged.
    assert with_figures_known_to(local, alone) == local
