"""`/get|add|delete/0.2` against a real registry-service and etcd, by library and CLI."""

from __future__ import annotations

import functools

import pytest
import trio
from test_trust_boundary import cli as trust_cli
from test_trust_boundary import guarded, keys  # noqa: F401  (fixtures)
from watch_helpers import _info, _psk

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from adapters.libp2p.registry_server import Libp2pRegistryServer
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from application import conditional_client
from application.client import RequestTooLarge
from application.conditional_client import RevisionConflict
from application.server import RegistryRequestHandler
from domain.psk import psk_from_passphrase
from domain.rendezvous import REGISTRY_RENDEZVOUS
from domain.service_info import encode_service_info
from domain.wire import MAX_REQUEST_BYTES
from entrypoints import library
from entrypoints.common.errors import single_error

ROUNDS, WRITERS, NODES = 5, 20, 4


async def test_of_20_concurrent_if_revision_writers_exactly_one_wins_each_round(registry):
    boot, psk = registry.addrs, _psk(registry)
    await library.add_service(boot, psk, "contended", _info(0))
    async with (
        library.registry_client(boot, psk) as c0, library.registry_client(boot, psk) as c1,
        library.registry_client(boot, psk) as c2, library.registry_client(boot, psk) as c3,
    ):
        clients = [c0, c1, c2, c3]

        async def write(n: int, revision: int, wins: list[int], conflicts: list[int]) -> None:
            try:
                wins.append(await conditional_client.add_service_if(
                    clients[n % NODES], "contended", _info(n), revision))
            except RevisionConflict as exc:
                conflicts.append(exc.current_revision)

        for round_ in range(ROUNDS):
            _, revision = await conditional_client.get_service_revision(c0, "contended")
            wins: list[int] = []
            conflicts: list[int] = []
            async with trio.open_nursery() as nursery:
                for n in range(WRITERS):
                    nursery.start_soon(write, n, revision, wins, conflicts)
            assert len(wins) == 1, f"round {round_}: {len(wins)} winners"
            assert conflicts == [wins[0]] * (WRITERS - 1)
            _, now = await conditional_client.get_service_revision(c0, "contended")
            assert now == wins[0]


def test_cli_put_get_delete_with_conditions_and_exit_codes(registry, tmp_path):
    record = tmp_path / "record.json"
    record.write_text(encode_service_info(_info(7)) + "\n")
    put = registry.cli("put", "svc", str(record), "--if-absent")
    assert put.returncode == 0, put.stderr
    revision = int(put.stdout)

    human = registry.cli("get", "svc")
    assert f"Revision:       {revision}" in human.stdout
    scripted = registry.cli("--json", "get", "svc")
    assert f'"Revision":{revision}' in scripted.stdout and '"CpuReq":7' in scripted.stdout

    again = registry.cli("put", "svc", str(record), "--if-absent")
    assert again.returncode == 6
    assert again.stderr.strip() == (
        f"registry-cli: condition failed: 'svc' was to be absent but is at revision {revision}")
    stale = registry.cli("put", "svc", str(record), "--if-revision", str(revision - 1))
    assert stale.returncode == 6 and f"at revision {revision}" in stale.stderr
    newer = registry.cli("put", "svc", "-", "--if-revision", str(revision), timeout=60)
    assert newer.returncode != 0  # nothing on stdin: not a record
    assert len(newer.stderr.strip().splitlines()) == 1

    wrong = registry.cli("delete", "svc", "--if-revision", str(revision + 100))
    assert wrong.returncode == 6 and f"at revision {revision}" in wrong.stderr
    deleted = registry.cli("delete", "svc", "--if-revision", str(revision))
    assert deleted.returncode == 0, deleted.stderr
    assert registry.cli("get", "svc").returncode == 3


def test_0_2_writes_obey_the_same_name_rules_and_size_limit_as_0_1(registry):
    boot, psk = registry.addrs, _psk(registry)
    with pytest.raises(ValueError, match="surrounding white space"):
        trio.run(functools.partial(library.add_service, boot, psk, " x", _info(1), if_revision=0))

    async def raw(protocol_id: str, payload: bytes) -> None:
        try:
            async with library.registry_client(boot, psk, attempts=1) as client:
                await client.request(protocol_id, payload)
        except BaseExceptionGroup as group:
            raise single_error(group) from None

    from application.ports import RequestRejected

    def refused_for(protocol_id: str, payload: bytes, reason: str) -> None:
        """Reset, and the daemon's log names this request's fault (not any other)."""
        logged = registry.log_file.read_text().count(reason)
        with pytest.raises(RequestRejected):
            trio.run(raw, protocol_id, payload)
        assert registry.log_file.read_text().count(reason) > logged, (protocol_id, reason)

    # The same request bytes refused on 0.1 and on 0.2, for the same reason.
    for protocol_id in ("/add/0.1", "/add/0.2"):
        refused_for(protocol_id, b'{"Name":" x","InfoStr":"{}","IfRevision":0}',
                    "surrounding white space")
    for protocol_id, payload in (("/delete/0.1", b"a\nb"), ("/delete/0.2", b'{"Name":"a\\nb"}')):
        refused_for(protocol_id, payload, "control character")
    huge = _info(1, "x" * (1 << 20))
    with pytest.raises(RequestTooLarge):
        trio.run(functools.partial(library.add_service, boot, psk, "huge", huge, if_revision=0))
    for protocol_id in ("/add/0.1", "/add/0.2"):  # the server refuses it too, no client check
        refused_for(protocol_id, b'{"Name":"huge","InfoStr":"' + b"x" * (1 << 20) + b'"}',
                    f"exceeds {MAX_REQUEST_BYTES} bytes")
    trio.run(raw, "/add/0.2", b'{"Name":"ok","InfoStr":"{}","IfRevision":0}')  # the control
    assert registry.cli("get", "ok").returncode == 0
    assert registry.cli("get", "huge").returncode == 3
    assert registry.alive()


async def test_a_node_of_ours_serving_only_the_0_1_protocols_gets_one_line_and_exit_1(tmp_path):
    """Our own libp2p node, serving only the five `/…/0.1` protocols from an in-memory
    repository: what an instance that knows no newer protocol (a Go one) offers on the wire."""
    passphrase = "0.1-only node test"
    repository = InMemoryServiceRepository()
    repository.entries["svc"] = encode_service_info(_info(3))
    handler = RegistryRequestHandler(
        repository, InMemoryClusterMembership(), RecordingMetrics()
    )
    settings = NodeSettings(
        key_pair=ephemeral_identity(), psk=psk_from_passphrase(passphrase),
        listen=["/ip4/127.0.0.1/tcp/0"],
    )
    async with running_node(settings) as node:
        Libp2pRegistryServer(handler).attach(node.host)
        await node.rendezvous.advertise(REGISTRY_RENDEZVOUS)
        from registry_process import RegistryProcess

        cli = RegistryProcess(tmp_path, passphrase=passphrase)
        cli.addrs = node.full_addrs()
        record = tmp_path / "r.json"
        record.write_text(encode_service_info(_info(4)))

        def run(*args: str):  # type: ignore[no-untyped-def]
            return trio.to_thread.run_sync(functools.partial(cli.cli, *args, timeout=90))

        for args, protocol in [
            (("watch",), "/watch/0.1"),
            (("put", "svc", str(record)), "/add/0.2"),
            (("delete", "svc", "--if-revision", "3"), "/delete/0.2"),
        ]:
            done = await run(*args)
            assert done.returncode == 1, (args, done.stderr)
            [line] = done.stderr.strip().splitlines()
            assert line.startswith("registry-cli: registry-service ") and line.endswith(
                f"does not speak {protocol}"), line
        got = await run("get", "svc")  # falls back to /get/0.1: the record, without a revision
        assert got.returncode == 0, got.stderr
        assert "ContentHash:    Qm3" in got.stdout and "Revision" not in got.stdout
    assert repository.entries == {"svc": encode_service_info(_info(3))}


def test_0_2_writes_obey_the_same_writers_list_as_0_1(guarded, keys, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    proc, _ = guarded
    record = tmp_path / "record.json"
    record.write_text(encode_service_info(_info(5)))
    denied = trust_cli(proc, "put", "svc", str(record), "--if-absent", keyfile=keys["outsider"])
    assert denied.returncode == 5, denied.stderr
    assert "not allowed to write" in denied.stderr and "Traceback" not in denied.stderr
    with pytest.raises(library.WriteRefused):
        library.add_service_blocking(proc.addrs, psk_from_passphrase(proc.passphrase), "svc",
                                     _info(5), if_revision=0)  # a made-up identity
    put = trust_cli(proc, "put", "svc", str(record), "--if-absent", keyfile=keys["writer"])
    assert put.returncode == 0, put.stderr
    revision = put.stdout.strip()
    gone = trust_cli(proc, "delete", "svc", "--if-revision", revision, keyfile=keys["outsider"])
    assert gone.returncode == 5, gone.stderr
    # The advice follows the key used, not the command (issue 26).
    assert f"the key used was {keys['outsider']}" in gone.stderr
    assert "no --keyfile" not in gone.stderr
    keyless = trust_cli(proc, "put", "svc", str(record))
    assert keyless.returncode == 5, keyless.stderr
    assert "(no --keyfile)" in keyless.stderr and "use that key (--keyfile FILE" in keyless.stderr
    assert f"the key used was {keys['outsider']}" in denied.stderr
    kept = trust_cli(proc, "--json", "get", "svc", keyfile=keys["outsider"])  # reads stay open
    assert kept.returncode == 0 and f'"Revision":{revision}' in kept.stdout, kept.stderr
    deleted = trust_cli(proc, "delete", "svc", "--if-revision", revision, keyfile=keys["writer"])
    assert deleted.returncode == 0, deleted.stderr
