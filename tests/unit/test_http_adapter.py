"""The HTTP adapter's pure parts: query parameters and SSE framing."""

from __future__ import annotations

import pytest

from adapters.http.query import BadQuery, names_list, non_negative_int, wait_seconds
from adapters.http.sse import SseFramer
from domain.watch_wire import EventType, WatchEvent


def test_wait_is_a_consul_duration_defaulting_to_5_min_and_capped_at_10():
    assert wait_seconds(None) == 300
    assert wait_seconds("30s") == 30
    assert wait_seconds("250ms") == 0.25
    assert wait_seconds("2") == 2
    assert wait_seconds("1h") == 600
    with pytest.raises(BadQuery, match="wait"):
        wait_seconds("soon")


def test_index_and_cas_are_non_negative_integers():
    assert non_negative_int({"cas": "0"}, "cas") == 0
    assert non_negative_int({}, "cas") is None
    for bad in ("-1", "1.5", "x", "\u0661"):  # an Arabic-Indic digit: isdigit, not ASCII
        with pytest.raises(BadQuery, match="cas"):
            non_negative_int({"cas": bad}, "cas")


def test_names_are_comma_separated():
    assert names_list("a,b,,c") == ["a", "b", "c"]
    assert names_list("") is None


def _put(name: str, revision: int) -> WatchEvent:
    return WatchEvent(type=EventType.PUT, name=name, info_str="{}", revision=revision)


def test_state_puts_and_reset_carry_no_id_so_a_resume_never_skips_records():
    framer = SseFramer(snapshot_first=True)
    state = framer.frame(_put("b", 9))
    synced = framer.frame(WatchEvent(type=EventType.SYNCED, revision=12))
    change = framer.frame(_put("a", 13))
    reset = framer.frame(WatchEvent(type=EventType.RESET, revision=20))
    after_reset = framer.frame(_put("c", 3))
    assert b"id:" not in state and b"id:" not in reset and b"id:" not in after_reset
    assert b"id: 12\n" in synced and b"id: 13\n" in change
    assert change == (b'event: PUT\nid: 13\ndata: {"Type":"PUT","Name":"a","InfoStr":"{}",'
                      b'"Revision":13}\n\n')


def test_a_resumed_stream_gives_every_change_an_id():
    framer = SseFramer(snapshot_first=False)
    assert b"id: 5\n" in framer.frame(_put("a", 5))
    assert b"id:" not in framer.frame(WatchEvent(type=EventType.ERROR, error="x"))


def _app(status=None, tokens=None):  # type: ignore[no-untyped-def]
    from adapters.http.app import HttpParts, build_app
    from adapters.memory.http import ListingStore, MemoryHttpWrites, MemoryTokens
    from adapters.memory.metrics import RecordingMetrics
    from adapters.memory.revisioned import InMemoryRevisionedStore
    from application.http_access import HttpAccess
    from application.http_health import Health
    from application.http_registry import HttpRegistry

    store = InMemoryRevisionedStore()
    registry = HttpRegistry(ListingStore(store), store, store.hub, store,  # type: ignore[arg-type]
                            RecordingMetrics(), MemoryHttpWrites())

    async def healthy() -> Health:
        return Health.OK

    async def no_targets() -> list:
        return []

    return build_app(HttpParts(
        registry=registry, access=HttpAccess(tokens or MemoryTokens(), open_reads=True),
        hub=store.hub,
        history=store, status=status, health=healthy, targets=no_targets))


async def _get(app, path: str):  # type: ignore[no-untyped-def]
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry") as client:
        return await client.get(path)


async def test_a_bug_is_a_json_500_without_a_traceback(caplog):
    async def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    import httpx

    transport = httpx.ASGITransport(app=_app(status=broken), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        answer = await client.get("/v1/status")
    assert answer.status_code == 500
    assert answer.json() == {"Error": "internal error; the daemon's log has the details"}
    assert "secret internals" not in answer.text and "Traceback" not in answer.text
    assert "secret internals" in caplog.text  # the details go to the log


async def test_no_quorum_is_a_json_503_with_retry_after():
    from application.ports import NoQuorum

    async def no_quorum():  # type: ignore[no-untyped-def]
        raise NoQuorum("no leader")

    answer = await _get(_app(status=no_quorum), "/v1/status")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert set(answer.json()) == {"Error"}


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("POST", "/v1/services/web", {"GET", "HEAD", "PUT", "DELETE"}),
    ("PATCH", "/v1/services/a/b", {"GET", "HEAD", "PUT", "DELETE"}),
    ("POST", "/v1/services", {"GET", "HEAD"}),
    ("PUT", "/v1/status", {"GET", "HEAD"}),
])
async def test_a_method_a_path_does_not_take_is_a_405_naming_every_one_it_takes(
    method: str, path: str, allowed: set[str],
) -> None:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()),
                                 base_url="http://registry") as client:
        answer = await client.request(method, path)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed
    assert answer.json() == {"Error": "Method Not Allowed"}


async def test_a_record_is_written_read_and_deleted_through_its_one_route() -> None:
    import httpx

    from adapters.memory.http import MemoryTokens
    from domain.http_token import TokenRole

    tokens = MemoryTokens()
    tokens.add("ops", TokenRole.WRITE, "s3cret-token")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(tokens=tokens)),
                                 base_url="http://registry",
                                 headers={"Authorization": "Bearer s3cret-token"}) as client:
        info = '{"ContentHash":"Qm1","CpuReq":1}'
        assert (await client.put("/v1/services/a/b", content=info)).status_code == 200
        assert (await client.get("/v1/services/a/b")).status_code == 200
        assert (await client.head("/v1/services/a/b")).status_code == 200
        assert (await client.delete("/v1/services/a/b")).status_code == 200
        assert (await client.get("/v1/services/a/b")).status_code == 404
