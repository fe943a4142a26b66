"""Readers apply the writers' record rules: a stored record Go cannot decode (written before
the rules existed, restored from an old snapshot) is named, never handed on as good."""

import json
import warnings

import pytest
from test_record_rules import REFUSED

from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from adapters.memory.transport import InMemoryRegistryTransport
from application import client
from application.conditional_client import get_service_revision
from application.server import RegistryRequestHandler
from domain.wire import ListResponse, Operation, decode, encode

GOOD = '{"CpuReq":2}'
IDS = [f"{i}:{info_str[:30]}" for i, (info_str, _) in enumerate(REFUSED)]


def _handler_with(junk: str) -> tuple[RegistryRequestHandler, InMemoryServiceRepository]:
    repo = InMemoryServiceRepository()
    repo.entries.update({"good": GOOD, "junk": junk})
    return RegistryRequestHandler(repo, InMemoryClusterMembership(), RecordingMetrics()), repo


@pytest.mark.parametrize(("junk", "says"), REFUSED, ids=IDS)
async def test_list_0_1_hands_go_only_the_records_it_can_decode_and_names_the_others(
    junk: str, says: str
) -> None:
    handler, _ = _handler_with(junk)
    reply = await handler.handle(Operation.LIST, b"")
    raw = json.loads(reply)
    assert raw["NameToInfoStr"] == {"good": GOOD}  # what a Go client decodes
    assert raw["LookupOk"] is True
    assert list(raw["Unreadable"]) == ["junk"]
    assert says in raw["Unreadable"]["junk"]


@pytest.mark.parametrize(("junk", "says"), REFUSED, ids=IDS)
async def test_our_readers_name_each_class_of_junk_and_keep_the_good(
    junk: str, says: str
) -> None:
    handler, _ = _handler_with(junk)
    transport = InMemoryRegistryTransport(handler)
    with pytest.warns(client.UnreadableRecordsWarning) as caught:
        entries = await client.list_services(transport)
    assert list(entries) == ["good"]
    assert [w.message.names for w in caught] == [["junk"]]  # type: ignore[union-attr]
    with pytest.raises(client.UnreadableRecord, match="'junk' is unreadable") as got:
        await client.get_service(transport, "junk")
    assert says in str(got.value)


class Fixed:
    def __init__(self, reply: bytes) -> None:
        self.reply = reply

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        return self.reply


@pytest.mark.parametrize(("junk", "says"), REFUSED, ids=IDS)
async def test_a_record_an_older_server_hands_on_is_checked_by_the_client(
    junk: str, says: str
) -> None:
    with pytest.warns(client.UnreadableRecordsWarning) as caught:
        older = encode(ListResponse(name_to_info_str={"good": GOOD, "junk": junk}, lookup_ok=True))
        entries = await client.list_services(Fixed(older))  # hands every record on, as before
    assert list(entries) == ["good"]
    assert [w.message.names for w in caught] == [["junk"]]  # type: ignore[union-attr]


async def test_the_huge_memory_of_the_issue_is_not_good_on_any_read_path() -> None:
    junk = '{"CpuReq":1,"MemoryReq":100000000000000000000000000}'
    handler, _ = _handler_with(junk)
    with pytest.raises(client.UnreadableRecord, match="MemoryReq"):
        await client.get_service(InMemoryRegistryTransport(handler), "junk")
    revision_reply = json.dumps({"InfoStr": junk, "LookupOk": True, "Revision": 7}).encode()
    with pytest.raises(client.UnreadableRecord, match="MemoryReq"):
        await get_service_revision(Fixed(revision_reply), "junk")


def test_a_clean_registry_lists_byte_for_byte_as_go_does() -> None:
    reply = encode(ListResponse(name_to_info_str={"a": GOOD}, lookup_ok=True))
    assert reply == b'{"NameToInfoStr":{"a":"{\\"CpuReq\\":2}"},"LookupOk":true}'
    assert decode(reply, ListResponse).unreadable is None


async def test_a_registry_of_junk_only_says_lookup_failed_to_go_and_names_it_to_us() -> None:
    handler, repo = _handler_with("not a record")
    del repo.entries["good"]
    raw = json.loads(await handler.handle(Operation.LIST, b""))
    assert raw["NameToInfoStr"] == {} and raw["LookupOk"] is False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await client.list_services(InMemoryRegistryTransport(handler)) == {}
    assert [w.message.names for w in caught] == [["junk"]]  # type: ignore[union-attr]
