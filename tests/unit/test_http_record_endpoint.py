"""`GET /v1/services/{name}` served by the bare ASGI handler (adapters/http/record_endpoint.py):
every behaviour docs/http.md gives a single record, over in-memory fakes; and the wait
of a blocking query (adapters/http/wakeup.py)."""

from __future__ import annotations

import httpx
import trio

from adapters.http.app import HttpParts, build_app
from adapters.http.asgi import Receive
from adapters.http.wakeup import Waited, Wakeup
from adapters.memory.http import ListingStore, MemoryHttpWrites, MemoryTokens
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.revisioned import InMemoryRevisionedStore
from application.cluster.quorum import QuorumStatus
from application.http_access import HttpAccess
from application.http_health import Health
from application.http_registry import HttpRegistry
from domain.http_token import TokenRole

RECORD = '{"ContentHash":"QmA","CpuReq":1}'


def _app(store: InMemoryRevisionedStore, *, open_reads: bool = True,
         quorum: QuorumStatus | None = None):  # type: ignore[no-untyped-def]
    tokens = MemoryTokens()
    tokens.add("reader", TokenRole.READ, "read-token")
    registry = HttpRegistry(ListingStore(store), store, store.hub, store,  # type: ignore[arg-type]
                            RecordingMetrics(), MemoryHttpWrites(),
                            local_reads=ListingStore(store),  # type: ignore[arg-type]
                            quorum=quorum)

    async def healthy() -> Health:
        return Health.OK

    return build_app(HttpParts(
        registry=registry, access=HttpAccess(tokens, open_reads=open_reads), hub=store.hub,
        history=store, status=None, health=healthy, targets=None))  # type: ignore[arg-type]


def _client(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")


async def test_a_record_is_its_stored_json_with_index_revision_and_etag():
    store = InMemoryRevisionedStore()
    outcome = await store.put_if("web", RECORD, None)
    async with _client(_app(store)) as client:
        got = await client.get("/v1/services/web")
        head = await client.head("/v1/services/web")
    assert got.status_code == 200 and got.content == RECORD.encode()
    assert got.headers["content-type"] == "application/json"
    assert got.headers["X-Registry-Revision"] == str(outcome.revision)
    assert got.headers["ETag"] == f'"{outcome.revision}"'
    assert int(got.headers["X-Registry-Index"]) >= outcome.revision
    assert "X-Registry-Stale" not in got.headers
    assert head.status_code == 200 and head.headers["ETag"] == got.headers["ETag"]
    assert head.headers["content-length"] == str(len(RECORD))


async def test_its_etag_answers_304_without_a_body_until_it_changes():
    store = InMemoryRevisionedStore()
    await store.put_if("web", RECORD, None)
    async with _client(_app(store)) as client:
        etag = (await client.get("/v1/services/web")).headers["ETag"]
        same = await client.get("/v1/services/web", headers={"If-None-Match": etag})
        await store.put_if("web", '{"ContentHash":"QmB"}', None)
        changed = await client.get("/v1/services/web", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert "content-type" not in same.headers and same.headers["ETag"] == etag
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


async def test_errors_are_json_with_their_status():
    store = InMemoryRevisionedStore()
    await store.put_if("broken", "not json", None)
    async with _client(_app(store)) as client:
        missing = await client.get("/v1/services/nobody")
        unreadable = await client.get("/v1/services/broken")
        bad_index = await client.get("/v1/services/web", params={"index": "-1"})
        bad_wait = await client.get("/v1/services/web", params={"index": "1", "wait": "soon"})
        bad_name = await client.get("/v1/services/")
        bad_token = await client.get("/v1/services/web", headers={"Authorization": "Bearer x"})
    assert missing.status_code == 404
    assert missing.json() == {"Error": "no service named 'nobody'"}
    assert "X-Registry-Index" in missing.headers
    assert unreadable.status_code == 422 and "not a JSON object" in unreadable.json()["Error"]
    assert bad_index.status_code == 400 and "index" in bad_index.json()["Error"]
    assert bad_wait.status_code == 400 and "wait" in bad_wait.json()["Error"]
    assert bad_name.status_code == 400 and set(bad_name.json()) == {"Error"}
    assert bad_token.status_code == 401
    assert bad_token.headers["WWW-Authenticate"] == 'Bearer realm="registry"'


async def test_reads_need_a_token_when_reads_are_not_open():
    store = InMemoryRevisionedStore()
    await store.put_if("web", RECORD, None)
    async with _client(_app(store, open_reads=False)) as client:
        anonymous = await client.get("/v1/services/web")
        reader = await client.get("/v1/services/web",
                                  headers={"Authorization": "Bearer read-token"})
    assert anonymous.status_code == 401 and reader.status_code == 200


async def test_an_answer_without_quorum_says_it_is_stale():
    store = InMemoryRevisionedStore()
    await store.put_if("web", RECORD, None)
    quorum = QuorumStatus()
    quorum.lost = True
    async with _client(_app(store, quorum=quorum)) as client:
        got = await client.get("/v1/services/web")
    assert got.status_code == 200 and got.headers["X-Registry-Stale"] == "true"


async def test_a_blocking_query_answers_the_change_that_passes_its_index():
    store = InMemoryRevisionedStore()
    first = (await store.put_if("web", RECORD, None)).revision
    async with _client(_app(store)) as client, trio.open_nursery() as nursery:
        answers: list[httpx.Response] = []

        async def park() -> None:
            answers.append(await client.get("/v1/services/web",
                                            params={"index": first, "wait": "10s"}))

        nursery.start_soon(park)
        await trio.sleep(0.2)
        await store.put_if("other", RECORD, None)  # another name: still parked
        await trio.sleep(0.2)
        assert not answers and store.hub.watchers == 1
        second = (await store.put_if("web", '{"ContentHash":"QmB"}', None)).revision
    assert answers[0].json() == {"ContentHash": "QmB"}
    assert answers[0].headers["X-Registry-Revision"] == str(second)
    assert store.hub.watchers == 0


async def test_the_wait_tells_news_timeout_and_a_gone_client_apart():
    async def silent() -> dict[str, object]:
        await trio.sleep_forever()
        raise AssertionError

    messages = [{"type": "http.request", "body": b"", "more_body": False},
                {"type": "http.disconnect"}]

    async def disconnects() -> dict[str, object]:
        await trio.sleep(0.01)
        return messages.pop(0)

    wakeup = Wakeup({})  # a server without our WAKE extension: woken by a cancellation
    assert await wakeup.wait(silent, 0.05) is Waited.TIMEOUT
    wakeup.wake()  # news that came while nobody waited is not lost
    assert await wakeup.wait(silent, 10) is Waited.NEWS

    await woken_while_waiting(wakeup, silent)
    assert await wakeup.wait(disconnects, 10) is Waited.GONE


async def woken_while_waiting(wakeup: Wakeup, receive: Receive) -> None:
    """A wake 50 ms into a wait ends that wait with NEWS."""

    async def wake_soon() -> None:
        await trio.sleep(0.05)
        wakeup.wake()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wake_soon)
        with trio.fail_after(5):
            assert await wakeup.wait(receive, 10) is Waited.NEWS


async def test_the_wait_through_our_servers_wake_extension():
    from adapters.http.asgi import WAKE
    from adapters.http.connection import _Inbox

    inbox = _Inbox()
    wakeup = Wakeup({"extensions": {WAKE: inbox.wake}})
    await inbox.put({"type": "http.request", "body": b"", "more_body": False})
    assert await wakeup.wait(inbox.receive, 0.05) is Waited.TIMEOUT  # the body is skipped

    await woken_while_waiting(wakeup, inbox.receive)
    inbox.wake()  # a wake left over (no news behind it) is no news
    assert await wakeup.wait(inbox.receive, 0.05) is Waited.TIMEOUT
    await inbox.put({"type": "http.disconnect"})
    assert await wakeup.wait(inbox.receive, 10) is Waited.GONE


async def test_a_bad_events_revision_is_named_as_the_client_gave_it():
    """/v1/events (adapters/http/sse_endpoint.py): the error names ?index= or the
    Last-Event-ID header, whichever carried the bad value."""
    async with _client(_app(InMemoryRevisionedStore())) as client:
        by_query = await client.get("/v1/events", params={"index": "abc"})
        by_header = await client.get("/v1/events", headers={"Last-Event-ID": "-4"})
    assert by_query.status_code == 400
    assert by_query.json() == {"Error": "index must be an integer >= 0, got 'abc'"}
    assert by_header.status_code == 400
    assert by_header.json() == {"Error": "Last-Event-ID must be an integer >= 0, got '-4'"}
