"""Why registry-service does not use py-libp2p 0.8.1's libp2p.discovery.mdns (README).

Each test pins one upstream behaviour that keeps it from talking to js-libp2p's
@libp2p/mdns (measured in docs/interop.md). When one fails, upstream changed: check whether
its mDNS now interoperates, and whether ours (adapters/libp2p/mdns_*.py) can go.
"""

from __future__ import annotations

import inspect

from libp2p.discovery.mdns.broadcaster import PeerBroadcaster
from libp2p.discovery.mdns.listener import PeerListener
from zeroconf import ServiceInfo

PEER = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"


def test_upstream_names_its_second_address_dnsaddr2_which_js_libp2p_ignores() -> None:
    # The spec: every TXT string is "dnsaddr=<multiaddr>"; js-libp2p reads only those.
    broadcaster = PeerBroadcaster.__new__(PeerBroadcaster)
    properties = broadcaster._build_txt_properties(
        ["/ip4/10.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1"], [], 1, PEER)
    assert sorted(properties) == [b"dnsaddr", b"dnsaddr2"]


def test_upstream_reads_txt_through_zeroconf_which_keeps_one_dnsaddr_of_several() -> None:
    # js-libp2p sends one "dnsaddr=" string per address; zeroconf's properties dict keeps
    # the first only, so py-libp2p learns one address of a js peer (maybe its loopback).
    first, second = b"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/x", b"dnsaddr=/ip4/10.0.0.2/tcp/1/p2p/x"
    raw = bytes([len(first)]) + first + bytes([len(second)]) + second
    info = ServiceInfo("_p2p._udp.local.", "x._p2p._udp.local.", properties=raw)
    assert info.properties == {b"dnsaddr": b"/ip4/10.0.0.1/tcp/1/p2p/x"}


def test_upstream_waits_for_a_full_service_info_that_js_libp2p_never_sends() -> None:
    # js-libp2p answers with PTR and TXT only: no SRV, no A. py-libp2p's listener asks
    # zeroconf for the whole ServiceInfo (SRV + TXT + addresses) with a 5 s timeout and
    # 3 attempts, blocking zeroconf's thread, then gives up on the peer.
    source = inspect.getsource(PeerListener._get_service_info_with_retry)
    assert "zc.get_service_info(type_, name, timeout=5000)" in source
    assert "time.sleep(delay)" in source
