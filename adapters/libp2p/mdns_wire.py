"""The libp2p mDNS messages (github.com/libp2p/specs, discovery/mdns.md), on dnspython.

A query asks for PTR ``_p2p._udp.local``. An answer holds that PTR, pointing at
``<peer-name>._p2p._udp.local``, and one TXT record per address, each one string
``dnsaddr=<multiaddr ending in /p2p/<peer id>>``. js-libp2p's @libp2p/mdns sends its TXT
records among the answers and reads them from answers and additionals; we do the same.
Nothing else (SRV, A) is sent or needed.
"""

from __future__ import annotations

import secrets
import string

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

from domain.bootstrap import BootstrapAddress, InvalidBootstrapAddress, parse_bootstrap

SERVICE = "_p2p._udp.local."
GROUP = "224.0.0.251"
PORT = 5353
TTL = 120
_TXT_STRING_MAX = 255  # one TXT character-string (RFC 6763 6.1)
_DNSADDR = b"dnsaddr="


def new_peer_name() -> str:
    """A random 32-character label; the spec only asks for a random DNS label."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def query() -> bytes:
    message = dns.message.make_query(SERVICE, dns.rdatatype.PTR)
    message.id = 0  # RFC 6762 18.1: multicast queries carry id 0
    message.flags = dns.flags.Flag(0)
    return message.to_wire()


def is_our_query(wire: bytes) -> bool:
    """A query whose questions include PTR _p2p._udp.local."""
    try:
        message = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError):
        return False
    if message.flags & dns.flags.QR:
        return False
    service = dns.name.from_text(SERVICE)
    return any(q.name == service and q.rdtype in (dns.rdatatype.PTR, dns.rdatatype.ANY)
               for q in message.question)


def response(peer_name: str, addresses: list[str]) -> bytes:
    """Our answer: the PTR, then one TXT per address (each ending in /p2p/<peer id>)."""
    message = dns.message.Message(id=0)
    message.flags = dns.flags.QR | dns.flags.AA
    instance = f"{peer_name}.{SERVICE}"
    message.answer.append(dns.rrset.from_text(SERVICE, TTL, "IN", "PTR", instance))
    txt = dns.rrset.RRset(dns.name.from_text(instance), dns.rdataclass.IN, dns.rdatatype.TXT)
    for address in addresses:
        value = _DNSADDR + address.encode()
        if len(value) <= _TXT_STRING_MAX:
            txt.add(TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [value]), TTL)
    message.answer.append(txt)
    return message.to_wire()


def peers_in_response(wire: bytes) -> list[BootstrapAddress]:
    """Every ``dnsaddr`` address (with a peer id) of a libp2p mDNS answer; [] otherwise."""
    try:
        message = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError):
        return []
    service = dns.name.from_text(SERVICE)
    if not message.flags & dns.flags.QR or not any(
        r.name == service and r.rdtype == dns.rdatatype.PTR for r in message.answer
    ):
        return []
    found: dict[BootstrapAddress, None] = {}
    for rrset in [*message.answer, *message.additional]:
        if rrset.rdtype != dns.rdatatype.TXT:
            continue
        for rdata in rrset:
            for string_ in rdata.strings:
                if not string_.startswith(_DNSADDR):
                    continue
                try:
                    found.setdefault(parse_bootstrap(string_[len(_DNSADDR):].decode()), None)
                except (InvalidBootstrapAddress, UnicodeDecodeError):
                    continue
    return list(found)
