"""Resolve: from a service name to its live instances, ranked by measured round trip.

The record's ContentHash is the rendezvous string its instances advertise (as
PhysarumSM's proxies do); every provider found is pinged at once, with the record's
hard requirement as the ping timeout, and judged against soft and hard. A provider
record that outlived its instance finds no answer, so it is never returned as live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from domain.instance_verdict import (
    Instance,
    Provider,
    judge,
    ping_timeout_ns,
    ranked,
    usable,
)
from domain.service_info import ServiceInfo


class RecordLookup(Protocol):
    """The registry: the current record of a name (ServiceNotFound when absent)."""

    async def get(self, name: str) -> ServiceInfo: ...


class RecordView(Protocol):
    """A local copy of the registry that answers from memory (issue 23's RegistryView
    offers exactly this). None: the view holds no record of that name."""

    def lookup(self, name: str) -> ServiceInfo | None: ...


class ProviderFinder(Protocol):
    async def find_providers(self, rendezvous: str) -> list[Provider]:
        """The providers of ``rendezvous`` (go-libp2p's FindPeers), without ourselves."""
        ...


class Pinger(Protocol):
    async def ping_all(
        self, providers: Sequence[Provider], timeout_ns: int
    ) -> dict[str, int | None]:
        """Ping every provider at once (libp2p ping, connecting first if need be); by peer
        id, the round trip in ns, or None when no answer came within ``timeout_ns``."""
        ...


class NotInView(LookupError):
    """The view given holds no record of the name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no service named {name!r} in the local view of the registry")
        self.name = name


class Resolution(msgspec.Struct, frozen=True):
    """The record resolved and every instance found (unusable ones included), ranked."""

    name: str
    info: ServiceInfo
    instances: list[Instance]

    def usable(self) -> list[Instance]:
        return usable(self.instances)


async def record_of(name: str, records: RecordLookup, view: RecordView | None) -> ServiceInfo:
    if view is None:
        return await records.get(name)
    info = view.lookup(name)
    if info is None:
        raise NotInView(name)
    return info


async def resolve(
    name: str,
    records: RecordLookup,
    finder: ProviderFinder,
    pinger: Pinger,
    *,
    view: RecordView | None = None,
) -> Resolution:
    info = await record_of(name, records, view)
    providers = await finder.find_providers(info.content_hash) if info.content_hash else []
    rtts = await pinger.ping_all(providers, ping_timeout_ns(info)) if providers else {}
    instances = [
        Instance(peer_id=p.peer_id, addrs=list(p.addrs), rtt_ns=rtts.get(p.peer_id),
                 verdict=judge(rtts.get(p.peer_id), info))
        for p in providers
    ]
    return Resolution(name=name, info=info, instances=ranked(instances))


# How much longer than the limit the silent instances are given, to name the closest
# in the reason when none is usable (registry-cli instances, before it exits 7).
BEYOND_LIMIT_FACTOR = 4


async def measure_the_silent(resolution: Resolution, pinger: Pinger) -> Resolution:
    """When none is usable: ping the instances that did not answer within the limit once
    more, for up to BEYOND_LIMIT_FACTOR times it, so that the reason can say how far the
    closest one is (and one that answers within the limit this time is judged so)."""
    silent = [Provider(peer_id=i.peer_id, addrs=list(i.addrs))
              for i in resolution.instances if i.rtt_ns is None]
    if not silent or resolution.usable():
        return resolution
    limit = ping_timeout_ns(resolution.info)
    rtts = await pinger.ping_all(silent, BEYOND_LIMIT_FACTOR * limit)
    instances = [
        msgspec.structs.replace(i, rtt_ns=rtts[i.peer_id],
                                verdict=judge(rtts[i.peer_id], resolution.info))
        if i.rtt_ns is None and rtts.get(i.peer_id) is not None else i
        for i in resolution.instances
    ]
    return msgspec.structs.replace(resolution, instances=ranked(instances))


async def resolve_instances(
    name: str,
    records: RecordLookup,
    finder: ProviderFinder,
    pinger: Pinger,
    *,
    view: RecordView | None = None,
    include_unusable: bool = False,
) -> list[Instance]:
    """The instances, lowest RTT first; unusable ones only when asked for."""
    resolution = await resolve(name, records, finder, pinger, view=view)
    return resolution.instances if include_unusable else resolution.usable()
