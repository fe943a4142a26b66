"""A real Prometheus (Debian's binary) finds every instance through one instance's
/v1/prometheus/targets (http_sd_config) and scrapes them all."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from http_fixtures import with_a_second_instance
from registry_process import free_port

PROMETHEUS = Path(__file__).resolve().parents[2] / ".run" / "http-tools" / "prometheus"


@pytest.fixture
def two_instances(tmp_path):
    with with_a_second_instance(tmp_path) as both:
        yield both


def _wait_for(what: str, check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_prometheus_discovers_and_scrapes_every_instance(two_instances, tmp_path):
    if not PROMETHEUS.exists():
        pytest.fail("no prometheus binary: run scripts/setup-http.sh")
    first, second = two_instances
    wanted = {f"127.0.0.1:{first.process.prom_port}", f"127.0.0.1:{second.prom_port}"}

    def targets() -> set[str] | None:
        groups = httpx.get(first.url + "/v1/prometheus/targets", timeout=20).json()
        found = {t for g in groups for t in g["targets"]}
        return found if found == wanted else None

    _wait_for("both instances among the targets", targets)
    web = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: registry\n"
        "    http_sd_configs:\n"
        f"      - url: {first.url}/v1/prometheus/targets\n"
        "        refresh_interval: 1s\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    prometheus = subprocess.Popen(
        [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{web}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        def scraped_up() -> set[str] | None:
            try:
                response = httpx.get(f"http://127.0.0.1:{web}/api/v1/targets", timeout=5)
            except httpx.TransportError:
                return None
            if response.status_code != 200:  # starting: 503 "Service Unavailable", not JSON
                return None
            answer = response.json()
            up = {t["labels"]["instance"] for t in answer["data"]["activeTargets"]
                  if t["health"] == "up"}
            return up if up == wanted else None

        _wait_for("Prometheus scraping both instances", scraped_up)
        series = httpx.get(f"http://127.0.0.1:{web}/api/v1/query",
                           params={"query": "count by (registry_member) (up)"}).json()
        members = {r["metric"]["registry_member"] for r in series["data"]["result"]}
        assert len(members) == 2  # the labels of the target groups reach the series
    finally:
        prometheus.terminate()
        prometheus.wait(20)
        log.close()
