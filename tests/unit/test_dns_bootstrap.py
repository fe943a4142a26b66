"""adapters/libp2p/dns_bootstrap.py: bootstraps named by a host name are dialled."""

from __future__ import annotations

import pytest

from adapters.libp2p.dns_bootstrap import UnresolvableBootstrap, dialable_addrs


async def test_an_ip_address_is_dialled_as_given() -> None:
    assert [str(a) for a in await dialable_addrs("/ip4/10.1.2.3/tcp/4001")] == [
        "/ip4/10.1.2.3/tcp/4001"]


async def test_dns4_is_resolved_by_the_system_resolver_hosts_file_included() -> None:
    assert [str(a) for a in await dialable_addrs("/dns4/localhost/tcp/4001")] == [
        "/ip4/127.0.0.1/tcp/4001"]


async def test_dns_gives_every_address_of_the_name_once() -> None:
    addrs = [str(a) for a in await dialable_addrs("/dns/127.0.0.1/tcp/9")]
    assert addrs == ["/ip4/127.0.0.1/tcp/9"]


async def test_a_name_that_does_not_resolve_says_so() -> None:
    # A numeric IPv6 address asked for as IPv4: refused by getaddrinfo without any lookup.
    with pytest.raises(UnresolvableBootstrap, match="cannot resolve '::1'"):
        await dialable_addrs("/dns4/::1/tcp/4001")
