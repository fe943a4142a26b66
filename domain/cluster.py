"""etcd cluster membership as the Go original names and strings it."""

from __future__ import annotations

import msgspec


class EtcdMember(msgspec.Struct, frozen=True):
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...] = ()
    member_id: int = 0
    is_learner: bool = False  # a non-voting member (etcd >= 3.4), e.g. one still catching up

    @property
    def started(self) -> bool:
        """etcd names a member only once its process has started and published itself."""
        return bool(self.name)


class EtcdEndpoint(msgspec.Struct, frozen=True):
    """Where this instance's etcd member listens (``--etcd-ip`` and the two ports).

    ``peer_tls``: peers talk mutual TLS (``https://`` peer URL).
    """

    ip: str = "127.0.0.1"
    client_port: int = 2379
    peer_port: int = 2380
    peer_tls: bool = False

    @property
    def member_name(self) -> str:
        return f"{self.ip}-{self.client_port}-{self.peer_port}"

    @property
    def tcp_client_url(self) -> str:
        """Client URL on the IP, for plain etcd members (tests). A registry-service's member
        listens on a unix socket instead: see entrypoints/local_etcd.py."""
        return f"http://{self._host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        scheme = "https" if self.peer_tls else "http"
        return f"{scheme}://{self._host}:{self.peer_port}"

    @property
    def _host(self) -> str:
        return f"[{self.ip}]" if ":" in self.ip else self.ip


def initial_cluster(members: list[EtcdMember], new_name: str = "") -> str:
    """``a=http://10.0.0.1:2380,b=...``; a just-added member has no name yet."""
    parts: list[str] = []
    for member in members:
        name = member.name or new_name
        parts.extend(f"{name}={url}" for url in member.peer_urls)
    return ",".join(parts)
