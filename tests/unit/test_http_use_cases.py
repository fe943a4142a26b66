"""The HTTP use cases over in-memory fakes: access, reads, writes, blocking queries, health,
Prometheus targets, tokens."""

from __future__ import annotations

import pytest
import trio

from adapters.memory.http import ListingStore, MemoryHttpWrites, MemoryTokens
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.cluster.quorum import QuorumStatus
from application.http_access import ANONYMOUS, Forbidden, HttpAccess, Unauthenticated
from application.http_health import Health, health
from application.http_registry import HttpRegistry
from application.ports import NoQuorum
from application.prometheus_targets import advertised_metrics_address, prometheus_targets
from domain.http_token import (
    TokenEntry,
    TokenFileError,
    TokenRole,
    parse_tokens,
    render_tokens,
    token_digest,
)
from domain.instance_status import InstanceStatus
from domain.record_rules import InvalidRecord
from domain.watch_wire import WatchRequest

RECORD = '{"ContentHash":"QmA"}'


def _access(open_reads: bool = True) -> tuple[HttpAccess, MemoryTokens]:
    tokens = MemoryTokens()
    tokens.add("ci", TokenRole.WRITE, "rgt_write")
    tokens.add("dash", TokenRole.READ, "rgt_read")
    return HttpAccess(tokens, open_reads=open_reads), tokens


def test_loopback_reads_need_no_token_but_writes_always_do():
    access, _ = _access(open_reads=True)
    assert access.read(None).name == ANONYMOUS
    with pytest.raises(Unauthenticated):
        access.write(None)
    assert access.write("Bearer rgt_write").name == "ci"


def test_a_read_token_may_read_but_not_write():
    access, _ = _access()
    assert access.read("Bearer rgt_read").name == "dash"
    with pytest.raises(Forbidden):
        access.write("Bearer rgt_read")


@pytest.mark.parametrize("header", ["Bearer nope", "Basic rgt_write", "Bearer", "rgt_write"])
def test_a_bad_credential_is_unauthenticated_even_for_an_open_read(header):
    access, _ = _access()
    with pytest.raises(Unauthenticated):
        access.read(header)
    with pytest.raises(Unauthenticated):
        access.write(header)


def test_a_removed_token_no_longer_works_and_closed_reads_need_a_token():
    access, tokens = _access(open_reads=False)
    with pytest.raises(Unauthenticated):
        access.read(None)
    tokens.remove("ci")
    with pytest.raises(Unauthenticated):
        access.write("Bearer rgt_write")


def test_without_a_tokens_file_nobody_writes():
    access = HttpAccess(None, open_reads=True)
    with pytest.raises(Unauthenticated):
        access.write("Bearer anything")


def test_the_tokens_file_round_trips_and_names_a_bad_line():
    entries = [TokenEntry("b", TokenRole.READ, token_digest("x")),
               TokenEntry("a", TokenRole.WRITE, token_digest("y"))]
    parsed = parse_tokens(render_tokens(entries))
    assert parsed[token_digest("y")].name == "a"
    assert len(parsed) == 2
    with pytest.raises(TokenFileError, match="line 2"):
        parse_tokens("a read " + token_digest("x") + "\nb admin " + token_digest("y"))
    with pytest.raises(TokenFileError, match="twice"):
        parse_tokens(f"a read {token_digest('x')}\na read {token_digest('y')}")
    with pytest.raises(TokenFileError, match="sha256"):
        parse_tokens("a read rgt_plain_token_not_a_hash")


def _registry() -> tuple[HttpRegistry, InMemoryRevisionedStore, MemoryHttpWrites]:
    store = InMemoryRevisionedStore()
    listing = ListingStore(store)
    writes = MemoryHttpWrites()
    registry = HttpRegistry(listing, store, store.hub, store, RecordingMetrics(), writes)  # type: ignore[arg-type]
    return registry, store, writes


async def test_writes_go_through_the_record_rules_and_are_counted_by_token():
    registry, _, writes = _registry()
    access, _ = _access()
    ci = access.write("Bearer rgt_write")
    written = await registry.put(ci, "web", RECORD, cas=0)
    assert written.ok
    conflict = await registry.put(ci, "web", RECORD, cas=0)
    assert not conflict.ok and conflict.revision == written.revision
    with pytest.raises(InvalidRecord, match="CpuReq"):
        await registry.put(ci, "web", '{"CpuReq":1.5}', cas=None)
    deleted = await registry.delete(ci, "web", cas=written.revision)
    assert deleted.ok and deleted.deleted == 1
    assert writes.counts == {("ci", "add", "ok"): 1, ("ci", "add", "conflict"): 1,
                             ("ci", "add", "invalid"): 1, ("ci", "delete", "ok"): 1}


async def test_reads_carry_the_registry_index_and_the_record_revision():
    registry, store, _ = _registry()
    caller = _access()[0].write("Bearer rgt_write")
    await registry.put(caller, "web-a", RECORD, cas=None)
    await registry.put(caller, "other", RECORD, cas=None)
    got = await registry.get("web-a")
    assert (got.info_str, got.revision, got.index, got.stale) == (RECORD, 2, 3, False)
    listed = await registry.list("web-")
    assert listed.entries == {"web-a": RECORD} and listed.index == store.revision


async def test_without_quorum_reads_come_from_the_local_copy_marked_stale():
    store = InMemoryRevisionedStore()
    quorum = QuorumStatus()
    quorum.lost = True
    listing = ListingStore(store)
    registry = HttpRegistry(listing, store, store.hub, store, RecordingMetrics(),  # type: ignore[arg-type]
                            MemoryHttpWrites(), local_reads=listing, quorum=quorum)  # type: ignore[arg-type]
    assert (await registry.get("web")).stale
    assert (await registry.list()).stale


async def test_a_write_without_quorum_raises_and_is_counted():
    class NoQuorumStore(InMemoryRevisionedStore):
        async def put_if(self, name, info_str, if_revision):  # type: ignore[no-untyped-def]
            raise NoQuorum("no leader")

    store = NoQuorumStore()
    writes = MemoryHttpWrites()
    registry = HttpRegistry(ListingStore(store), store, store.hub, store, RecordingMetrics(),  # type: ignore[arg-type]
                            writes)
    caller = _access()[0].write("Bearer rgt_write")
    with pytest.raises(NoQuorum):
        await registry.put(caller, "web", RECORD, cas=None)
    assert writes.counts == {("ci", "add", "NoQuorum"): 1}


async def test_a_blocking_query_parks_until_a_matching_change_and_not_before():
    registry, store, _ = _registry()
    caller = _access()[0].write("Bearer rgt_write")
    index = (await registry.put(caller, "web", RECORD, cas=None)).revision
    woken: list[str] = []
    parked = await registry.park(WatchRequest(names=["web"], since_revision=index),
                                 lambda: woken.append("web"))
    assert parked is not None
    await registry.put(caller, "other", RECORD, cas=None)
    assert woken == []
    await registry.put(caller, "web", RECORD, cas=None)
    assert woken == ["web"]
    parked.close()
    assert store.hub.watchers == 0


async def test_a_blocking_query_past_which_a_change_already_came_answers_at_once():
    registry, store, _ = _registry()
    caller = _access()[0].write("Bearer rgt_write")
    index = (await registry.put(caller, "web", RECORD, cas=None)).revision
    await registry.delete(caller, "web", cas=None)  # a deletion too: gone, yet newer
    assert await registry.park(WatchRequest(names=["web"], since_revision=index),
                               lambda: None) is None
    store.compact()
    assert await registry.park(WatchRequest(names=["web"], since_revision=index),
                               lambda: None) is None
    assert await registry.park(WatchRequest(names=["web"]), lambda: None) is None
    assert store.hub.watchers == 0


async def test_health_ok_stale_or_unavailable():
    quorum = QuorumStatus()

    async def answers() -> None:
        return None

    async def down() -> None:
        raise ConnectionError("member down")

    assert await health(quorum, answers) is Health.OK
    quorum.lost = True
    assert await health(quorum, answers) is Health.STALE
    assert await health(quorum, down) is Health.UNAVAILABLE


def _status(peer: str, member: str, metrics: str | None) -> InstanceStatus:
    return InstanceStatus(peer_id=peer, addresses=(), member=member, quorum=True, revision=1,
                          services=0, db_size=0, members=(), metrics=metrics)


async def test_targets_list_each_instance_once_with_its_metrics_address():
    own = _status("p1", "m1", "10.0.0.1:9102")

    async def first() -> InstanceStatus:
        return own

    async def others(seen: InstanceStatus) -> list[InstanceStatus]:
        assert seen is own
        return [_status("p2", "m0", "10.0.0.2:9102"), _status("p1", "m1", "dup:1"),
                _status("p3", "m3", None)]

    groups = await prometheus_targets(first, others)
    assert [(g.targets, g.labels["registry_member"]) for g in groups] == [
        (["10.0.0.2:9102"], "m0"), (["10.0.0.1:9102"], "m1")]


def test_a_wildcard_metrics_bind_is_advertised_as_the_instance_ip():
    assert advertised_metrics_address("", 9102, "10.0.0.7") == "10.0.0.7:9102"
    assert advertised_metrics_address("0.0.0.0", 9102, "10.0.0.7") == "10.0.0.7:9102"
    assert advertised_metrics_address("::1", 9102, "x") == "[::1]:9102"


async def test_wake_up_of_many_parked_queries_by_one_change():
    registry, _, _ = _registry()
    caller = _access()[0].write("Bearer rgt_write")
    index = (await registry.put(caller, "web", RECORD, cas=None)).revision
    woken = 0

    def wake() -> None:
        nonlocal woken
        woken += 1

    parked = [await registry.park(WatchRequest(prefix="we", since_revision=index), wake)
              for _ in range(1000)]
    await registry.put(caller, "web", RECORD, cas=None)
    assert woken == 1000
    for p in parked:
        assert p is not None
        p.close()
    await trio.lowlevel.checkpoint()
