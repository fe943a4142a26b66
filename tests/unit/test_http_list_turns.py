"""adapters/http/in_turn.py: `GET /v1/services` answers (each the whole registry) are made
and sent at most LISTS_AT_ONCE at a time; the others wait, and other routes do not."""

from __future__ import annotations

import httpx
import trio
from held_calls import HeldCalls

from adapters.http.app import LISTS_AT_ONCE, HttpParts, build_app
from adapters.memory.http import ListingStore, MemoryHttpWrites, MemoryTokens
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.http_access import HttpAccess
from application.http_health import Health
from application.http_registry import HttpRegistry

RECORD = '{"ContentHash":"QmA","CpuReq":1}'


class SlowListing(ListingStore):
    def __init__(self, store: InMemoryRevisionedStore) -> None:
        super().__init__(store)
        self.held = HeldCalls()

    async def list(self) -> dict[str, str]:
        return await self.held.hold(super().list)


async def test_whole_lists_take_turns_and_a_record_does_not_wait() -> None:
    store = InMemoryRevisionedStore()
    await store.put_if("svc", RECORD, None)
    listing = SlowListing(store)
    registry = HttpRegistry(listing, store, store.hub, store,  # type: ignore[arg-type]
                            RecordingMetrics(), MemoryHttpWrites())

    async def healthy() -> Health:
        return Health.OK

    app = build_app(HttpParts(
        registry=registry, access=HttpAccess(MemoryTokens(), open_reads=True), hub=store.hub,
        history=store, status=None, health=healthy, targets=None))  # type: ignore[arg-type]
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://r") as client:

        async def list_once() -> None:
            answers.append(await client.get("/v1/services"))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(LISTS_AT_ONCE + 3):
                    nursery.start_soon(list_once)
                while listing.held.now < LISTS_AT_ONCE:
                    await trio.sleep(0.01)
                await trio.sleep(0.2)  # time for any more to start, were they allowed to
                assert listing.held.now == LISTS_AT_ONCE
                record = await client.get("/v1/services/svc")  # not held up
                assert record.status_code == 200
                listing.held.release.set()
    assert listing.held.most == LISTS_AT_ONCE
    assert [a.status_code for a in answers] == [200] * (LISTS_AT_ONCE + 3)
    assert all(a.json() == {"svc": {"ContentHash": "QmA", "CpuReq": 1}} for a in answers)
