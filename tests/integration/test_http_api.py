"""The HTTP API against a real registry-service and its real etcd (docs/http.md)."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import httpx
import pytest
from http_fixtures import RECORD
from registry_process import VENV_BIN


def test_a_put_record_is_got_and_listed_in_the_go_shape_with_its_revision(http_registry):
    written = http_registry.put("api-get-a")
    assert written.status_code == 200, written.text
    revision = written.json()["Revision"]
    assert int(written.headers["X-Registry-Index"]) == revision
    with http_registry.client() as c:
        got = c.get("/v1/services/api-get-a")
        listed = c.get("/v1/services", params={"prefix": "api-get-"})
    assert got.status_code == 200
    assert got.content == RECORD.encode()  # the stored InfoStr, verbatim
    assert got.headers["X-Registry-Revision"] == str(revision)
    assert got.headers["ETag"] == f'"{revision}"'
    assert int(got.headers["X-Registry-Index"]) >= revision
    assert "X-Registry-Stale" not in got.headers
    assert listed.json() == {"api-get-a": json.loads(RECORD)}
    assert int(listed.headers["X-Registry-Index"]) >= revision


def test_the_http_write_is_what_the_libp2p_get_sees(http_registry):
    http_registry.put("api-both", '{"ContentHash":"QmBoth"}')
    done = http_registry.process.cli("--json", "get", "api-both")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ContentHash"] == "QmBoth"


def test_an_unchanged_record_answers_304_to_its_etag(http_registry):
    etag = f'"{http_registry.put("api-etag").json()["Revision"]}"'
    with http_registry.client() as c:
        same = c.get("/v1/services/api-etag", headers={"If-None-Match": etag})
        http_registry.put("api-etag", '{"ContentHash":"QmNew"}')
        changed = c.get("/v1/services/api-etag", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_missing_record_is_a_404_json_error(http_registry):
    with http_registry.client() as c:
        answer = c.get("/v1/services/api-never-there")
    assert answer.status_code == 404
    assert answer.json() == {"Error": "no service named 'api-never-there'"}
    assert "X-Registry-Index" in answer.headers


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/v1/nothing-here", 404),
    ("POST", "/v1/services", 405),
    ("GET", "/v1/services?index=-3", 400),
    ("GET", "/v1/services?index=2&wait=forever", 400),
    ("GET", "/v1/events?index=x", 400),
    ("GET", "/v1/events?names=%20bad", 400),
])
def test_errors_are_json_with_their_status(http_registry, method, path, status):
    with http_registry.client() as c:
        answer = c.request(method, path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == {"Error"}


def test_cas_zero_creates_only_and_a_stale_cas_is_a_409_with_the_current_revision(
    http_registry,
):
    first = http_registry.put("api-cas", cas=0)
    assert first.status_code == 200
    revision = first.json()["Revision"]
    again = http_registry.put("api-cas", '{"ContentHash":"QmOther"}', cas=0)
    assert again.status_code == 409
    assert again.json()["Revision"] == revision
    assert "was to be absent" in again.json()["Error"]
    moved = http_registry.put("api-cas", '{"ContentHash":"QmSecond"}', cas=revision)
    assert moved.status_code == 200 and moved.json()["Revision"] > revision
    stale = http_registry.put("api-cas", '{"ContentHash":"QmThird"}', cas=revision)
    assert stale.status_code == 409 and stale.json()["Revision"] == moved.json()["Revision"]
    with http_registry.client() as c:
        assert c.get("/v1/services/api-cas").json() == {"ContentHash": "QmSecond"}


def test_delete_with_cas_answers_the_revision_and_how_many_went(http_registry):
    revision = http_registry.put("api-del").json()["Revision"]
    with http_registry.client(http_registry.write_token) as c:
        refused = c.delete("/v1/services/api-del", params={"cas": revision - 1})
        deleted = c.delete("/v1/services/api-del", params={"cas": revision})
        nothing = c.delete("/v1/services/api-del")
        gone = c.get("/v1/services/api-del")
    assert refused.status_code == 409 and refused.json()["Revision"] == revision
    assert deleted.status_code == 200
    assert deleted.json()["Deleted"] == 1 and deleted.json()["Revision"] > revision
    assert nothing.json()["Deleted"] == 0
    assert gone.status_code == 404


def test_a_record_breaking_the_record_rules_is_a_400_naming_the_field(http_registry):
    answer = http_registry.put("api-bad", '{"CpuReq": 1.5}')
    assert answer.status_code == 400
    assert "CpuReq" in answer.json()["Error"]
    with http_registry.client() as c:
        assert c.get("/v1/services/api-bad").status_code == 404


def test_a_blocking_query_returns_when_the_record_changes(http_registry):
    revision = http_registry.put("api-block").json()["Revision"]
    timer = threading.Timer(0.5, http_registry.put, ("api-block", '{"ContentHash":"QmWoken"}'))
    started = time.monotonic()
    timer.start()
    with http_registry.client() as c:
        answer = c.get("/v1/services/api-block", params={"index": revision, "wait": "20s"})
    elapsed = time.monotonic() - started
    timer.join()
    assert answer.json() == {"ContentHash": "QmWoken"}
    assert int(answer.headers["X-Registry-Revision"]) > revision
    assert 0.4 < elapsed < 5


def test_a_blocking_query_ends_with_its_wait_and_ignores_other_names(http_registry):
    revision = http_registry.put("api-quiet").json()["Revision"]
    timer = threading.Timer(0.3, http_registry.put, ("api-elsewhere",))
    started = time.monotonic()
    timer.start()
    with http_registry.client() as c:
        answer = c.get("/v1/services/api-quiet", params={"index": revision, "wait": "1500ms"})
    timer.join()
    assert 1.4 < time.monotonic() - started < 4
    assert answer.headers["X-Registry-Revision"] == str(revision)


def test_a_blocking_list_returns_at_once_when_a_change_already_passed_the_index(http_registry):
    before = http_registry.put("api-list-a").json()["Revision"]
    http_registry.put("api-list-b")
    started = time.monotonic()
    with http_registry.client() as c:
        answer = c.get("/v1/services", params={"prefix": "api-list-", "index": before,
                                                "wait": "30s"})
    assert time.monotonic() - started < 2
    assert set(answer.json()) == {"api-list-a", "api-list-b"}


class _Sse:
    """Reads the events of one open SSE response, a few at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.iter_lines()

    def next(self, count: int) -> list[dict[str, str]]:
        events: list[dict[str, str]] = []
        fields: dict[str, str] = {}
        for line in self._lines:
            if not line:
                if "event" in fields:
                    events.append(fields)
                    if len(events) == count:
                        return events
                fields = {}
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
        raise AssertionError(f"the stream ended after {events}")


def _sse_events(reader: _Sse, count: int) -> list[dict[str, str]]:
    return reader.next(count)


def test_sse_gives_the_state_then_synced_then_changes_each_with_its_revision_as_id(
    http_registry,
):
    revision = http_registry.put("sse-a").json()["Revision"]
    with http_registry.client() as c, c.stream(
        "GET", "/v1/events", params={"prefix": "sse-"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        response = _Sse(response)
        state, synced = _sse_events(response, 2)
        http_registry.put("sse-b")
        change = _sse_events(response, 1)[0]
    assert state["event"] == "PUT" and "id" not in state  # state PUTs: not in order, no id
    assert json.loads(state["data"])["Revision"] == revision
    assert synced["event"] == "SYNCED" and int(synced["id"]) >= revision
    assert change["event"] == "PUT" and json.loads(change["data"])["Name"] == "sse-b"
    assert int(change["id"]) == json.loads(change["data"])["Revision"] > int(synced["id"])


def test_sse_resumes_from_last_event_id_without_gap_or_duplicate(http_registry):
    with http_registry.client() as c:
        with c.stream("GET", "/v1/events", params={"prefix": "resume-"}) as stream:
            response = _Sse(stream)
            synced = _sse_events(response, 1)[0]
            http_registry.put("resume-1")
            first = _sse_events(response, 1)[0]
        # Disconnected: what happens meanwhile must come, once each, on resuming.
        missed = [http_registry.put(f"resume-{i}").json()["Revision"] for i in (2, 3)]
        with c.stream("GET", "/v1/events", params={"prefix": "resume-"},
                      headers={"Last-Event-ID": first["id"]}) as stream:
            response = _Sse(stream)
            again = _sse_events(response, 2)
            http_registry.put("resume-4")
            live = _sse_events(response, 1)
    assert synced["event"] == "SYNCED"
    assert [int(e["id"]) for e in again] == missed
    assert [json.loads(e["data"])["Name"] for e in again + live] == [
        "resume-2", "resume-3", "resume-4"]


def test_sse_names_filter(http_registry):
    with http_registry.client() as c, c.stream(
        "GET", "/v1/events", params={"names": "only-this,and-this"}
    ) as stream:
        response = _Sse(stream)
        _sse_events(response, 1)  # SYNCED of an empty selection
        http_registry.put("not-this")
        http_registry.put("and-this")
        event = _sse_events(response, 1)[0]
    assert json.loads(event["data"])["Name"] == "and-this"


def test_status_is_the_status_command_json(http_registry):
    with http_registry.client() as c:
        answer = c.get("/v1/status")
    process = http_registry.process
    done = subprocess.run(
        [str(VENV_BIN / "registry-service"), "status", "--json",
         "--etcd-data-dir", str(process.data_dir),
         "--etcd-client-port", str(process.etcd_client_port),
         "--etcd-peer-port", str(process.etcd_peer_port)],
        capture_output=True, text=True, timeout=30,
    )
    assert answer.status_code == 200 and done.returncode == 0, done.stderr
    ours, theirs = answer.json(), json.loads(done.stdout)
    for volatile in ("revision", "services", "db_size", "members"):
        ours.pop(volatile), theirs.pop(volatile)
    assert ours == theirs
    assert answer.json()["quorum"] is True


def test_health_is_200_with_quorum(http_registry):
    with httpx.Client(base_url=http_registry.url) as c:
        answer = c.get("/v1/health")
    assert answer.status_code == 200 and answer.json() == {"Status": "ok"}


def test_the_openapi_document_is_valid_openapi_3_and_names_every_route(http_registry):
    from openapi_spec_validator import validate

    with http_registry.client() as c:
        document = c.get("/v1/openapi.json").json()
    validate(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/v1/services", "/v1/services/{name}", "/v1/events", "/v1/status", "/v1/health",
        "/v1/prometheus/targets", "/v1/openapi.json"}


def test_writes_are_counted_and_logged_under_the_token_name(http_registry):
    http_registry.put("api-counted")
    metrics = httpx.get(f"http://127.0.0.1:{http_registry.process.prom_port}/metrics").text
    line = 'registry_http_writes_total{operation="add",outcome="ok",token="ci-publisher"}'
    assert line in metrics
    log = http_registry.process.log_file.read_text()
    assert "HTTP PUT api-counted by token ci-publisher" in log
    assert http_registry.write_token not in log
