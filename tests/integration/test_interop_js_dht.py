"""Kademlia routing and the rendezvous key across implementations: js-libp2p and ours.

The registry's discovery is go-libp2p's RoutingDiscovery: a registry-service provides
CIDv1(raw, sha2-256("registry-service")) in the DHT and clients look providers of that
key up. Here the other DHT participant is stock js-libp2p kad-dht (npm).
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import trio
from interop.js_peer import JsPeer, js_peer
from registry_process import RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import Libp2pNode, NodeSettings, running_node
from application import client as use_cases
from domain import ServiceInfo, decode_service_info, psk_from_passphrase
from domain.rendezvous import REGISTRY_RENDEZVOUS, rendezvous_cid
from domain.wire import GetResponse, encode
from entrypoints import library

PASSPHRASE = "interop passphrase"
PSK = psk_from_passphrase(PASSPHRASE)
GOLDEN = Path(__file__).parents[1] / "unit" / "golden"
# What go-libp2p's RoutingDiscovery provides for "registry-service".
GO_RENDEZVOUS_KEY = "bafkreib3awi7x6rvt6llc6uvuz7jlhlymmuzw4ke4iixjt4ieiz4yiq2xi"
INFO = ServiceInfo(content_hash="QmViaJs", docker_hash="r/x@sha256:01", cpu_req=2)


def peer_id_of(addr: str) -> str:
    return addr.rsplit("/p2p/", 1)[1]


async def js_call(js: JsPeer, op: str, **params: Any) -> dict[str, Any]:
    """A JS command without blocking trio (our in-process node must keep answering)."""
    return await trio.to_thread.run_sync(functools.partial(js.call, op, **params))


def dht_node() -> Any:
    """A plain DHT server of ours (the daemon's node stack, without the registry)."""
    settings = NodeSettings(
        key_pair=ephemeral_identity(), psk=PSK, listen=["/ip4/127.0.0.1/tcp/0"], dht_server=True
    )
    return running_node(settings)


def provider_ids(found: dict[str, Any]) -> set[str]:
    return {p["id"] for p in found["providers"]}


def test_clients_reach_the_daemon_when_a_js_node_is_the_only_bootstrap(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="libp2p")
    with js_peer(tmp_path / "js", PASSPHRASE) as js:
        registry = RegistryProcess(
            tmp_path / "registry", passphrase=PASSPHRASE, bootstraps=js.addrs
        ).start()
        try:
            daemon_id = peer_id_of(registry.addrs[0])
            # The daemon advertised itself into the JS node's DHT (an ADD_PROVIDER).
            js.wait_for_provider(REGISTRY_RENDEZVOUS, daemon_id, timeout=30)

            # The library knows only the JS node: the provider lookup goes through it.
            reply = library.add_service_blocking(js.addrs, PSK, "via-js", INFO)
            assert reply.startswith("Added {via-js: ")

            async def get_through_js() -> tuple[ServiceInfo, str, dict[str, Any]]:
                async with library.registry_client(js.addrs, PSK, attempts=2) as client:
                    info = await use_cases.get_service(client, "via-js")
                    assert client.last_provider is not None
                    connections = await js_call(js, "connections")
                    return info, str(client.last_provider.peer_id), connections

            info, answered_by, connections = trio.run(get_through_js)
            assert info == INFO
            assert answered_by == daemon_id
            # Our short-lived client offered what js-libp2p negotiates by default.
            ours = [c for c in connections["connections"] if c["peer"] != daemon_id]
            assert ours, connections
            assert {(c["encryption"], c["multiplexer"]) for c in ours} == {
                ("/noise", "/yamux/1.0.0")
            }

            # The CLI too, with the JS node as its only bootstrap.
            got = registry.cli("--json", "get", "via-js", bootstraps=js.addrs)
            assert got.returncode == 0, got.stderr
            assert decode_service_info(got.stdout.strip()) == INFO
            listed = registry.cli("--json", "list", bootstraps=js.addrs)
            assert listed.returncode == 0, listed.stderr
            assert set(json.loads(listed.stdout)) == {"via-js"}

            # The JS node re-signs its peer record soon after start-up; the daemon relays
            # the one it saw first. That older record is genuine, and must not cost
            # us the peer (py-libp2p calls it invalid; see accept_older_peer_records).
            assert not [r for r in caplog.records if "signed-record" in r.getMessage()]
        finally:
            registry.stop()


def test_js_kad_dht_finds_the_daemon_under_go_libp2p_rendezvous_key(tmp_path):
    registry = RegistryProcess(tmp_path / "registry", passphrase=PASSPHRASE).start()
    try:
        daemon = registry.addrs[0]
        with js_peer(tmp_path / "js", PASSPHRASE) as js:
            key = js.call("rendezvous_cid", namespace=REGISTRY_RENDEZVOUS)["cid"]
            assert key == rendezvous_cid(REGISTRY_RENDEZVOUS) == GO_RENDEZVOUS_KEY

            assert js.call("dial", addr=daemon)["ok"]
            found = js.wait_for_provider(REGISTRY_RENDEZVOUS, peer_id_of(daemon), timeout=20)
            assert found["cid"] == GO_RENDEZVOUS_KEY
            (record,) = [p for p in found["providers"] if p["id"] == peer_id_of(daemon)]
            # The addresses in our provider record are dialable as they are.
            assert any(a.startswith("/ip4/127.0.0.1/tcp/") for a in record["addrs"]), record
            listed = js.request(record["addrs"][0], "/list/0.1")
            assert listed["ok"], listed
    finally:
        registry.stop()


async def test_js_finds_the_daemon_through_a_dht_node_of_ours_it_alone_knows(tmp_path):
    # JS -> our DHT node <- daemon. The JS node never learns the daemon's address except
    # from the provider record our DHT node returns.
    async with dht_node() as middle:
        middle_addr = middle.full_addrs()[0]
        registry = RegistryProcess(
            tmp_path / "registry", passphrase=PASSPHRASE, bootstraps=[middle_addr]
        )
        await trio.to_thread.run_sync(registry.start)
        try:
            daemon_id = peer_id_of(registry.addrs[0])
            with js_peer(tmp_path / "js", PASSPHRASE) as js:
                assert (await js_call(js, "dial", addr=middle_addr))["ok"]
                found = await trio.to_thread.run_sync(
                    js.wait_for_provider, REGISTRY_RENDEZVOUS, daemon_id, 20.0
                )
                (record,) = [p for p in found["providers"] if p["id"] == daemon_id]
                addr = next(a for a in record["addrs"] if "/tcp/" in a)
                if "/p2p/" not in addr:
                    addr = f"{addr}/p2p/{daemon_id}"
                listed = await trio.to_thread.run_sync(
                    functools.partial(js.request, addr, "/list/0.1")
                )
                assert listed["ok"], listed
                assert json.loads(listed["reply"])["LookupOk"] is False
        finally:
            await trio.to_thread.run_sync(registry.stop)


def canned_get_response() -> tuple[str, ServiceInfo]:
    info_str = (GOLDEN / "service_info_go_test_entry.json").read_text()
    return encode(GetResponse(info_str=info_str, lookup_ok=True)).decode(), decode_service_info(
        info_str
    )


async def test_our_client_finds_a_provider_the_js_node_advertised(tmp_path):
    canned, canned_info = canned_get_response()
    with js_peer(tmp_path / "js", PASSPHRASE, canned_get=canned) as js:
        # 1. Through a DHT node of ours: JS sends it ADD_PROVIDER, our client (which
        #    knows only that node) looks the key up there and dials the JS node.
        async with dht_node() as middle:
            middle_addr = middle.full_addrs()[0]
            assert (await js_call(js, "dial", addr=middle_addr))["ok"]
            provided = await js_call(js, "provide", namespace=REGISTRY_RENDEZVOUS)
            assert provided["ok"], provided
            assert provided["cid"] == GO_RENDEZVOUS_KEY
            await _stored_provider(middle, js.peer_id)

            info = await library.get_service([middle_addr], PSK, "asked-via-our-node")
            assert info == canned_info
            assert _served(js) == "asked-via-our-node"

        # 2. With the JS node as the only bootstrap: it answers GET_PROVIDERS itself.
        info = await library.get_service(js.addrs, PSK, "asked-via-js")
        assert info == canned_info
        assert _served(js) == "asked-via-js"


async def _stored_provider(node: Libp2pNode, provider_id: str) -> None:
    with trio.fail_after(10):
        while True:
            found = await node.rendezvous.find_peers(REGISTRY_RENDEZVOUS)
            if any(str(info.peer_id) == provider_id for info in found):
                return
            await trio.sleep(0.1)


def _served(js: JsPeer) -> str:
    """The name in the next /get/0.1 request the JS peer answered (its canned record)."""
    event = js.next_event(timeout=5.0)
    assert event["event"] == "served" and event["protocol"] == "/get/0.1", event
    assert js.events.empty(), "the JS peer answered more than one request"
    return str(event["request"])
