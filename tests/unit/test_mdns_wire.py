"""The libp2p mDNS messages (adapters/libp2p/mdns_wire.py) and which address a client dials."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

from adapters.libp2p.mdns_browser import _best_per_peer
from adapters.libp2p.mdns_wire import (
    SERVICE,
    is_our_query,
    new_peer_name,
    peers_in_response,
    query,
    response,
)
from domain.bootstrap import BootstrapAddress

PEER = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
OTHER = "12D3KooWK6HCEsGdx7gdjidsYKGZswPLU176HSaApJmLFgP5vnqD"


def test_our_query_asks_ptr_p2p_udp_local_with_id_0() -> None:
    message = dns.message.from_wire(query())
    assert message.id == 0
    assert not message.flags & dns.flags.QR
    [question] = message.question
    assert (question.name.to_text(), question.rdtype) == (SERVICE, dns.rdatatype.PTR)
    assert is_our_query(query())


def test_other_queries_and_answers_are_not_ours() -> None:
    assert not is_our_query(dns.message.make_query("_http._tcp.local.", "PTR").to_wire())
    assert not is_our_query(response("x", [f"/ip4/10.0.0.1/tcp/1/p2p/{PEER}"]))
    assert not is_our_query(b"\x00garbage")


def test_our_answer_is_a_ptr_and_one_dnsaddr_txt_string_per_address() -> None:
    addrs = [f"/ip4/10.0.0.1/tcp/4001/p2p/{PEER}", f"/ip4/127.0.0.1/tcp/4001/p2p/{PEER}"]
    message = dns.message.from_wire(response("abc", addrs))
    assert message.flags & dns.flags.QR and message.flags & dns.flags.AA
    ptr = next(r for r in message.answer if r.rdtype == dns.rdatatype.PTR)
    assert ptr.name.to_text() == SERVICE
    assert [r.target.to_text() for r in ptr] == [f"abc.{SERVICE}"]
    txt = next(r for r in message.answer if r.rdtype == dns.rdatatype.TXT)
    assert txt.name.to_text() == f"abc.{SERVICE}"
    # One string per TXT record, each "dnsaddr=<multiaddr>" (what js-libp2p reads); no
    # "dnsaddr2=" keys as py-libp2p's broadcaster writes.
    assert sorted(s for r in txt for s in r.strings) == sorted(
        b"dnsaddr=" + a.encode() for a in addrs)
    assert sorted(map(str, peers_in_response(response("abc", addrs)))) == sorted(addrs)


def test_an_address_too_long_for_one_txt_string_is_left_out() -> None:
    long = f"/dns4/{'a' * 200}.local/tcp/1/p2p/{PEER}"
    short = f"/ip4/10.0.0.1/tcp/1/p2p/{PEER}"
    assert [str(a) for a in peers_in_response(response("abc", [long, short]))] == [short]


def test_a_js_style_answer_with_txt_in_additionals_is_read() -> None:
    message = dns.message.Message(id=0)
    message.flags = dns.flags.QR | dns.flags.AA
    message.answer.append(dns.rrset.from_text(SERVICE, 120, "IN", "PTR", f"js.{SERVICE}"))
    txt = dns.rrset.RRset(dns.name.from_text(f"js.{SERVICE}"), dns.rdataclass.IN,
                          dns.rdatatype.TXT)
    for text in (b"dnsaddr=/ip4/10.0.0.9/tcp/5/p2p/" + OTHER.encode(), b"other=1",
                 b"dnsaddr=not a multiaddr"):
        txt.add(TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [text]), 120)
    message.additional.append(txt)
    assert peers_in_response(message.to_wire()) == [
        BootstrapAddress(transport="/ip4/10.0.0.9/tcp/5", peer_id=OTHER)]


def test_answers_without_our_ptr_and_garbage_give_nothing() -> None:
    message = dns.message.Message(id=0)
    message.flags = dns.flags.QR
    txt = dns.rrset.RRset(dns.name.from_text("x.local."), dns.rdataclass.IN, dns.rdatatype.TXT)
    txt.add(TXT(dns.rdataclass.IN, dns.rdatatype.TXT,
                [b"dnsaddr=/ip4/10.0.0.9/tcp/5/p2p/" + OTHER.encode()]), 120)
    message.answer.append(txt)
    assert peers_in_response(message.to_wire()) == []
    assert peers_in_response(query()) == []
    assert peers_in_response(b"\xff" * 40) == []


def test_peer_names_are_random_dns_labels() -> None:
    names = {new_peer_name() for _ in range(50)}
    assert len(names) == 50
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789")
    assert all(len(n) <= 63 and set(n) <= allowed for n in names)


def test_the_client_dials_the_senders_address_first_and_loopback_last() -> None:
    addrs = [BootstrapAddress(f"/ip4/{ip}/tcp/1", PEER)
             for ip in ("127.0.0.1", "172.17.0.5", "10.77.0.1")]
    assert _best_per_peer(addrs, "10.77.0.1") == [(PEER, addrs[2])]
    [(_, chosen)] = _best_per_peer(addrs, "192.168.9.9")
    assert chosen != addrs[0]
    assert _best_per_peer(addrs[:1], "10.77.0.1") == [(PEER, addrs[0])]
    # What a client cannot dial over TCP/IPv4 is not offered.
    assert _best_per_peer([BootstrapAddress("/ip4/10.0.0.1/udp/1/quic-v1", PEER)], "x") == []
