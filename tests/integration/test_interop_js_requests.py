"""A js-libp2p peer (npm, nobody on this project wrote it) against a real registry-service.

The JS peer speaks the reference protocol with stock js-libp2p: TCP, PSK v1 with a
swarm key it derives itself from the passphrase, Noise, Yamux (or mplex), identify
and kad-dht. Each request is framed as the Go original frames it: write the request,
close the write side, read the answer to its end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from interop.js_peer import js_peer
from registry_process import RegistryProcess

from domain import swarm_key_text
from domain.psk import psk_from_passphrase
from domain.wire import NOT_DELETED_TEXT

GOLDEN = Path(__file__).parents[1] / "unit" / "golden"
INFO_STR = (GOLDEN / "service_info.json").read_text()  # the Go bytes of a ServiceInfo


def test_js_peer_derives_the_same_swarm_key_from_the_passphrase(tmp_path, registry):
    with js_peer(tmp_path / "js", registry.passphrase) as js:
        assert js.swarm_key == swarm_key_text(psk_from_passphrase(registry.passphrase))


def test_js_requests_framed_as_the_reference_match_what_our_cli_sees(tmp_path, registry):
    daemon = registry.addrs[0]
    with js_peer(tmp_path / "js", registry.passphrase) as js:
        dialled = js.call("dial", addr=daemon)
        assert dialled["ok"], dialled
        # What js-libp2p (and go-libp2p) negotiate by default; the daemon must offer it.
        assert (dialled["encryption"], dialled["multiplexer"]) == ("/noise", "/yamux/1.0.0")

        empty = js.request(daemon, "/list/0.1")
        assert empty["ok"], empty
        assert json.loads(empty["reply"]) == {"NameToInfoStr": {}, "LookupOk": False}

        add = js.request(daemon, "/add/0.1", json.dumps({"Name": "js-svc", "InfoStr": INFO_STR}))
        assert add["ok"], add
        assert add["reply"] == f"Added {{js-svc: {INFO_STR}}}"

        # Our CLI sees exactly the record the JS peer stored.
        cli_get = registry.cli("--json", "get", "js-svc")
        assert cli_get.returncode == 0, cli_get.stderr
        shown = json.loads(cli_get.stdout)
        assert isinstance(shown.pop("Revision"), int)  # the record's revision (our addition)
        assert shown == json.loads(INFO_STR)

        got = js.request(daemon, "/get/0.1", "js-svc")
        assert got["ok"], got
        assert json.loads(got["reply"]) == {"InfoStr": INFO_STR, "LookupOk": True}
        assert got["reply"] == json.dumps({"InfoStr": INFO_STR, "LookupOk": True},
                                          separators=(",", ":"))

        listed = js.request(daemon, "/list/0.1")
        assert listed["ok"], listed
        assert json.loads(listed["reply"]) == {"NameToInfoStr": {"js-svc": INFO_STR},
                                               "LookupOk": True}
        assert set(json.loads(registry.cli("--json", "list").stdout)) == {"js-svc"}

        missing = js.request(daemon, "/get/0.1", "nothing-here")
        assert json.loads(missing["reply"]) == {"InfoStr": "", "LookupOk": False}

        deleted = js.request(daemon, "/delete/0.1", "js-svc")
        assert deleted["reply"] == "Deleted 1 entry from hash lookup"
        assert registry.cli("get", "js-svc").returncode == 3  # gone for our CLI too
        again = js.request(daemon, "/delete/0.1", "js-svc")
        assert again["reply"] == NOT_DELETED_TEXT


def test_a_record_added_by_our_library_reads_the_same_in_js(tmp_path, registry):
    from domain import decode_service_info
    from entrypoints import library

    info = decode_service_info(INFO_STR)
    psk = psk_from_passphrase(registry.passphrase)
    library.add_service_blocking(registry.addrs, psk, "py-svc", info)
    with js_peer(tmp_path / "js", registry.passphrase) as js:
        got = js.request(registry.addrs[0], "/get/0.1", "py-svc")
        assert got["ok"], got
        reply = json.loads(got["reply"])
        assert reply["LookupOk"] is True
        assert reply["InfoStr"] == INFO_STR  # our encoder wrote the Go bytes


def test_a_failed_request_resets_the_js_stream_and_the_daemon_keeps_serving(tmp_path, registry):
    daemon = registry.addrs[0]
    with js_peer(tmp_path / "js", registry.passphrase) as js:
        bad = js.request(daemon, "/add/0.1", "{not json")
        assert not bad["ok"]
        assert bad["errorName"] == "StreamResetError", bad  # reset, as the Go original does
        fine = js.request(daemon, "/list/0.1")
        assert fine["ok"], fine
    assert registry.cli("list").returncode == 0


def test_mplex_still_works_against_a_foreign_implementation(tmp_path, registry):
    # py-libp2p offers mplex after yamux; older Go and JS nodes may only speak mplex.
    daemon = registry.addrs[0]
    with js_peer(tmp_path / "js", registry.passphrase, muxer="mplex") as js:
        dialled = js.call("dial", addr=daemon)
        assert dialled["ok"], dialled
        assert dialled["multiplexer"] == "/mplex/6.7.0"
        listed = js.request(daemon, "/list/0.1")
        assert listed["ok"], listed
        assert json.loads(listed["reply"])["LookupOk"] is False


@pytest.mark.parametrize("js_passphrase", ["not the passphrase", None])
def test_a_js_peer_outside_our_private_network_fails_fast(tmp_path, js_passphrase):
    registry = RegistryProcess(tmp_path / "registry").start()
    try:
        with js_peer(tmp_path / "js", js_passphrase) as js:
            started = time.monotonic()
            dialled = js.call("dial", addr=registry.addrs[0], timeout_ms=20_000)
            elapsed = time.monotonic() - started
            assert not dialled["ok"], dialled
            # js-libp2p sees only undecodable bytes where its Noise handshake should be...
            assert dialled["errorName"] == "EncryptionFailedError", dialled
            print(f"js-libp2p dial refused after {elapsed * 1000:.0f} ms")
            # docs/security.md: within 1 s (the call to the running js peer included)
            assert elapsed < 1.0, (elapsed, dialled)
            # ...the daemon knows why, says so in one line, and nothing worse.
            reason = ("is not in any private network (no PSK)" if js_passphrase is None
                      else "is not in our private network: different passphrase/PSK")
            deadline = time.monotonic() + 10
            while f"refused an inbound connection: the peer {reason}" not in (
                log := registry.log_file.read_text()
            ):
                assert time.monotonic() < deadline, log[-3000:]
                time.sleep(0.1)
            assert not [line for line in log.splitlines()
                        if " WARNING " in line or " ERROR " in line or "Traceback" in line]
            # It keeps serving our own clients.
            listed = registry.cli("list")
            assert listed.returncode == 0, listed.stderr
            assert registry.alive()
    finally:
        registry.stop()
