"""Prometheus service discovery: every instance's metrics address, in http_sd_config format.

Each instance reports its own metrics address in its status (``/status/0.1``), so
one scrape job pointed at any instance finds all of those that answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from domain.instance_status import InstanceStatus


class TargetGroup(msgspec.Struct, frozen=True):
    """One entry of Prometheus's http_sd_config answer."""

    targets: list[str]
    labels: dict[str, str]


def advertised_metrics_address(host: str, port: int, instance_ip: str) -> str:
    """``host:port`` others can scrape: a wildcard bind is advertised as the instance's IP."""
    if host in ("", "0.0.0.0", "::"):
        host = instance_ip
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


async def prometheus_targets(
    own: Callable[[], Awaitable[InstanceStatus]],
    others: Callable[[InstanceStatus], Awaitable[Sequence[InstanceStatus]]],
) -> list[TargetGroup]:
    """This instance and every other that answers, each once, by etcd member name."""
    first = await own()
    by_peer: dict[str, InstanceStatus] = {first.peer_id: first}
    for status in await others(first):
        by_peer.setdefault(status.peer_id, status)
    return [
        TargetGroup(
            targets=[status.metrics],
            labels={"registry_peer_id": status.peer_id, "registry_member": status.member},
        )
        for status in sorted(by_peer.values(), key=lambda s: s.member)
        if status.metrics
    ]
