"""In-memory stand-ins for the announce and resolve ports (unit tests)."""

from __future__ import annotations

from collections.abc import Sequence

from application.client import ServiceNotFound
from domain.instance_verdict import Provider
from domain.service_info import ServiceInfo


class MemoryRecords:
    """RecordLookup over a dict; ``gets`` counts the registry round trips."""

    def __init__(self, records: dict[str, ServiceInfo]) -> None:
        self.records = records
        self.gets = 0

    async def get(self, name: str) -> ServiceInfo:
        self.gets += 1
        if name not in self.records:
            raise ServiceNotFound(name)
        return self.records[name]


class MemoryView:
    def __init__(self, records: dict[str, ServiceInfo]) -> None:
        self.records = records

    def lookup(self, name: str) -> ServiceInfo | None:
        return self.records.get(name)


class MemoryProviders:
    """ProviderFinder: providers by rendezvous string."""

    def __init__(self, providers: dict[str, list[Provider]] | None = None) -> None:
        self.providers = providers or {}
        self.asked: list[str] = []

    async def find_providers(self, rendezvous: str) -> list[Provider]:
        self.asked.append(rendezvous)
        return list(self.providers.get(rendezvous, []))


class MemoryPinger:
    """Pinger: each peer answers after its RTT (ns); absent peers never answer."""

    def __init__(self, rtts: dict[str, int]) -> None:
        self.rtts = rtts
        self.timeouts: list[int] = []

    async def ping_all(
        self, providers: Sequence[Provider], timeout_ns: int
    ) -> dict[str, int | None]:
        self.timeouts.append(timeout_ns)
        out: dict[str, int | None] = {}
        for p in providers:
            rtt = self.rtts.get(p.peer_id)
            out[p.peer_id] = rtt if rtt is not None and rtt <= timeout_ns else None
        return out


class MemoryAdvertiser:
    """RendezvousAdvertiser: the rendezvous strings asked for, in order (None: stopped)."""

    def __init__(self) -> None:
        self.history: list[str | None] = []

    def advertise(self, rendezvous: str | None) -> None:
        self.history.append(rendezvous)

    @property
    def current(self) -> str | None:
        return self.history[-1] if self.history else None
