"""Announce and resolve with stock js-libp2p as the stand-in for Go proxies.

A PhysarumSM proxy advertises a record's ContentHash with go-libp2p's RoutingDiscovery
and finds instances with FindPeers, then pings them. js-libp2p's kad-dht computes the
same key (CIDv1(raw, sha2-256(ContentHash))) and speaks the same DHT and ping wire.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import trio
from interop.js_peer import JsPeer, js_peer
from registry_process import RegistryProcess

from domain import PerfInd, ServiceInfo, psk_from_passphrase
from domain.instance_verdict import Verdict
from domain.rendezvous import rendezvous_cid
from entrypoints import library

PASSPHRASE = "interop passphrase"
PSK = psk_from_passphrase(PASSPHRASE)
CONTENT_HASH = "QmInstancesAcrossImplementations"
INFO = ServiceInfo(content_hash=CONTENT_HASH, network_soft_req=PerfInd.from_millis(200),
                   network_hard_req=PerfInd.from_millis(1000))


async def js_call(js: JsPeer, op: str, **params: Any) -> dict[str, Any]:
    return await trio.to_thread.run_sync(functools.partial(js.call, op, **params))


async def test_js_provider_is_ranked_and_js_find_providers_finds_our_instance(tmp_path):
    registry = RegistryProcess(tmp_path / "registry", passphrase=PASSPHRASE).start()
    try:
        await library.add_service(registry.addrs, PSK, "svc", INFO)
        with js_peer(tmp_path / "js", PASSPHRASE) as js:
            assert (await js_call(js, "dial", addr=registry.addrs[0]))["ok"]
            # js-libp2p: contentRouting.provide of the ContentHash's rendezvous CID.
            provided = await js_call(js, "provide", namespace=CONTENT_HASH)
            assert provided["ok"], provided
            assert provided["cid"] == rendezvous_cid(CONTENT_HASH)

            async with library.announce_instance(
                registry.addrs, PSK, "svc", listen=["/ip4/127.0.0.1/tcp/0"]
            ) as ours:
                every = await library.resolve_instances(registry.addrs, PSK, "svc",
                                                        include_unusable=True)
                ranked = {i.peer_id: i for i in every}
                assert set(ranked) == {js.peer_id, ours.peer_id}, every
                assert ranked[js.peer_id].verdict is Verdict.GOOD
                assert ranked[js.peer_id].rtt_ns is not None  # js-libp2p answered our ping
                assert [i.rtt_ns for i in every] == sorted(i.rtt_ns for i in every)  # type: ignore[type-var]

                # js-libp2p's findProviders (what a Go proxy's FindPeers does) finds ours,
                # at an address it can dial, and our instance answers its ping.
                found = await trio.to_thread.run_sync(functools.partial(
                    js.wait_for_provider, CONTENT_HASH, ours.peer_id, timeout=20))
                (record,) = [p for p in found["providers"] if p["id"] == ours.peer_id]
                addr = next(a for a in record["addrs"] if a.startswith("/ip4/127.0.0.1/"))
                if "/p2p/" not in addr:
                    addr = f"{addr}/p2p/{ours.peer_id}"
                payload = os.urandom(16).hex()  # 32 bytes, as libp2p ping sends
                pong = await trio.to_thread.run_sync(functools.partial(
                    js.request, addr, "/ipfs/ping/1.0.0", payload))
                assert pong["ok"], pong
                assert pong["protocol"] == "/ipfs/ping/1.0.0" and pong["reply"] == payload
    finally:
        registry.stop()
