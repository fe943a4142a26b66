"""One registry-service and its etcd child: they live and die together."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from cluster_fixtures import wait_for_pid_exit
from registry_process import VENV_BIN, RegistryProcess


def _etcd_child(proc: RegistryProcess) -> int:
    assert proc.process is not None
    [etcd] = [c for c in psutil.Process(proc.process.pid).children() if c.name() == "etcd"]
    return etcd.pid


def test_sigkill_of_the_daemon_takes_its_etcd_down_too(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "r").start()
    try:
        etcd = _etcd_child(proc)
        assert proc.process is not None
        proc.process.kill()
        proc.process.wait(10)
        gone = wait_for_pid_exit(etcd, 10)
        print(f"\netcd exited {gone:.2f} s after its daemon was SIGKILLed")
    finally:
        proc.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_or_sigint_stops_serving_and_stops_etcd_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """README: SIGINT or SIGTERM stops the daemon cleanly, and its etcd member with it."""
    proc = RegistryProcess(tmp_path / "r").start()
    etcd = _etcd_child(proc)
    started = time.monotonic()
    assert proc.stop(sig) == 0
    print(f"\n{sig.name} to exit: {time.monotonic() - started:.2f} s")
    assert not psutil.pid_exists(etcd)
    etcd_log = (tmp_path / "r" / "etcd-data.log").read_text()
    assert '"msg":"received signal; shutting down"' in etcd_log  # SIGTERM, not SIGKILL
    daemon_log = proc.log_file.read_text()
    assert f"received {sig.name}" in daemon_log and "etcd stopped" in daemon_log
    assert "Traceback" not in daemon_log


def test_the_daemon_stops_when_its_etcd_dies(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "r").start()
    try:
        os.kill(_etcd_child(proc), signal.SIGKILL)
        assert proc.process is not None
        assert proc.process.wait(15) == 1
        assert "etcd exited (code -9); stopping" in proc.log_file.read_text()
    finally:
        proc.stop()


def test_a_joiner_with_nothing_to_join_says_so_in_one_line(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "r", new_cluster=False)  # and no bootstraps: --local
    result = subprocess.run(
        proc.argv(), capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")},
    )
    assert result.returncode == 1
    assert "nothing to join" in result.stderr
    assert "Traceback" not in result.stderr


def test_leave_refuses_a_running_instance(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "r").start()
    try:
        result = subprocess.run(
            [str(VENV_BIN / "registry-service"), "leave", "--etcd-client-port",
             str(proc.etcd_client_port), "--etcd-peer-port", str(proc.etcd_peer_port),
             "--etcd-data-dir", str(proc.data_dir)],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 1
        assert "is this registry-service running?" in result.stderr
        assert proc.data_dir.exists()
    finally:
        proc.stop()
    alone = subprocess.run(
        [str(VENV_BIN / "registry-service"), "leave", "--etcd-client-port",
         str(proc.etcd_client_port), "--etcd-peer-port", str(proc.etcd_peer_port),
         "--etcd-data-dir", str(proc.data_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert alone.returncode == 1
    assert "only voting member" in alone.stderr and "snapshot save" in alone.stderr
    assert proc.data_dir.exists()
