"""Whether this instance's etcd peers use mutual TLS, and what is refused or warned about."""

from __future__ import annotations

import ipaddress

from application.cluster.member_start import StartupError


def peer_tls_wanted(
    *, psk: bytes | None, etcd_ip: str, insecure_etcd: bool, plaintext_peers: bool
) -> tuple[bool, str | None]:
    """(peer TLS on?, a loud warning to log or None); StartupError for a refused combination.

    Without a passphrase there is no key to derive certificates from, so the
    peer port is open to whoever reaches it: only on loopback unless the
    operator says ``--insecure-etcd``.
    """
    if psk is None:
        if not _is_loopback(etcd_ip) and not insecure_etcd:
            raise StartupError(
                f"--etcd-ip {etcd_ip} is reachable from other hosts, and without a passphrase "
                "etcd's peer port is open to all of them; give --psk, or pass --insecure-etcd"
            )
        return False, (
            "ETCD IS OPEN: no passphrase, so etcd's peer port "
            f"{etcd_ip} takes anyone who reaches it (plaintext, no authentication)"
        )
    if plaintext_peers:
        return False, (
            "ETCD PEERS IN PLAINTEXT (--etcd-plaintext-peers): whoever reaches "
            f"{etcd_ip}'s peer port can read and rewrite the registry"
        )
    return True, None


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False  # not an IP: etcd refuses it later with its own message
