"""The Go original's JSON bytes, byte for byte, in both directions.

The files in tests/unit/golden/ are what Go's ``json.Marshal`` writes for the
original's message structs (see golden/README.md for the rules they follow, and
tests/integration/test_interop_go_json.py, which feeds them to Go's encoding/json).
Decoding them must give the values below; encoding those values must give the
same bytes again.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from domain import PerfInd, ServiceInfo, decode_service_info, encode_service_info
from domain.wire import (
    AddRequest,
    GetResponse,
    ListResponse,
    MemberAddRequest,
    added_text,
    decode,
    encode,
)

GOLDEN = Path(__file__).parent / "golden"

ECHO = ServiceInfo(
    content_hash="QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn",
    docker_hash="127.0.0.1:5000/demo/echo@sha256:" + "ab" * 32,
    network_soft_req=PerfInd.from_millis(100),
    network_hard_req=PerfInd.from_millis(300),
    cpu_req=1,
    memory_req=64,
)
# The record the Go registry-service itself wrote at start-up ("test-entry"). Its RTTs
# came from Go code as plain integers, so on the wire they are 2019 ns and 2020 ns.
GO_TEST_ENTRY = ServiceInfo(
    content_hash="UofT",
    docker_hash="ECE",
    network_soft_req=PerfInd(rtt=2019),
    network_hard_req=PerfInd(rtt=2020),
    cpu_req=50,
    memory_req=496,
)
# Characters Go's encoder escapes by default (<, >, &), non-ASCII text, int extremes.
HTML_CHARS = ServiceInfo(
    content_hash="Qm<x>&y",
    docker_hash="café/svc@sha256:01",
    network_soft_req=PerfInd(rtt=1),
    network_hard_req=PerfInd(rtt=2),
    cpu_req=-1,
    memory_req=2**63 - 1,
)


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


SERVICE_INFOS = [
    ("service_info.json", ECHO),
    ("service_info_go_test_entry.json", GO_TEST_ENTRY),
    ("service_info_zero.json", ServiceInfo()),
]


@pytest.mark.parametrize(("name", "info"), SERVICE_INFOS)
def test_service_info_decodes_from_and_encodes_to_go_bytes(name: str, info: ServiceInfo) -> None:
    assert decode_service_info(golden(name)) == info
    assert encode_service_info(info).encode() == golden(name)


def test_rtt_is_an_integer_of_nanoseconds_as_go_time_duration() -> None:
    as_json = json.loads(golden("service_info.json"))
    assert as_json["NetworkSoftReq"] == {"RTT": 100_000_000}  # 100 ms
    assert isinstance(as_json["NetworkHardReq"]["RTT"], int)
    with pytest.raises(ValueError):
        decode_service_info(b'{"NetworkSoftReq":{"RTT":"100ms"}}')


def test_characters_go_escapes_decode_the_same_and_we_write_them_plainly() -> None:
    # Go writes \u003c \u003e \u0026 for < > & (HTML-safe by default); we write the
    # characters themselves. Both are the same JSON string, and InfoStr is opaque to
    # the server (stored and returned verbatim), so nothing compares these bytes; Go's
    # decoder reads ours (see test_interop_go_json.py). The only byte difference is
    # those escapes: everything else, non-ASCII included, is identical.
    go_bytes = golden("service_info_html_chars.json")
    ours = golden("service_info_html_chars.ours.json")
    assert decode_service_info(go_bytes) == HTML_CHARS
    assert decode_service_info(ours) == HTML_CHARS
    assert encode_service_info(HTML_CHARS).encode() == ours
    unescaped = go_bytes.replace(rb"\u003c", b"<").replace(rb"\u003e", b">")
    assert unescaped.replace(rb"\u0026", b"&") == ours


def test_add_request_carries_the_info_str_verbatim() -> None:
    request = AddRequest(name="echo:1.0", info_str=golden("service_info.json").decode())
    assert decode(golden("add_request.json"), AddRequest) == request
    assert encode(request) == golden("add_request.json")
    assert decode_service_info(request.info_str) == ECHO
    assert added_text(request.name, request.info_str) == (
        "Added {echo:1.0: " + golden("service_info.json").decode() + "}"
    )


@pytest.mark.parametrize(
    ("name", "response"),
    [
        ("get_response_found.json", GetResponse(encode_service_info(ECHO), lookup_ok=True)),
        ("get_response_missing.json", GetResponse(info_str="", lookup_ok=False)),
    ],
)
def test_get_response(name: str, response: GetResponse) -> None:
    assert decode(golden(name), GetResponse) == response
    assert encode(response) == golden(name)


@pytest.mark.parametrize(
    ("name", "response"),
    [
        # Go's encoder sorts map keys; our servers hand the map over sorted (etcd ranges
        # ascend by key, the in-memory copy sorts), which is the same byte order.
        (
            "list_response.json",
            ListResponse(
                name_to_info_str={
                    "echo:1.0": encode_service_info(ECHO),
                    "test-entry": encode_service_info(GO_TEST_ENTRY),
                },
                lookup_ok=True,
            ),
        ),
        # The Go registry-service builds the map with make(): an empty registry is {}.
        ("list_response_empty.json", ListResponse(name_to_info_str={}, lookup_ok=False)),
        # A nil Go map is null; Go clients range over it without trouble, and so do we.
        ("list_response_nil.json", ListResponse(name_to_info_str=None, lookup_ok=False)),
    ],
)
def test_list_response(name: str, response: ListResponse) -> None:
    assert decode(golden(name), ListResponse) == response
    assert encode(response) == golden(name)


def test_member_add_request_uses_the_go_field_names() -> None:
    request = MemberAddRequest(member_name="10.0.0.2-2379-2380", member_peer_url="http://10.0.0.2:2380")
    assert decode(golden("member_add_request.json"), MemberAddRequest) == request
    assert encode(request) == golden("member_add_request.json")


def test_every_golden_file_is_one_json_document_without_a_trailing_newline() -> None:
    files = sorted(GOLDEN.glob("*.json"))
    assert len(files) == 12
    for path in files:
        data = path.read_bytes()
        assert not data.endswith(b"\n"), path.name
        msgspec.json.decode(data)  # well-formed
