"""What an operator sees on a 3-instance cluster (issue 26): stop time, files, figures.

One cluster serves the whole module; every test leaves it with three healthy members.
"""

from __future__ import annotations

import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixtures import PSK, Cluster, Instance, all_healthy, local_entries, run, wait_until
from registry_process import VENV_BIN

from application import client as use_cases
from domain import ServiceInfo
from entrypoints import library

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \S+ (DEBUG|INFO|WARNING|ERROR) ")
INFO = ServiceInfo(content_hash="QmOperatorPath", docker_hash="r/x@sha256:00", cpu_req=1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed: run scripts/setup.sh (Debian etcd-server)")
    cluster = Cluster(tmp_path_factory.mktemp("operator"))
    try:
        for _ in range(3):
            cluster.add_instance()
        yield cluster
    finally:
        cluster.stop_all()


@pytest.fixture(autouse=True)
def three_healthy(cluster: Cluster) -> None:
    for instance in cluster.instances:
        if not instance.proc.alive():
            cluster.restart(instance, timeout=120)
    wait_until(lambda: all_healthy(cluster), 30, "three healthy members before the test")


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
