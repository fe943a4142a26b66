"""Go's own encoding/json against our golden vectors and our encoder (both directions).

tests/integration/interop/go_json/main.go declares the original's message structs
and round-trips what we send through a strict json.Decoder and json.Marshal. It
uses the standard library only, so it builds offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from domain import decode_service_info, encode_service_info
from domain.wire import AddRequest, GetResponse, ListResponse, MemberAddRequest, decode, encode

GO_SOURCE = Path(__file__).parent / "interop" / "go_json" / "main.go"
GOLDEN = Path(__file__).parents[1] / "unit" / "golden"

# Golden file name prefix -> (Go type name, our type)
KINDS: dict[str, tuple[str, type]] = {
    "service_info": ("ServiceInfo", object),
    "add_request": ("AddRequest", AddRequest),
    "get_response": ("GetResponse", GetResponse),
    "list_response": ("ListResponse", ListResponse),
    "member_add_request": ("memberAddRequest", MemberAddRequest),
}


def kind_of(path: Path) -> tuple[str, type]:
    return next(kind for prefix, kind in KINDS.items() if path.name.startswith(prefix))


@pytest.fixture(scope="module")
def go_round_trip(tmp_path_factory):
    if shutil.which("go") is None:
        pytest.fail("Go is not installed: run scripts/setup-interop.sh (Debian golang-go)")
    out = tmp_path_factory.mktemp("go") / "go_json"
    # GOPATH mode with the proxy off: nothing can be fetched, only the standard library.
    env = dict(os.environ, GO111MODULE="off", GOPROXY="off", GOFLAGS="")
    env.setdefault("GOCACHE", str(out.parent / "cache"))
    subprocess.run(["go", "build", "-o", str(out), str(GO_SOURCE)], check=True, env=env,
                   timeout=300)

    def run(items: list[tuple[str, bytes]]) -> list[dict]:
        lines = "".join(
            json.dumps({"kind": kind, "data": data.decode("utf-8")}) + "\n" for kind, data in items
        )
        done = subprocess.run([str(out)], input=lines, capture_output=True, text=True,
                              check=True, timeout=60)
        return [json.loads(line) for line in done.stdout.splitlines()]

    return run


def go_files() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".ours.json"))


def test_the_golden_bytes_are_what_go_marshals(go_round_trip):
    files = go_files()
    results = go_round_trip([(kind_of(p)[0], p.read_bytes()) for p in files])
    for path, result in zip(files, results, strict=True):
        assert result["ok"], (path.name, result)
        assert result["marshal"].encode() == path.read_bytes(), path.name


def _ours(path: Path) -> bytes:
    """Decode a golden file with our types and encode it again with our encoder."""
    go_name, our_type = kind_of(path)
    if go_name == "ServiceInfo":
        return encode_service_info(decode_service_info(path.read_bytes())).encode()
    return encode(decode(path.read_bytes(), our_type))


def test_go_reads_everything_we_encode_as_the_same_value(go_round_trip):
    files = go_files()
    ours = [_ours(p) for p in files]
    results = go_round_trip([(kind_of(p)[0], data) for p, data in zip(files, ours, strict=True)])
    for path, data, result in zip(files, ours, results, strict=True):
        # Strict decoding (unknown fields are errors), then Go's own encoding of what it read.
        assert result["ok"], (path.name, data, result)
        assert result["marshal"].encode() == path.read_bytes(), path.name


def test_our_unescaped_html_characters_are_read_by_go(go_round_trip):
    ours = (GOLDEN / "service_info_html_chars.ours.json").read_bytes()
    assert b"<" in ours and b"\\u003c" not in ours
    (result,) = go_round_trip([("ServiceInfo", ours)])
    assert result["ok"], result
    assert result["marshal"].encode() == (GOLDEN / "service_info_html_chars.json").read_bytes()


def test_go_rejects_what_it_should(go_round_trip):
    # The checker is strict for real: a misspelt field or a string RTT fails in Go too.
    results = go_round_trip([
        ("ServiceInfo", b'{"ContentHash":"x","Rtt":1}'),
        ("ServiceInfo", b'{"NetworkSoftReq":{"RTT":"100ms"}}'),
    ])
    assert [r["ok"] for r in results] == [False, False]
