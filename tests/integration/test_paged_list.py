"""`/list/0.2` against a real registry-service and etcd: pages, prefixes, concurrent writes,
bad requests, `registry-cli list --prefix`, and the fallback on an instance without it."""

from __future__ import annotations

import functools
import json

import etcd3
import pytest
import trio
from watch_helpers import _info, _psk

from adapters.etcd.watched_repository import LOAD_PAGE_KEYS
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from adapters.libp2p.registry_server import Libp2pRegistryServer
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from application import client as use_cases
from application import paged_list_client
from application.ports import RequestRejected
from application.server import RegistryRequestHandler
from domain.list_wire import MAX_PAGE_REQUEST_BYTES, PAGED_LIST_PROTOCOL, PageResponse
from domain.psk import psk_from_passphrase
from domain.rendezvous import REGISTRY_RENDEZVOUS
from domain.service_info import ServiceInfo, encode_service_info
from domain.wire import MAX_REQUEST_BYTES, decode
from entrypoints import library
from entrypoints.common.local_etcd import local_etcd

# Over twice the watched copy's load page (LOAD_PAGE_KEYS, 5 000 keys): a restart loads
# it in three Ranges.
MODERATE = 12_000
PREFIXES = ("edge-a/", "edge-b/", "core/")


def _etcd(registry) -> etcd3.Etcd3Client:  # type: ignore[no-untyped-def]
    member = local_etcd(etcd_ip=registry.ip, etcd_client_port=registry.etcd_client_port,
                        etcd_peer_port=registry.etcd_peer_port, etcd_data_dir=registry.data_dir)
    host, port = member.client_url.rsplit(":", 1)
    return etcd3.client(host=host, port=int(port), timeout=30,
                        grpc_options=[("grpc.max_receive_message_length", 64 << 20)])


def _fill(registry, count: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``count`` records straight into the daemon's etcd (as a Go writer's would be)."""
    written = {}
    client = _etcd(registry)
    try:
        for start in range(0, count, 100):
            puts = []
            for i in range(start, min(count, start + 100)):
                name = f"{PREFIXES[i % 3]}svc-{i:05d}"
                written[name] = encode_service_info(_info(i, "p" * 250))
                puts.append(client.transactions.put(name, written[name]))
            client.transaction(compare=[], success=puts, failure=[])
    finally:
        client.close()
    return written


async def _pages(registry, prefix: str, size: int) -> list[list[str]]:  # type: ignore[no-untyped-def]
    async with library.registry_client(registry.addrs, _psk(registry)) as client:
        return [[r.name for r in page]
                async for page in paged_list_client.record_pages(client, prefix, size)]


async def _wait_for(registry, name: str) -> None:  # type: ignore[no-untyped-def]
    """The copy applies changes in order: seeing the last one means it has them all."""
    with trio.fail_after(60):
        while True:
            try:
                await library.get_service(registry.addrs, _psk(registry), name)
                return
            except use_cases.ServiceNotFound:
                await trio.sleep(0.2)


def test_12000_records_page_by_prefix_exactly_and_survive_a_restart_of_the_daemon(registry):
    assert MODERATE > 2 * LOAD_PAGE_KEYS
    written = _fill(registry, MODERATE)
    trio.run(_wait_for, registry, max(written))
    for restarted in (False, True):
        for prefix in ("edge-a/", "edge-", "core/svc-0000", "nothing/"):
            expected = sorted(n for n in written if n.startswith(prefix))
            pages = trio.run(_pages, registry, prefix, 400)
            assert [n for page in pages for n in page] == expected, (prefix, restarted)
            assert all(0 < len(page) <= 400 for page in pages) or expected == []
        listed = library.list_services_blocking(registry.addrs, _psk(registry), prefix="edge-b/")
        assert listed == {n: ServiceInfo(content_hash=f"Qm{int(n[-5:])}{'p' * 250}",
                                         docker_hash=f"r/s@sha256:{int(n[-5:]):02d}",
                                         cpu_req=int(n[-5:]))
                          for n in written if n.startswith("edge-b/")}
        # /list/0.1 keeps the Go shape: one JSON object holding every record.
        whole = library.list_services_blocking(registry.addrs, _psk(registry))
        assert len(whole) == MODERATE
        if not restarted:
            registry.stop()
            registry.start()  # the copy loads from etcd a page at a time
    assert registry.alive()


def test_a_listing_across_concurrent_writes_lists_no_name_twice_and_every_steady_one(registry):
    written = _fill(registry, 600)
    trio.run(_wait_for, registry, max(written))
    names = sorted(written)
    doomed = set(names[::5])

    async def run() -> list[str]:
        seen: list[str] = []
        boot, psk = registry.addrs, _psk(registry)
        async with library.registry_client(boot, psk) as client:
            async for page in paged_list_client.record_pages(client, "", 50):
                seen += [r.name for r in page]
                # Deletes everywhere, and new names behind and ahead of the cursor.
                for name in sorted(doomed)[:5]:
                    doomed.discard(name)
                    await use_cases.delete_service(client, name)
                for fresh in (f"{seen[-1]}-new", f"{seen[0]}-new"):
                    await use_cases.add_service(client, fresh, _info(1))
        return seen

    seen = trio.run(run)
    assert len(seen) == len(set(seen)), "a name was listed twice"
    assert seen == sorted(seen)
    steady = set(names) - set(names[::5])
    assert steady <= set(seen), sorted(steady - set(seen))[:5]


def test_bad_requests_get_one_error_answer_and_the_daemon_serves_on(registry):
    _fill(registry, 30)
    boot, psk = registry.addrs, _psk(registry)

    async def ask(payload: bytes) -> bytes:
        async with library.registry_client(boot, psk, attempts=1) as client:
            return await client.request(PAGED_LIST_PROTOCOL, payload)

    for payload, reason in [
        (b"{not json", "malformed PageRequest"),
        (b'{"Limit":100000}', "Limit must be between 1 and 10000"),
        (b'{"Limit":-5}', "Limit must be between"),
        (b'{"Prefix":"a\\nb"}', "control characters"),
        (b'{"Prefix":"' + b"x" * MAX_PAGE_REQUEST_BYTES + b'"}',
         f"a /list/0.2 request is at most {MAX_PAGE_REQUEST_BYTES}"),
    ]:
        answer = json.loads(trio.run(ask, payload))
        assert list(answer) == ["Error"] and reason in answer["Error"], (payload[:40], answer)
    # Beyond every protocol's 1 MiB the stream is reset, as for the others.
    with pytest.raises(RequestRejected):
        try:
            trio.run(ask, b"x" * (MAX_REQUEST_BYTES + 1))
        except BaseExceptionGroup as group:
            from entrypoints.common.errors import single_error

            raise single_error(group) from None
    good = decode(trio.run(ask, b'{"Prefix":"core/","Limit":3}'), PageResponse)
    assert [r.name for r in good.records] == ["core/svc-00002", "core/svc-00005",
                                               "core/svc-00008"]
    assert good.next == "core/svc-00008" and good.revision > 0
    assert registry.alive()


def test_cli_list_prefix_prints_only_those_names(registry):
    written = _fill(registry, 40)
    trio.run(_wait_for, registry, max(written))
    scripted = registry.cli("--json", "list", "--prefix", "edge-a/")
    assert scripted.returncode == 0, scripted.stderr
    assert sorted(json.loads(scripted.stdout)) == sorted(
        n for n in written if n.startswith("edge-a/"))
    human = registry.cli("list", "--prefix", "core/svc-0001")
    assert human.returncode == 0, human.stderr
    assert "core/svc-00011" in human.stdout and "edge-" not in human.stdout
    assert human.stderr == ""
    none = registry.cli("list", "--prefix", "absent/")
    assert none.returncode == 0 and none.stdout.strip() == "The registry is empty."


async def test_a_node_serving_only_the_0_1_protocols_is_listed_over_0_1_with_one_line(tmp_path):
    """Our own node serving the Go original's five protocols only, as a Go instance does."""
    passphrase = "0.1-only list test"
    repository = InMemoryServiceRepository()
    for i, name in enumerate(["web-1", "web-2", "db-1"]):
        repository.entries[name] = encode_service_info(_info(i))
    handler = RegistryRequestHandler(repository, InMemoryClusterMembership(), RecordingMetrics())
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(passphrase),
                            listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(settings) as node:
        Libp2pRegistryServer(handler).attach(node.host)
        await node.rendezvous.advertise(REGISTRY_RENDEZVOUS)
        from registry_process import RegistryProcess

        cli = RegistryProcess(tmp_path, passphrase=passphrase)
        cli.addrs = node.full_addrs()
        done = await trio.to_thread.run_sync(
            functools.partial(cli.cli, "--json", "list", "--prefix", "web-", timeout=90))
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)) == ["web-1", "web-2"]
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("registry-cli: warning: registry-service ") and (
        "does not speak /list/0.2; listed the whole registry over /list/0.1" in line), line
