"""Without quorum: stale reads say so in a header, health says 503 (or 200 with ?stale),
writes answer 503, and SSE listeners hear that the instance is cut off."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from http_fixtures import RECORD, with_a_second_instance


@pytest.fixture
def two_member_cluster(tmp_path):
    with with_a_second_instance(tmp_path) as both:
        yield both


def test_an_instance_without_quorum_answers_stale_and_says_so(two_member_cluster):
    first, second = two_member_cluster
    assert first.put("quorum-web", RECORD).status_code == 200
    events: list[dict] = []

    def listen() -> None:
        with httpx.stream("GET", first.url + "/v1/events", params={"names": "quorum-web"},
                          timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if events[-1].get("CutOff") or events[-1]["Type"] == "ERROR":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1)
    second.stop()  # one of two members: no quorum
    deadline = time.monotonic() + 30
    while (health := httpx.get(first.url + "/v1/health", timeout=10)).status_code == 200:
        assert time.monotonic() < deadline, "health still 200 without quorum"
        time.sleep(0.2)
    assert health.status_code == 503
    assert health.json() == {"Status": "stale"}
    assert health.headers["X-Registry-Stale"] == "true"
    lenient = httpx.get(first.url + "/v1/health", params={"stale": ""}, timeout=10)
    assert lenient.status_code == 200 and lenient.json() == {"Status": "stale"}
    got = httpx.get(first.url + "/v1/services/quorum-web", timeout=10)
    assert got.status_code == 200 and got.headers["X-Registry-Stale"] == "true"
    assert got.content == RECORD.encode()
    listed = httpx.get(first.url + "/v1/services", timeout=10)
    assert listed.headers["X-Registry-Stale"] == "true"
    written = first.put("quorum-new", RECORD)
    assert written.status_code == 503 and "Error" in written.json()
    listener.join(30)
    assert any(e["Type"] == "PROGRESS" and e.get("CutOff") is True for e in events), events
