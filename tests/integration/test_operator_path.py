"""What an operator sees on a 3-instance cluster (issue 26): stop time, files, figures.

One cluster serves the whole module; every test leaves it with three healthy members.
"""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixtures import (
    PASSPHRASE,
    PSK,
    Cluster,
    Instance,
    all_healthy,
    bring_back_every_instance,
    local_entries,
    run,
    three_instances,
    wait_until,
)
from prometheus_client.parser import text_string_to_metric_families
from registry_process import VENV_BIN
from test_deploy_alerts import RULES, promtool

from application import client as use_cases
from domain import ServiceInfo
from entrypoints import library

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \S+ (DEBUG|INFO|WARNING|ERROR) ")
INFO = ServiceInfo(content_hash="QmOperatorPath", docker_hash="r/x@sha256:00", cpu_req=1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with three_instances(tmp_path_factory.mktemp("operator")) as cluster:
        yield cluster


@pytest.fixture(autouse=True)
def three_healthy(cluster: Cluster) -> None:
    bring_back_every_instance(cluster)


async def _add_via(instance: Instance, name: str) -> None:
    async with library.registry_client(instance.proc.addrs, PSK) as client:
        await use_cases.add_service(client, name, INFO)


def _service(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "registry-service"), *args], capture_output=True,
                          text=True, timeout=120)


def _etcd_flags(instance: Instance) -> list[str]:
    p = instance.proc
    return ["--etcd-ip", p.ip, "--etcd-client-port", str(p.etcd_client_port),
            "--etcd-peer-port", str(p.etcd_peer_port), "--etcd-data-dir", str(p.data_dir)]


def test_the_alert_rules_stay_quiet_on_a_normal_joins_series(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Each join met etcd's ordinary refusals (4 or so), which counted in
    registry_request_errors_total: RegistryRequestErrors paged for healthy joins.

    Every instance's series as scraped right after the joins, with the joins' counts
    repeated every minute for 30 minutes (a rolling deploy, at its busiest), go through
    promtool against deploy/prometheus-rules.yaml: no alert fires.
    """
    # The gauges once the last newcomer is promoted (a learner for a second or so).
    wait_until(lambda: all(i.metrics().get("registry_etcd_learners") == 0
                           for i in cluster.instances), 30, "no learner left")
    series: list[dict[str, str]] = []
    retries = 0.0
    for index, instance in enumerate(cluster.instances):
        text = urllib.request.urlopen(
            f"http://{instance.proc.ip}:{instance.proc.prom_port}/metrics", timeout=5
        ).read().decode()
        for family in text_string_to_metric_families(text):
            if not family.name.startswith("registry_"):
                continue
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                if sample.labels.get("outcome") == "retry":
                    retries += sample.value
                labels = {**sample.labels, "job": "registry", "instance": f"i{index}"}
                selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                counting = family.type in ("counter", "histogram")
                values = f"0+{sample.value:g}x30" if counting else f"{sample.value:g}x30"
                series.append({"series": f"{sample.name}{{{selector}}}", "values": values})
    assert retries > 0, "the joins met no ordinary refusal: this test shows nothing"
    alerts = [line.split(":", 1)[1].strip() for line in RULES.read_text().splitlines()
              if line.strip().startswith("- alert:")]
    rule_test = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": []}
                for alert in alerts for minute in (6, 12, 29)
            ],
        }],
    }
    test_file = tmp_path / "normal-join-test.yaml"
    test_file.write_text(json.dumps(rule_test))  # JSON is YAML
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_open_watches_and_their_events_show_in_the_metrics(cluster: Cluster) -> None:
    """Open watches appeared in no series at all."""
    first = cluster.instances[0]
    argv = [str(VENV_BIN / "registry-cli"), "--bootstrap", first.proc.addrs[0],
            "--psk", PASSPHRASE, "--json", "watch"]
    watcher = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        while '"Type":"SYNCED"' not in watcher.stdout.readline():
            pass
        run(_add_via, first, "watched")
        while '"Name":"watched"' not in watcher.stdout.readline():
            pass
        # The daemon counts a line once its write returns, which may be after the client
        # has read it: wait for the count rather than race it.
        def put_counted() -> bool:
            scraped = [_scrape(instance) for instance in cluster.instances]
            return sum(s.get('registry_watch_events_sent_total{type="PUT"}', 0)
                       for s in scraped) >= 1

        wait_until(put_counted, 10, "the PUT counted in registry_watch_events_sent_total")
        scraped = [_scrape(instance) for instance in cluster.instances]
        assert sum(s.get("registry_watchers", 0) for s in scraped) == 1
        assert all("registry_watchers_dropped_behind_total" in s for s in scraped)
    finally:
        watcher.terminate()
        watcher.wait(10)
    wait_until(lambda: sum(_scrape(i).get("registry_watchers", 0)
                           for i in cluster.instances) == 0, 10, "the watcher gone")


def _scrape(instance: Instance) -> dict[str, float]:
    text = urllib.request.urlopen(
        f"http://{instance.proc.ip}:{instance.proc.prom_port}/metrics", timeout=5
    ).read().decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return found


def test_sigterm_stops_a_member_of_a_three_member_cluster_within_one_second(
    cluster: Cluster,
) -> None:
    """etcd waits 1 s for its peers' idle connections after closing its database, and
    the interpreter's teardown took 0.3-0.5 s more: SIGTERM took 2.0-3.5 s."""
    run(_add_via, cluster.instances[0], "before-sigterm")
    last = cluster.instances[2]  # a follower, with connections from both others
    etcd = last.etcd_pid()
    assert last.proc.process is not None and etcd is not None
    started = time.monotonic()
    last.proc.process.send_signal(signal.SIGTERM)
    code = last.proc.process.wait(20)
    seconds = time.monotonic() - started
    print(f"SIGTERM to exit: {seconds:.2f} s")
    assert code == 0
    assert seconds <= 1.0, last.log()[-2000:]
    wait_until(lambda: not _alive(etcd), 5, "its etcd gone too")
    # Ended early, the member lost nothing: it restarts on its data dir and has the record.
    cluster.restart(last)
    wait_until(lambda: all_healthy(cluster), 30, "three healthy members again")
    assert "before-sigterm" in run(local_entries, last)


def test_every_line_of_the_daemons_logs_is_a_timestamped_record(cluster: Cluster) -> None:
    """After joins, a stop and a restart (peers refused dials meanwhile): py-libp2p's lines
    (e.g. "Failed to open TCP stream") went out bare, and in multi-line blocks."""
    for instance in cluster.instances:
        untimed = [line for line in instance.log().splitlines() if not LOG_LINE.match(line)]
        assert not untimed, (instance.name, untimed[:5])
        assert " libp2p." not in instance.log()  # routine peer failures are DEBUG only


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _member_rows(stdout: str) -> dict[str, list[str]]:
    """Status table rows by member name (the '*' of ours left out)."""
    rows = [line.lstrip("* ").split() for line in stdout.splitlines() if "https://" in line]
    return {row[0]: row for row in rows}


FIGURES_AFTER_RESTART = 20.0


def test_status_through_a_restarted_instance_has_every_members_figures(
    cluster: Cluster,
) -> None:
    """For about 3 minutes after a restart, three status commands showed '-' for the other
    members, without a word: the restarted instance held nobody's provider record, and the
    others re-advertised only every --advertise-interval."""
    restarted = cluster.instances[1]
    restarted.proc.stop()
    cluster.restart(restarted)
    wait_until(lambda: all_healthy(cluster), 30, "three healthy members again")
    psk_file = restarted.proc.workdir / "status-passphrase"
    psk_file.write_text(PASSPHRASE + "\n")
    psk_file.chmod(0o600)
    commands = {
        "registry-cli status": [str(VENV_BIN / "registry-cli"), "--bootstrap",
                                restarted.proc.addrs[0], "--psk", PASSPHRASE, "status"],
        "registry-service status --psk-file": [
            str(VENV_BIN / "registry-service"), "status", *_etcd_flags(restarted),
            "--psk-file", str(psk_file)],
    }
    # The others advertise to the restarted instance within a second or two once they see
    # it again (adapters/libp2p/advertiser.py); a loaded machine stretches that, so the
    # first command may still come before. Within FIGURES_AFTER_RESTART, not 3 minutes.
    healthy = time.monotonic()
    for what, argv in commands.items():
        while True:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, (what, done.stderr)
            rows = _member_rows(done.stdout)
            assert len(rows) == 3, (what, done.stdout)
            if all(row[-1] != "-" for row in rows.values()):  # every member's db size
                break
            assert time.monotonic() - healthy < FIGURES_AFTER_RESTART, (
                what, done.stdout, done.stderr)
        assert "-: " not in done.stdout, (what, done.stdout)
    print(f"every member's figures {time.monotonic() - healthy:.1f} s after healthy")


def test_a_member_shown_without_figures_comes_with_the_reason(cluster: Cluster) -> None:
    down = cluster.instances[2]
    down.proc.stop()
    via = cluster.instances[0]
    done = subprocess.run([str(VENV_BIN / "registry-cli"), "--bootstrap", via.proc.addrs[0],
                           "--psk", PASSPHRASE, "status"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr  # two of three: quorum
    row = _member_rows(done.stdout)[down.name]
    assert row[2:4] == ["-", "NO"], row  # no role for a member that does not answer
    assert row[-1] == "-"
    [warning] = [line for line in done.stderr.splitlines() if "warning:" in line]
    assert f"no raft index and db size for {down.name}" in warning, done.stderr
    assert "instance " in warning or "not every instance was found" in warning, warning
    cluster.restart(down)


def test_status_of_one_instance_says_why_the_others_show_no_figures(cluster: Cluster) -> None:
    """`registry-cli --instance X status` showed '-' for the other members, without a word."""
    one = cluster.instances[0]
    done = subprocess.run([str(VENV_BIN / "registry-cli"), "--bootstrap", one.proc.addrs[0],
                           "--psk", PASSPHRASE, "--instance", one.proc.addrs[0], "status"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(
        "-: known only to that member's own instance; leaving --instance out asks every "
        "instance over /status/0.1"), done.stdout


def test_snapshot_save_writes_a_file_only_its_owner_can_read(
    cluster: Cluster, tmp_path: Path
) -> None:
    snapshot = tmp_path / "registry.snap"
    snapshot.write_bytes(b"an older, world-readable snapshot")
    snapshot.chmod(0o644)
    saved = _service("snapshot", "save", str(snapshot), *_etcd_flags(cluster.instances[1]))
    assert saved.returncode == 0, saved.stderr
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert snapshot.stat().st_size > 100
