"""The writers list: parsing, and the policy on every write path of the handler."""

import pytest

from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.transport import InMemoryRegistryTransport
from adapters.memory.writers import FixedWriters
from application import client
from application.server import RegistryRequestHandler
from application.write_policy import WritePolicy, WriteRefused
from domain import ServiceInfo
from domain.wire import Operation
from domain.writers import InvalidWritersList, parse_writers

WRITER = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
RSA_PEER = "QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn"
OTHER = "12D3KooWSPNkJaFXzGpErw8Pbff5bbs7DmnyW4h7xoDBksjnSjtB"


def test_writers_file_format() -> None:
    text = f"# allowed writers\n\n{WRITER}   # CI\n  {RSA_PEER}\n{WRITER}\n"
    assert parse_writers(text) == {WRITER, RSA_PEER}
    assert parse_writers("# nobody\n") == frozenset()


@pytest.mark.parametrize(("text", "says"), [
    (f"{WRITER}\n{WRITER[:-1]}\n", "w:2: "),
    ("12D3KooW0OIl\n", "base58"),
    (f"{WRITER} {RSA_PEER}\n", "one peer id per line"),
])
def test_a_bad_writers_file_names_the_line(text: str, says: str) -> None:
    with pytest.raises(InvalidWritersList) as caught:
        parse_writers(text, "w")
    assert says in str(caught.value)


def _parts(writers: set[str] | None, peer: str | None):  # type: ignore[no-untyped-def]
    repo = InMemoryServiceRepository()
    metrics = RecordingMetrics()
    policy = WritePolicy(None if writers is None else FixedWriters(writers))
    handler = RegistryRequestHandler(repo, InMemoryClusterMembership(), metrics,
                                     write_policy=policy)
    return repo, metrics, handler, InMemoryRegistryTransport(handler, peer)


async def test_an_unlisted_peer_cannot_add_or_delete_but_reads() -> None:
    repo, metrics, handler, outsider = _parts({WRITER}, OTHER)
    repo.entries["svc"] = '{"CpuReq":1}'
    with pytest.raises(WriteRefused, match="not allowed to write"):
        await client.add_service(outsider, "new", ServiceInfo())
    with pytest.raises(WriteRefused, match=OTHER):
        await client.delete_service(outsider, "svc")
    assert repo.entries == {"svc": '{"CpuReq":1}'}
    assert (await client.get_service(outsider, "svc")).cpu_req == 1
    assert list(await client.list_services(outsider)) == ["svc"]
    assert metrics.refused_writes == [("add", "WriteRefused"), ("delete", "WriteRefused")]
    assert ("add", "refused") in metrics.requests

    raw = await handler.handle(Operation.DELETE, b"svc", OTHER)
    assert raw.decode() == (f"Error: peer {OTHER} is not allowed to write to this registry "
                            "(not in its writers list)")
    anonymous = await handler.handle(Operation.DELETE, b"svc", None)
    assert anonymous.startswith(b"Error: peer (unknown) is not allowed")


async def test_a_listed_peer_writes_and_no_list_means_everyone_writes() -> None:
    for writers, peer in (({WRITER}, WRITER), (None, OTHER), (None, None)):
        repo, metrics, _, transport = _parts(writers, peer)
        await client.add_service(transport, "svc", ServiceInfo(cpu_req=3))
        assert "svc" in repo.entries
        assert (await client.delete_service(transport, "svc")).startswith("Deleted")
        assert metrics.refused_writes == []


async def test_an_invalid_record_is_answered_with_an_error_text_and_not_stored() -> None:
    repo, metrics, handler, _ = _parts(None, OTHER)
    reply = await handler.handle(
        Operation.ADD, b'{"Name":"bad","InfoStr":"{\\"CpuReq\\":1e400}"}', OTHER
    )
    assert reply.startswith(b"Error: not added: the InfoStr of 'bad' is not a ServiceInfo")
    assert b"CpuReq" in reply
    assert repo.entries == {}
    assert metrics.refused_writes == [("add", "InvalidRecord")]


async def test_readers_skip_unreadable_records_with_one_warning_naming_them() -> None:
    repo, _, _, transport = _parts(None, None)
    repo.entries.update({"good": '{"CpuReq":2}', "b-junk": "not a record",
                         "a-junk": '{"CpuReq":1e400}'})
    with pytest.warns(client.UnreadableRecordsWarning) as caught:
        entries = await client.list_services(transport)
    assert list(entries) == ["good"]
    assert [w.message.names for w in caught] == [["a-junk", "b-junk"]]  # type: ignore[union-attr]
    with pytest.raises(client.UnreadableRecord, match="'b-junk' is unreadable"):
        await client.get_service(transport, "b-junk")


async def test_member_add_is_not_subject_to_the_writers_list() -> None:
    from application.cluster.join import request_membership
    from domain.cluster import EtcdEndpoint, EtcdMember

    membership = InMemoryClusterMembership(
        [EtcdMember(name="127.0.0.1-2379-2380", peer_urls=("http://127.0.0.1:2380",))]
    )
    handler = RegistryRequestHandler(InMemoryServiceRepository(), membership, RecordingMetrics(),
                                     write_policy=WritePolicy(FixedWriters({WRITER})))
    endpoint = EtcdEndpoint(ip="127.0.0.2", client_port=2379, peer_port=2380)
    joined = await request_membership(InMemoryRegistryTransport(handler, OTHER), endpoint)
    assert "127.0.0.2-2379-2380=http://127.0.0.2:2380" in joined
