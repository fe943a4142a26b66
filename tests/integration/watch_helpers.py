"""Helpers shared by the watch and conditional-write tests."""

from __future__ import annotations

import trio
from registry_process import RegistryProcess

from domain import ServiceInfo, psk_from_passphrase
from domain.watch_wire import EventType, WatchEvent

EVENT_WAIT = 20.0  # generous: the machine is shared; a lost event fails after this


def _info(n: int, padding: str = "") -> ServiceInfo:
    return ServiceInfo(content_hash=f"Qm{n}{padding}", docker_hash=f"r/s@sha256:{n:02d}", cpu_req=n)


def _psk(registry: RegistryProcess) -> bytes:
    assert registry.passphrase is not None
    return psk_from_passphrase(registry.passphrase)


async def _take(events, count: int, *, skip_progress: bool = True) -> list[WatchEvent]:  # type: ignore[no-untyped-def]
    got: list[WatchEvent] = []
    with trio.fail_after(EVENT_WAIT):
        async for event in events:
            if skip_progress and event.type is EventType.PROGRESS:
                continue
            got.append(event)
            if len(got) == count:
                return got
    raise AssertionError(f"the watch ended after {got}")


def _summary(events: list[WatchEvent]) -> list[tuple[str, str | None]]:
    return [(str(e.type), e.name) for e in events]
