"""The one line a client gets when none of its bootstraps could be used."""

from __future__ import annotations

from adapters.libp2p.dial_failure import WrongPrivateNetwork
from adapters.libp2p.pnet import PrivateNetworkMismatch
from domain.bootstrap import parse_bootstrap
from entrypoints.library.client_node import _unreachable

PEER = "/ip4/192.0.2.7/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ"


def test_a_stranger_found_by_mdns_is_not_blamed_on_the_passphrase_alone() -> None:
    failures = {parse_bootstrap(PEER): PrivateNetworkMismatch(
        "the peer is not in our private network: different passphrase/PSK")}
    given = _unreachable(failures, without_psk=False)
    found = _unreachable(failures, without_psk=False, found_by_mdns=True)
    assert isinstance(given, WrongPrivateNetwork) and isinstance(found, WrongPrivateNetwork)
    assert str(given).startswith("the bootstrap peers are in a different private network")
    assert "mDNS" not in str(given)
    assert str(found).startswith("the peers found on the LAN by mDNS are in a different "
                                 "private network (or other libp2p software")
    assert "--bootstrap" in str(found) and "check the passphrase" in str(found)


def test_no_connection_to_a_peer_found_by_mdns_says_where_it_came_from() -> None:
    failures = {parse_bootstrap(PEER): OSError("connection refused")}
    found = _unreachable(failures, without_psk=False, found_by_mdns=True)
    assert str(found).startswith("could not connect to any peer found on the LAN by mDNS")
    assert "connection refused" in str(found)
