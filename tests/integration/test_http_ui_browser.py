"""The dashboard at /ui/ in a real browser (Debian's chromium), against a real 3-instance
cluster whose instances all serve the HTTP API. The tests run in order and share the
cluster and the browser; each says what it checks. Screenshots go to docs/img/."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio
from browser_fixtures import (
    axe_violations,
    chromium,
    network_requests,
    set_color_scheme,
    set_viewport,
)
from cluster_fixtures import Cluster, Instance
from http_fixtures import RECORD, add_token
from registry_process import free_port
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from adapters.etcd.connection import EtcdConnection

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
WIDE, NARROW = (1400, 900), (360, 780)


class Ui:
    """The cluster, its tokens, and one browser showing instance 0's dashboard."""

    def __init__(self, cluster: Cluster, ports: list[int], write_token: str) -> None:
        self.cluster = cluster
        self.ports = ports
        self.write_token = write_token
        self.driver: object = None
        self.seen_requests: list[dict] = []

    def url(self, index: int) -> str:
        return f"http://127.0.0.{index + 1}:{self.ports[index]}"

    @property
    def origin(self) -> str:
        return self.url(0)

    def put(self, name: str, record: str = RECORD, index: int = 0) -> int:
        answer = httpx.put(f"{self.url(index)}/v1/services/{name}", content=record, timeout=30,
                           headers={"Authorization": f"Bearer {self.write_token}"})
        assert answer.status_code == 200, answer.text
        return int(answer.json()["Revision"])

    def delete(self, name: str, index: int = 0) -> None:
        answer = httpx.delete(f"{self.url(index)}/v1/services/{name}", timeout=30,
                              headers={"Authorization": f"Bearer {self.write_token}"})
        assert answer.status_code == 200, answer.text

    # --- the page ---
    def js(self, script: str, *args: object) -> object:
        return self.driver.execute_script(script, *args)  # type: ignore[attr-defined]

    def find(self, css: str) -> object:
        return self.driver.find_element(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]

    def text(self, css: str) -> str:
        return str(self.js("const e = document.querySelector(arguments[0]);"
                           "return e ? e.textContent : '';", css))

    def names(self) -> list[str]:
        return list(self.js(  # type: ignore[call-overload]
            "return [...document.querySelectorAll('#rows button.name')].map(b => b.textContent)"))

    def wait(self, check: Callable[[], bool], within: float, what: str) -> float:
        started = time.monotonic()
        while not check():
            assert time.monotonic() - started < within, f"{what}: not within {within} s"
            time.sleep(0.02)
        return time.monotonic() - started

    def screenshot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / name
        self.driver.save_screenshot(str(path))  # type: ignore[attr-defined]
        return path

    def measures(self, name: str) -> list[float]:
        return list(self.js(  # type: ignore[call-overload]
            "return performance.getEntriesByName(arguments[0], 'measure').map(e => e.duration)",
            name))

    def serious_axe_violations(self) -> list[dict]:
        found = axe_violations(self.driver)
        print("axe-core, every impact:", [(v["id"], v["impact"]) for v in found])
        return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-cluster")
    tokens = root / "http-tokens"
    write_token = add_token(tokens, "dashboard-test", "write")
    cluster = Cluster(root)
    ports: list[int] = []
    try:
        for index in range(3):
            port = free_port(f"127.0.0.{index + 1}")
            ports.append(port)
            cluster.add_instance(extra_args=(
                "--http-listen", f"127.0.0.{index + 1}:{port}", "--http-tokens-file", str(tokens)))
        state = Ui(cluster, ports, write_token)
        with chromium(*WIDE) as driver:
            state.driver = driver
            yield state
    finally:
        cluster.stop_all()


def _load(ui: Ui) -> None:
    ui.driver.get(ui.origin + "/ui/")  # type: ignore[attr-defined]
    ui.wait(lambda: "services" in ui.text("#count"), 10, "the table loaded")


def test_the_page_loads_with_3_records_and_the_cluster(ui):
    for name in ("web-a", "web-b", "api-c"):
        ui.put(name, json.dumps({
            "ContentHash": f"QmUi{name}", "DockerHash": f"sha256:{name}",
            "NetworkSoftReq": {"RTT": 2_500_000}, "NetworkHardReq": {"RTT": 100_000_000},
            "CpuReq": 2, "MemoryReq": 128}))
    _load(ui)
    assert ui.text("#count") == "3 services"
    assert ui.names() == ["api-c", "web-a", "web-b"]  # sorted by name
    row = ui.js("return [...document.querySelector('#rows tr').cells].map(c => c.textContent)")
    # name, ContentHash, DockerHash, soft and hard RTT in ms (the wire has ns), CPU, memory, rev
    assert row[:7] == ["api-c", "QmUiapi-c", "sha256:api-c", "2.5", "100", "2", "128"]
    ui.wait(lambda: ui.text("#members").count("healthy") == 3, 10, "3 healthy members")
    assert ui.text("#members").count("leader") == 1
    # Every member's raft index and db size, as each member's own instance answers them.
    ui.wait(lambda: "—" not in ui.text("#members"), 15, "every member's figures")
    assert "quorum: yes" in ui.text("#cluster-summary")
    assert ui.text("#banners") == ""
    assert "Read-only" in ui.text("#access")


def test_the_page_has_no_serious_accessibility_violation_wide_narrow_and_dark(ui):
    assert ui.serious_axe_violations() == []
    ui.screenshot("dashboard-wide.png")
    set_viewport(ui.driver, *NARROW)
    try:
        # Readable at 360 px: nothing but the tables' own scroll boxes is wider than the screen.
        assert ui.js("return document.documentElement.scrollWidth") <= NARROW[0]
        assert ui.serious_axe_violations() == []
        ui.screenshot("dashboard-narrow.png")
    finally:
        ui.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]
    set_color_scheme(ui.driver, "dark")
    try:
        background = ui.js("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(21, 23, 26)", background  # the dark palette applies
        assert ui.serious_axe_violations() == []
        ui.screenshot("dashboard-dark.png")
    finally:
        set_color_scheme(ui.driver, "light")


def test_the_table_is_usable_from_the_keyboard(ui):
    body = ui.find("body")
    body.send_keys("/")  # type: ignore[attr-defined]
    assert ui.js("return document.activeElement.id") == "filter"
    ui.js("document.querySelector('#services thead th[data-key=cpu] button').focus()")
    ui.driver.switch_to.active_element.send_keys(Keys.ENTER)  # type: ignore[attr-defined]
    assert ui.js("return document.querySelector('th[data-key=cpu]').getAttribute('aria-sort')") \
        == "ascending"
    ui.js("document.querySelector('#rows button.name').focus()")
    ui.driver.switch_to.active_element.send_keys(Keys.ENTER)  # type: ignore[attr-defined]
    ui.wait(lambda: bool(ui.js("return document.querySelector('#detail').open")), 2, "detail")
    raw = json.loads(ui.text("#detail-json"))
    assert raw["NetworkHardReq"] == {"RTT": 100000000}
    ui.driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # type: ignore[attr-defined]
    assert not ui.js("return document.querySelector('#detail').open")
    ui.js("document.querySelector('th[data-key=name] button').click()")


def test_a_cli_put_shows_within_1_s_and_a_cli_delete_disappears(ui, tmp_path):
    record = tmp_path / "record.json"
    record.write_text('{"ContentHash":"QmFromCli","CpuReq":1}')
    peer = ui.cluster.instances[1].proc  # written through another instance
    put = peer.cli("put", "from-cli", str(record))
    assert put.returncode == 0, put.stderr
    seen = ui.wait(lambda: "from-cli" in ui.names(), 1.0, "the CLI put in the table")
    print(f"CLI put visible {seen * 1000:.0f} ms after the CLI returned")
    deleted = peer.cli("delete", "from-cli")
    assert deleted.returncode == 0, deleted.stderr
    gone = ui.wait(lambda: "from-cli" not in ui.names(), 1.0, "the CLI delete in the table")
    print(f"CLI delete gone {gone * 1000:.0f} ms after the CLI returned")
    assert ui.text("#count") == "3 services"


def test_the_filter_narrows_the_table_and_counts(ui):
    box = ui.find("#filter")
    box.send_keys("web")  # type: ignore[attr-defined]
    assert ui.names() == ["web-a", "web-b"]
    assert ui.text("#count") == "2 of 3 services"
    box.send_keys(Keys.CONTROL, "a", Keys.DELETE)  # type: ignore[attr-defined]
    box.send_keys("sha256:api")  # type: ignore[attr-defined]  # hashes match too
    assert ui.names() == ["api-c"]
    box.send_keys(Keys.CONTROL, "a", Keys.DELETE)  # type: ignore[attr-defined]
    assert ui.text("#count") == "3 services"


def test_without_a_token_the_page_is_read_only_and_the_api_refuses_writes(ui):
    assert "Read-only" in ui.text("#access")
    assert ui.js("return document.querySelector('#add').disabled") is True
    ui.js("document.querySelector('#rows button.name').click()")
    assert ui.js("return document.querySelector('#detail-delete').disabled") is True
    ui.js("document.querySelector('#detail').close()")
    # What a write without a token gets from the page's origin, whatever the page shows.
    status = ui.driver.execute_async_script(  # type: ignore[attr-defined]
        "fetch('/v1/services/refused-web', {method: 'PUT', body: '{}'})"
        ".then(r => arguments[0](r.status))")
    assert status == 401
    assert httpx.get(ui.origin + "/v1/services/refused-web").status_code == 404
    # A token this instance does not know is refused when entered, and not kept.
    ui.find("#token").send_keys("rgt_not-a-real-token", Keys.ENTER)  # type: ignore[attr-defined]
    ui.wait(lambda: "not accepted" in ui.text("#access"), 5, "the unknown token refused")
    assert ui.js("return sessionStorage.getItem('registry-write-token')") is None
    assert ui.js("return document.querySelector('#add').disabled") is True


def test_a_write_token_adds_replaces_and_deletes_from_the_page(ui):
    ui.find("#token").send_keys(ui.write_token, Keys.ENTER)  # type: ignore[attr-defined]
    ui.wait(lambda: "Writes enabled" in ui.text("#access"), 5, "the token accepted")
    # Kept in sessionStorage and sent as a bearer header; never a cookie.
    assert ui.js("return sessionStorage.getItem('registry-write-token')") == ui.write_token
    assert ui.js("return document.cookie") == ""
    ui.find("#add").click()  # type: ignore[attr-defined]
    ui.find("#editor-name").send_keys("from-page")  # type: ignore[attr-defined]
    editor = ui.find("#editor-json")
    editor.clear()  # type: ignore[attr-defined]
    editor.send_keys('{"ContentHash":"QmPage","CpuReq":3}')  # type: ignore[attr-defined]
    ui.find("#editor-save").click()  # type: ignore[attr-defined]
    ui.wait(lambda: "from-page" in ui.names(), 3, "the page's own write in the table")
    stored = httpx.get(ui.url(2) + "/v1/services/from-page")
    assert stored.json() == {"ContentHash": "QmPage", "CpuReq": 3}
    # Replace: the editor holds the record; save under the record's revision.
    ui.js("[...document.querySelectorAll('#rows button.name')]"
          ".find(b => b.textContent === 'from-page').click()")
    ui.find("#detail-edit").click()  # type: ignore[attr-defined]
    editor = ui.find("#editor-json")
    editor.clear()  # type: ignore[attr-defined]
    editor.send_keys('{"ContentHash":"QmPage2","CpuReq":4}')  # type: ignore[attr-defined]
    ui.find("#editor-save").click()  # type: ignore[attr-defined]
    ui.wait(lambda: '"QmPage2"' in ui.text("#detail-json"), 3, "the replaced record")
    # Delete, after a confirmation that can be declined.
    ui.find("#detail-delete").click()  # type: ignore[attr-defined]
    assert ui.js("return document.querySelector('#confirm').open") is True
    ui.find("#confirm-no").click()  # type: ignore[attr-defined]
    assert "from-page" in ui.names()
    ui.find("#detail-delete").click()  # type: ignore[attr-defined]
    ui.find("#confirm-yes").click()  # type: ignore[attr-defined]
    ui.wait(lambda: "from-page" not in ui.names(), 3, "the deleted record gone")
    assert httpx.get(ui.url(1) + "/v1/services/from-page").status_code == 404


def test_a_junk_record_is_refused_inline_with_the_field_the_api_names(ui):
    ui.find("#add").click()  # type: ignore[attr-defined]
    ui.find("#editor-name").send_keys("junk")  # type: ignore[attr-defined]
    editor = ui.find("#editor-json")
    editor.clear()  # type: ignore[attr-defined]
    editor.send_keys('{"ContentHash":"QmJunk","CpuReq":"lots"}')  # type: ignore[attr-defined]
    ui.find("#editor-save").click()  # type: ignore[attr-defined]
    ui.wait(lambda: ui.text("#editor-error") != "", 5, "the rule violation shown")
    error = ui.text("#editor-error")
    assert ui.text("#editor-error code") == "$.CpuReq", error
    assert ui.js("return document.querySelector('#editor-json').getAttribute('aria-invalid')") \
        == "true"
    ui.screenshot("dashboard-rule-violation.png")
    ui.find("#editor-cancel").click()  # type: ignore[attr-defined]
    assert httpx.get(ui.origin + "/v1/services/junk").status_code == 404


async def _put_raw(client_url: str, name: str, value: bytes) -> None:
    from etcd3 import etcdrpc

    connection = EtcdConnection(client_url, timeout=30)
    try:
        await connection.call(connection.kv.Put, etcdrpc.PutRequest(key=name.encode(), value=value))
    finally:
        connection.close()


def test_a_stored_record_that_is_not_json_is_listed_with_its_raw_text(ui):
    # As an old or foreign writer could leave it, straight in etcd: the API leaves it out
    # of /v1/services (X-Registry-Unreadable); the page lists it and says what it is.
    trio.run(_put_raw, ui.cluster.instances[1].client_url, "junk-stored", b"not json {")
    ui.wait(lambda: "junk-stored" in ui.names(), 3, "the unreadable record listed")
    row = ui.js("return [...document.querySelectorAll('#rows tr')].find(tr => "
                "tr.cells[0].textContent === 'junk-stored').cells[1].textContent")
    assert row == "not a JSON object: not json {"
    ui.js("[...document.querySelectorAll('#rows button.name')]"
          ".find(b => b.textContent === 'junk-stored').click()")
    assert ui.text("#detail-json") == "not json {"
    assert "not a JSON object" in ui.text("#detail-meta")
    ui.find("#detail-delete").click()  # type: ignore[attr-defined]
    ui.find("#confirm-yes").click()  # type: ignore[attr-defined]
    ui.wait(lambda: "junk-stored" not in ui.names(), 3, "the unreadable record deleted")


def test_a_stopped_instance_is_shown_down_within_5_s(ui):
    stopped = ui.cluster.instances[2]
    member = stopped.name

    def cells() -> list[str]:
        return list(ui.js(
            "const tr = [...document.querySelectorAll('#members tr')].find(tr => "
            "tr.cells[0].textContent.startsWith(arguments[0])); "
            "return tr ? [...tr.cells].map(c => c.textContent) : ['', '', '']", member))

    def health() -> str:
        return cells()[1]

    assert health() == "healthy"
    started = time.monotonic()
    stopped.proc.stop()
    stopping = time.monotonic() - started
    ui.wait(lambda: health() == "down", 5 - stopping, "the stopped member shown down")
    assert cells()[2] == "—"  # no role claimed for a member that does not answer
    print(f"stopped member shown down {time.monotonic() - started:.1f} s after SIGTERM "
          f"(the process took {stopping:.1f} s to exit)")
    ui.cluster.restart(stopped)
    ui.wait(lambda: ui.text("#members").count("healthy") == 3, 30, "the member back healthy")


def test_the_page_s_own_instance_restarted_and_the_page_caught_up(ui):
    own: Instance = ui.cluster.instances[0]
    ui.put("before-restart")
    ui.wait(lambda: "before-restart" in ui.names(), 3, "a record before the restart")
    resyncs = len(ui.measures("ui-resync"))
    own.proc.stop()
    ui.wait(lambda: "Lost the live event stream" in ui.text("#banners"), 5, "the lost banner")
    ui.wait(lambda: "does not answer" in ui.text("#banners"), 5, "the status banner")
    assert ui.text("#cluster-summary").startswith("Not current")
    ui.screenshot("dashboard-stream-lost.png")
    # Changes while the page's instance is down, written through another instance.
    ui.put("while-down", index=1)
    ui.delete("before-restart", index=1)
    ui.cluster.restart(own)
    ui.wait(lambda: "while-down" in ui.names() and "before-restart" not in ui.names(), 20,
            "the page caught up")
    ui.wait(lambda: ui.text("#banners") == "", 10, "the banners cleared")
    assert ui.text("#cluster-summary").startswith("This instance")
    # It resumed from where it was (Last-Event-ID), not by reloading the whole state.
    assert len(ui.measures("ui-resync")) == resyncs
    resumed = [e for e in _event_requests(ui) if "Last-Event-ID" in e]
    assert resumed, "the page never reconnected with Last-Event-ID"
    ui.screenshot("dashboard-after-restart.png")


def test_a_cut_off_instance_shows_the_stale_banner_until_quorum_is_back(ui):
    others = ui.cluster.instances[1:]
    for instance in others:  # the page's instance alone: no quorum
        instance.proc.stop()
    took = ui.wait(lambda: "cut off from its cluster" in ui.text("#banners"), 20,
                   "the stale banner")
    print(f"stale banner {took:.1f} s after the other two instances stopped")
    ui.wait(lambda: "quorum: NO" in ui.text("#cluster-summary"), 20, "no quorum in the panel")
    ui.screenshot("dashboard-cut-off.png")
    for instance in others:
        ui.cluster.restart(instance)
    ui.wait(lambda: ui.text("#banners") == "", 30, "the stale banner gone")
    assert "quorum: yes" in ui.text("#cluster-summary")


def _event_requests(ui: Ui) -> list[dict]:
    ui.seen_requests += network_requests(ui.driver)  # the log empties as it is read
    return [r["headers"] for r in ui.seen_requests if r["url"].endswith("/v1/events")]


def test_every_request_the_page_makes_goes_to_its_own_origin(ui):
    _event_requests(ui)  # drains the browser's log into ui.seen_requests
    page_requests = [r for r in ui.seen_requests if r["document"].startswith(ui.origin)]
    assert len(page_requests) > 10
    others = [r["url"] for r in page_requests if not r["url"].startswith(ui.origin + "/")]
    assert others == [], others


async def _fill(client_url: str, count: int) -> None:
    from etcd3 import etcdrpc

    connection = EtcdConnection(client_url, timeout=30)
    try:
        for start in range(0, count, 100):  # etcd allows 128 operations per transaction
            ops = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(
                key=f"bulk-{i:05d}".encode(),
                value=(b'{"ContentHash":"QmBulk%05d","DockerHash":"sha256:%05d",'
                       b'"NetworkSoftReq":{"RTT":%d},"CpuReq":%d,"MemoryReq":%d}'
                       % (i, i, i * 1000, i % 8, i % 512)),
            )) for i in range(start, min(start + 100, count))]
            await connection.call(connection.kv.Txn, etcdrpc.TxnRequest(success=ops))
    finally:
        connection.close()


def test_10000_records_render_within_1_s_and_filtering_stays_responsive(ui):
    # Written straight into the cluster's etcd, 100 per transaction (10 000 HTTP PUTs
    # would take minutes here); the page gets them through the registry's own feed.
    trio.run(_fill, ui.cluster.instances[0].client_url, 10_000)
    ui.driver.get("about:blank")  # type: ignore[attr-defined]
    total = len(httpx.get(ui.origin + "/v1/services").json())
    assert total >= 10_000
    _load(ui)
    ui.wait(lambda: ui.measures("ui-load") != [], 30, "the 10 000-record load measured")
    assert ui.text("#count") == f"{total} services"
    assert len(ui.names()) == 100  # one page of rows in the DOM
    [render] = ui.measures("ui-render")
    [load] = ui.measures("ui-load")
    print(f"10 000 records: table rendered in {render:.0f} ms once received; "
          f"{load:.0f} ms from navigation to the rendered table")
    assert render <= 1000  # the table, once the records are in the page
    # Navigation to the rendered table, with the server reading 10 000 records from etcd
    # and streaming them: about 0.5 s here; a generous bound on a shared machine.
    assert load <= 3000
    marks = ui.js("return Object.fromEntries(performance.getEntriesByType('mark')"
                  ".map(m => [m.name, Math.round(m.startTime)]))")
    print(f"marks (ms after navigation): {marks}")
    box = ui.find("#filter")
    for typed, key in enumerate("bulk-0999", start=1):  # a key at a time, as a person types
        box.send_keys(key)  # type: ignore[attr-defined]
        ui.wait(lambda n=typed: len(ui.measures("ui-filter")) == n, 5, f"keystroke {typed}")
    assert ui.text("#count") == f"10 of {total} services"
    filtering = ui.measures("ui-filter")
    print("filter per keystroke (ms): " + ", ".join(f"{m:.0f}" for m in filtering)
          + "; of which script: "
          + ", ".join(f"{m:.0f}" for m in ui.measures("ui-filter-script")))
    # The filter's own work is a few ms; to the next frame it is ~20-30 ms here (up to
    # ~90 ms when the machine is loaded): well within a keystroke.
    assert max(ui.measures("ui-filter-script")) <= 50
    assert max(filtering) <= 200
    box.send_keys(Keys.CONTROL, "a", Keys.DELETE)  # type: ignore[attr-defined]
    ui.wait(lambda: ui.text("#count") == f"{total} services", 5, "the filter cleared")
    ui.screenshot("dashboard-10000.png")
    weight = ui.js("return performance.getEntriesByType('resource').concat("
                   "performance.getEntriesByType('navigation'))"
                   ".filter(e => new URL(e.name).pathname.startsWith('/ui/'))"
                   ".reduce((sum, e) => sum + e.decodedBodySize, 0)")
    print(f"page weight (the /ui/ files, uncompressed): {weight} bytes")
    assert 0 < weight <= 200 * 1024
