"""adapters/http/sse_endpoint.py: `GET /v1/events` sends a large snapshot whole and in
order, a chunk of frames per body message, and keeps none of it while the listener stays."""

from __future__ import annotations

import gc
from typing import Any

import trio

from adapters.http.sse_endpoint import FIRST_EVENTS_PER_WRITE, SseEndpoint
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.first_events import SharedSnapshot
from application.http_access import HttpAccess

RECORDS = 600  # more than two chunks


async def test_a_snapshot_goes_out_a_chunk_at_a_time_and_is_not_kept() -> None:
    store = InMemoryRevisionedStore()
    for i in range(RECORDS):
        await store.put_if(f"svc-{i:03}", '{"ContentHash":"Qm"}', None)
    endpoint = SseEndpoint(HttpAccess(None, open_reads=True), store.hub, store)
    bodies: list[bytes] = []
    synced = trio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message["body"])
            if b"event: SYNCED" in message["body"]:
                synced.set()

    async def receive() -> dict[str, Any]:
        await trio.sleep_forever()
        raise AssertionError

    scope = {"type": "http", "method": "GET", "path": "/v1/events", "query_string": b"",
             "headers": []}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(endpoint, scope, receive, send)
        with trio.fail_after(10):
            await synced.wait()
        gc.collect()
        assert not any(isinstance(o, SharedSnapshot) for o in gc.get_objects())
        assert store.hub.watchers == 1  # the listener is still there
        nursery.cancel_scope.cancel()
    frames = [b.count(b"event: PUT") for b in bodies[1:]]
    assert frames == [FIRST_EVENTS_PER_WRITE, FIRST_EVENTS_PER_WRITE,
                      RECORDS - 2 * FIRST_EVENTS_PER_WRITE]
    names = [line.split(b'"Name":"')[1].split(b'"')[0].decode()
             for body in bodies for line in body.split(b"\n") if b'"Name"' in line]
    assert names == [f"svc-{i:03}" for i in range(RECORDS)]
