"""resolve_instances: a service's live instances, ranked by measured RTT (re-exported by
entrypoints.library).

Each :class:`Instance` has ``peer_id``, ``addrs``, ``rtt_ns`` (None: no answer) and a
``verdict``: good (within NetworkSoftReq), slow (within NetworkHardReq), unusable (above
hard, or no answer within it; left out unless ``include_unusable``). ``view``: any
object with ``lookup(name) -> ServiceInfo | None`` (RegistryView): the record then
comes from memory, with no registry round trip.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio
from libp2p.abc import IHost

from adapters.libp2p.instance_routing import DhtProviderFinder
from adapters.libp2p.pinger import Libp2pPinger
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application import client as use_cases
from application import resolve as use_case
from application.resolve import RecordView, Resolution
from domain.instance_verdict import Instance
from domain.service_info import ServiceInfo
from entrypoints.library.client_node import Routing, _client_for, _with_client

Bootstraps = Sequence[Any]


class _ClientRecords:
    def __init__(self, client: Libp2pRegistryClient) -> None:
        self.client = client

    async def get(self, name: str) -> ServiceInfo:
        return await use_cases.get_service(self.client, name)


async def _resolve(client: Libp2pRegistryClient, host: IHost, name: str,
                   view: RecordView | None, measure_silent: bool = False) -> Resolution:
    pinger = Libp2pPinger(host)
    resolution = await use_case.resolve(
        name, _ClientRecords(client), DhtProviderFinder(client.rendezvous), pinger, view=view,
    )
    if measure_silent:
        resolution = await use_case.measure_the_silent(resolution, pinger)
    return resolution


async def resolve_service_with_host_routing(
    host: IHost, routing: Routing, name: str, *, view: RecordView | None = None
) -> Resolution:
    """The record and every instance found, unusable ones included (``.usable()``)."""
    return await _resolve(_client_for(host, routing), host, name, view)


async def resolve_service(
    bootstraps: Bootstraps, psk: bytes | None, name: str, *,
    view: RecordView | None = None, keyfile: str | Path | None = None,
    instance: str | None = None, measure_silent: bool = False,
) -> Resolution:
    """``measure_silent``: when none is usable, give the silent instances up to
    4 times the limit, to name the closest in the reason (``registry-cli instances``)."""
    return await _with_client(  # type: ignore[no-any-return]
        bootstraps, psk,
        lambda c: _resolve(c, c.rendezvous.dht.host, name, view, measure_silent),
        keyfile, instance,
    )


async def resolve_instances_with_host_routing(
    host: IHost, routing: Routing, name: str, *,
    include_unusable: bool = False, view: RecordView | None = None,
) -> list[Instance]:
    resolution = await resolve_service_with_host_routing(host, routing, name, view=view)
    return resolution.instances if include_unusable else resolution.usable()


async def resolve_instances(
    bootstraps: Bootstraps, psk: bytes | None, name: str, *,
    include_unusable: bool = False, view: RecordView | None = None,
    keyfile: str | Path | None = None,
) -> list[Instance]:
    """From a short-lived node of our own (see the module for the rest)."""
    resolution = await resolve_service(bootstraps, psk, name, view=view, keyfile=keyfile)
    return resolution.instances if include_unusable else resolution.usable()


def resolve_instances_blocking(
    bootstraps: Bootstraps, psk: bytes | None, name: str, **options: Any
) -> list[Instance]:
    return trio.run(functools.partial(resolve_instances, bootstraps, psk, name, **options))
