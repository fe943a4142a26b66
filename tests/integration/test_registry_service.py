"""A real registry-service process (own etcd member) and real clients on loopback."""

import json
import time

import pytest
import trio
from registry_process import RegistryProcess

from application.client import ServiceNotFound
from application.ports import RequestRejected
from domain import PerfInd, ServiceInfo, psk_from_passphrase
from domain.service_info import encode_service_info
from domain.wire import MAX_REQUEST_BYTES
from entrypoints import library
from entrypoints.common.errors import single_error

INFO = ServiceInfo(
    content_hash="QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn",
    docker_hash="127.0.0.1:5000/demo/echo@sha256:" + "ab" * 32,
    network_soft_req=PerfInd.from_millis(100),
    network_hard_req=PerfInd.from_millis(300),
    cpu_req=1,
    memory_req=64,
)


def test_add_by_library_then_get_list_delete_by_cli(registry):
    psk = psk_from_passphrase(registry.passphrase)
    reply = library.add_service_blocking(registry.addrs, psk, "echo:1.0", INFO)
    assert reply.startswith("Added {echo:1.0: {")

    got = registry.cli("get", "echo:1.0")
    assert got.returncode == 0, got.stderr
    assert "RTT 100 ms" in got.stdout and INFO.docker_hash in got.stdout

    as_json = registry.cli("--json", "get", "echo:1.0")
    assert json.loads(as_json.stdout)["NetworkSoftReq"] == {"RTT": 100_000_000}

    listed = registry.cli("--json", "list")
    assert set(json.loads(listed.stdout)) == {"echo:1.0"}

    deleted = registry.cli("delete", "echo:1.0")
    assert deleted.returncode == 0 and "Deleted 1 entry" in deleted.stdout

    missing = registry.cli("get", "echo:1.0")
    assert missing.returncode == 3
    assert "no service named 'echo:1.0'" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert registry.cli("delete", "echo:1.0").returncode == 3


def test_a_bootstrap_named_by_host_name_is_resolved_and_dialled(registry):
    """/dns4/<name>/tcp/<port>/p2p/<id>, as with go-libp2p (the name from /etc/hosts)."""
    psk = psk_from_passphrase(registry.passphrase)
    library.add_service_blocking(registry.addrs, psk, "by-name:1", INFO)
    by_name = [a.replace("/ip4/127.0.0.1/", "/dns4/localhost/") for a in registry.addrs
               if a.startswith("/ip4/127.0.0.1/")]
    assert by_name
    got = registry.cli("get", "by-name:1", bootstraps=by_name)
    assert got.returncode == 0, got.stderr
    assert INFO.docker_hash in got.stdout
    assert library.get_service_blocking(by_name, psk, "by-name:1") == INFO
    unknown = registry.cli("get", "by-name:1", bootstraps=[
        by_name[0].replace("/dns4/localhost/", "/dns4/::1/")])
    assert unknown.returncode == 4
    assert "cannot resolve '::1'" in unknown.stderr, unknown.stderr


async def test_library_round_trip_with_a_short_lived_node_each_time(registry):
    psk = psk_from_passphrase(registry.passphrase)
    await library.add_service(registry.addrs, psk, "a", INFO)
    await library.add_service(registry.addrs, psk, "b", ServiceInfo(content_hash="Qmb"))
    assert await library.get_service(registry.addrs, psk, "a") == INFO
    assert set(await library.list_services(registry.addrs, psk)) == {"a", "b"}
    assert (await library.delete_service(registry.addrs, psk, "a")).startswith("Deleted")
    with pytest.raises(ServiceNotFound):
        await library.get_service(registry.addrs, psk, "a")


def test_go_style_flags_and_environment(registry, monkeypatch):
    library.add_service_blocking(registry.addrs, psk_from_passphrase(registry.passphrase),
                                 "env", INFO)
    import os
    import subprocess

    # No bootstrap at all: the CLI looks by mDNS; in a namespace of its own with loopback
    # only (unshare -n), so that no multicast leaves this machine. A usage error, no hang.
    argv = [str(registry.cli.__globals__["VENV_BIN"] / "registry-cli"), "-json", "get", "env"]
    env = {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}
    got = subprocess.run(["unshare", "-n", *argv], capture_output=True, text=True, env=env,
                         timeout=60)
    assert got.returncode == 2  # (README)
    assert "bootstrap" in got.stderr.lower()

    env = dict(os.environ, P2P_BOOTSTRAPS=" ".join(registry.addrs), P2P_PSK=registry.passphrase)
    out = subprocess.run([str(registry.cli.__globals__["VENV_BIN"] / "registry-cli"),
                          "-json", "get", "env"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["CpuReq"] == 1


def test_wrong_passphrase_fails_fast_with_a_clear_message(registry):
    started = time.monotonic()
    assert registry.cli("get", "x").returncode == 3  # the same command, right passphrase
    baseline = time.monotonic() - started
    started = time.monotonic()
    wrong = registry.cli("get", "x", passphrase="not the passphrase")
    elapsed = time.monotonic() - started
    assert wrong.returncode == 4
    assert "different private network" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    # README: no 10-40 s hang; the refusal costs under 1 s beyond what the same command
    # takes with the right passphrase (interpreter and node start-up)
    print(f"right passphrase {baseline:.2f} s, wrong {elapsed:.2f} s")
    assert elapsed < baseline + 1.0, (elapsed, baseline)
    # ...and the daemon still serves the right passphrase
    assert registry.cli("list").returncode == 0


def _padded_add_request(name: str, size: int) -> bytes:
    """A valid /add/0.1 request of exactly ``size`` bytes (JSON whitespace as padding)."""
    head = b'{"Name":"' + name.encode() + b'",'
    tail = b'"InfoStr":' + json.dumps(encode_service_info(INFO)).encode() + b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


def _refusals_logged(registry: RegistryProcess) -> list[str]:
    return [line for line in registry.log_file.read_text().splitlines()
            if "resetting the stream" in line]


def test_oversized_and_malformed_requests_are_refused_and_the_daemon_keeps_serving(registry):
    psk = psk_from_passphrase(registry.passphrase)

    async def raw(protocol_id: str, payload: bytes) -> bytes:
        # The transport itself: the application's own size check is not in the way.
        try:
            async with library.registry_client(registry.addrs, psk, attempts=1) as client:
                return await client.request(protocol_id, payload)
        except BaseExceptionGroup as group:
            raise single_error(group) from None

    def refused(protocol_id: str, payload: bytes, reason: str) -> None:
        before = len(_refusals_logged(registry))
        # RequestRejected is raised only for a stream the daemon accepted and then reset
        # without an answer; a timeout or a failed dial is RegistryUnavailable instead.
        with pytest.raises(RequestRejected, match="stream reset"):
            trio.run(raw, protocol_id, payload)
        deadline = time.monotonic() + 10
        while len(_refusals_logged(registry)) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        new = _refusals_logged(registry)[before:]
        assert len(new) == 1 and reason in new[0], new
        assert registry.alive()

    # The 1 MiB cap: a request of exactly MAX_REQUEST_BYTES is served, one byte more is not.
    at_cap = _padded_add_request("at-cap", MAX_REQUEST_BYTES)
    assert len(at_cap) == MAX_REQUEST_BYTES
    assert trio.run(raw, "/add/0.1", at_cap).decode().startswith("Added {at-cap: {")
    over_cap = _padded_add_request("over-cap", MAX_REQUEST_BYTES + 1)
    refused("/add/0.1", over_cap, "MessageTooLarge")
    refused("/add/0.1", b"{not json", "MalformedMessage")
    refused("/add/0.1", b'{"Name":" bad ","InfoStr":"{}"}', "InvalidServiceName")
    refused("/get/0.1", b"\xff\xfe", "UnicodeDecodeError")
    refused("/memberadd/0.1", b"[]", "MalformedMessage")
    assert set(json.loads(trio.run(raw, "/list/0.1", b""))["NameToInfoStr"]) == {"at-cap"}
    library.add_service_blocking(registry.addrs, psk, "after", INFO)
    assert library.get_service_blocking(registry.addrs, psk, "after") == INFO
    assert registry.alive()
    log = registry.log_file.read_text()
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]


def test_restart_on_the_same_data_dir_keeps_the_data(tmp_path):
    proc = RegistryProcess(tmp_path / "r").start()
    try:
        psk = psk_from_passphrase(proc.passphrase)
        library.add_service_blocking(proc.addrs, psk, "durable", INFO)
        first_id = proc.addrs[0].rsplit("/", 1)[1]
        assert proc.stop() == 0
        assert (proc.data_dir / "member" / "snap" / "db").is_file()  # kept, not wiped
        proc.start()
        assert proc.addrs[0].rsplit("/", 1)[1] == first_id  # same key file, same peer id
        assert library.get_service_blocking(proc.addrs, psk, "durable") == INFO
    finally:
        proc.stop()


def test_metrics_endpoint_counts_requests(registry):
    import urllib.request

    psk = psk_from_passphrase(registry.passphrase)
    library.add_service_blocking(registry.addrs, psk, "m", INFO)
    library.get_service_blocking(registry.addrs, psk, "m")
    with pytest.raises(ServiceNotFound):
        library.get_service_blocking(registry.addrs, psk, "nope")
    url = f"http://127.0.0.1:{registry.prom_port}/metrics"
    deadline = time.monotonic() + 10
    while True:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        if "registry_etcd_healthy 1.0" in text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert 'registry_requests_total{operation="add",outcome="ok"} 1.0' in text
    assert 'registry_requests_total{operation="get",outcome="ok"} 2.0' in text
    assert "registry_request_duration_seconds_bucket" in text
    assert "registry_etcd_healthy 1.0" in text


async def test_with_host_routing_reuses_the_callers_host_and_dht(registry):
    import multiaddr

    from adapters.libp2p.identity import ephemeral_identity
    from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
    from domain import parse_bootstrap

    psk = psk_from_passphrase(registry.passphrase)
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk, dht_server=False)
    async with running_node(settings) as node:
        assert not await connect_bootstraps(node, [parse_bootstrap(registry.addrs[0])], 5)
        text = await library.add_service_with_host_routing(node.host, node.dht, "hr", INFO)
        assert text.startswith("Added {hr:")
        assert await library.get_service_with_host_routing(node.host, node.rendezvous, "hr") == INFO
        assert "hr" in await library.list_services_with_host_routing(node.host, node.dht)
        await library.delete_service_with_host_routing(node.host, node.dht, "hr")
        with pytest.raises(ServiceNotFound):
            await library.get_service_with_host_routing(node.host, node.dht, "hr")
        # the caller's node is still usable afterwards: nothing was torn down
        assert node.host.get_network().connections
    # multiaddr objects are accepted as bootstraps too
    objects = [multiaddr.Multiaddr(a) for a in registry.addrs]
    await library.add_service(objects, psk, "obj", INFO)
    assert await library.get_service(objects, psk, "obj") == INFO


def test_asyncio_callers_use_the_threaded_wrappers(registry):
    import asyncio

    psk = psk_from_passphrase(registry.passphrase)

    async def main() -> ServiceInfo:
        await library.add_service_asyncio(registry.addrs, psk, "aio", INFO)
        return await library.get_service_asyncio(registry.addrs, psk, "aio")

    assert asyncio.run(main()) == INFO


def test_a_client_that_never_finishes_its_request_is_reset_after_the_timeout(tmp_path):
    from libp2p.custom_types import TProtocol
    from libp2p.network.stream.exceptions import StreamError

    from adapters.libp2p.identity import ephemeral_identity
    from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
    from adapters.libp2p.stream_io import read_to_end
    from domain import parse_bootstrap

    proc = RegistryProcess(tmp_path / "r", extra_args=["--request-timeout", "1"]).start()
    psk = psk_from_passphrase(proc.passphrase)

    async def stall() -> tuple[float, bytes | None]:
        settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk, dht_server=False)
        async with running_node(settings) as node:
            boot = parse_bootstrap(proc.addrs[0])
            assert not await connect_bootstraps(node, [boot], 5)
            from libp2p.peer.id import ID

            stream = await node.host.new_stream(ID.from_base58(boot.peer_id),
                                                [TProtocol("/get/0.1")])
            await stream.write(b"half a na")  # ...and never close the write side
            started = trio.current_time()
            with trio.fail_after(10):
                try:
                    reply: bytes | None = await read_to_end(stream, 1 << 20)
                except StreamError:
                    reply = None
            return trio.current_time() - started, reply

    try:
        waited, reply = trio.run(stall)
        assert not reply  # reset (or closed) without an answer
        assert 0.8 <= waited <= 5, waited
        assert library.list_services_blocking(proc.addrs, psk) == {}  # still serving
    finally:
        proc.stop()


def test_broken_multistream_negotiations_cost_only_their_stream(registry):
    """Pipelined or not, a negotiation that is junk, oversized, cut short or for an unknown
    protocol ends that stream alone: on the same connection, a get opened before it is
    answered after it, and a get opened after it is answered too; an unknown protocol
    still hears "na" (adapters/libp2p/upstream/pipelined_multiselect.py)."""
    from libp2p.utils.varint import encode_delim
    from one_connection import one_connection, read_until_end, send

    from domain.wire import GetResponse, decode

    header = encode_delim(b"/multistream/1.0.0")
    cases = {
        "junk header": encode_delim(b"hello"),
        "length prefix too long": b"\xff\xff\xff\xff\x7f",
        "proposal over 1 KiB": header + encode_delim(b"/" + b"x" * 2000),
        "cut short": header + b"\x30/get",
        "no newline": header + b"\x08/get/0.1",
        "unknown protocol, junk behind": header + encode_delim(b"/nobody/1") + b'{"x": 1}',
    }
    library.add_service_blocking(registry.addrs, psk_from_passphrase(registry.passphrase),
                                 "svc", INFO)

    async def main() -> dict[str, tuple[bytes, str]]:
        answers = {}
        async with one_connection(registry) as conn:
            for name, data in cases.items():
                before = await send(await conn.stream("/get/0.1"), b"svc")  # not read yet
                broken = await send(await conn.raw_stream(), data)
                answers[name] = await read_until_end(broken, 10)
                for good in (before, await send(await conn.stream("/get/0.1"), b"svc")):
                    reply, end = await read_until_end(good, 10)
                    assert end == "eof", (name, reply)
                    got = decode(reply, GetResponse)
                    assert got.lookup_ok and '"CpuReq":1' in got.info_str, (name, reply)
                conn.muxed_conn()  # still the one connection
        return answers

    answers = trio.run(main)
    # Each broken stream is reset, after at most the echoes owed; never a protocol answer.
    na = header + encode_delim(b"na")
    assert answers == {
        "junk header": (header, "reset"),
        "length prefix too long": (b"", "reset"),
        "proposal over 1 KiB": (header, "reset"),
        "cut short": (header, "reset"),
        "no newline": (header, "reset"),
        "unknown protocol, junk behind": (na, "reset"),
    }
    assert registry.alive()


def test_a_public_network_without_a_passphrase_end_to_end(tmp_path):
    """README: without a passphrase the network is public. Two instances (the second joins
    through the first), a writer and readers with no PSK at all; a client with one is
    in another network and gets nothing."""
    first = RegistryProcess(tmp_path / "a", passphrase=None, ip="127.0.0.1").start()
    second = None
    try:
        assert "--psk" not in first.argv() and "--psk-file" not in first.argv()
        second = RegistryProcess(tmp_path / "b", passphrase=None, ip="127.0.0.1",
                                 new_cluster=False, bootstraps=first.addrs).start(timeout=90)
        library.add_service_blocking(first.addrs, None, "public", INFO)
        assert library.get_service_blocking(second.addrs, None, "public") == INFO
        got = second.cli("--json", "get", "public")
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout)["ContentHash"] == INFO.content_hash
        listed = first.cli("--json", "list")
        assert listed.returncode == 0 and "public" in json.loads(listed.stdout), listed.stderr
        private = first.cli("get", "public", passphrase="a private one")
        assert private.returncode == 4 and "Traceback" not in private.stderr, private.stderr
        deleted = second.cli("delete", "public")
        assert deleted.returncode == 0, deleted.stderr
        assert first.cli("get", "public").returncode == 3
    finally:
        if second is not None:
            second.stop()
        first.stop()
