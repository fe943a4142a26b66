"""docs/cluster.md's procedure for a majority lost for good, followed step by step."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from cluster_fixtures import PSK, Cluster, all_healthy, local_entries, members_of, run, wait_until
from registry_process import VENV_BIN, RegistryProcess

from domain import ServiceInfo, psk_from_passphrase
from entrypoints import library

INFO = ServiceInfo(content_hash="QmRecovery")


def _service(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "registry-service"), *args], capture_output=True,
                          text=True, timeout=120)


def test_a_lost_majority_is_recovered_from_the_survivors_data(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        survivor = cluster.add_instance()
        gone = cluster.add_instance()  # two members: losing one loses the majority
        for n in range(20):
            library.add_service_blocking(survivor.proc.addrs, PSK, f"svc-{n}", INFO)
        expected = run(local_entries, survivor)
        gone.kill()
        shutil.rmtree(gone.proc.data_dir)  # that machine is not coming back

        # 1. Save what the survivor holds (its own copy; works without quorum).
        snapshot = tmp_path / "survivor.snap"
        flags = ["--etcd-ip", survivor.proc.ip,
                 "--etcd-client-port", str(survivor.proc.etcd_client_port),
                 "--etcd-peer-port", str(survivor.proc.etcd_peer_port)]
        saved = _service("snapshot", "save", str(snapshot), *flags,
                         "--etcd-data-dir", str(survivor.proc.data_dir))
        assert saved.returncode == 0, saved.stderr
        # 2. Stop it and move its data dir aside.
        assert survivor.proc.stop() == 0
        survivor.proc.data_dir.rename(survivor.proc.data_dir.with_name("etcd-data.old"))
        # 3. Restore into its data dir: a one-member cluster holding the data.
        restored = _service("snapshot", "restore", str(snapshot), *flags,
                            "--etcd-data-dir", str(survivor.proc.data_dir))
        assert restored.returncode == 0, restored.stderr
        # 4. Start it as before; 5. other instances join with empty data dirs.
        cluster.restart(survivor)
        assert run(local_entries, survivor) == expected
        cluster.restart(gone, timeout=120)
        wait_until(lambda: all_healthy(cluster), 30, "recovered cluster healthy")
        assert len(run(members_of, survivor)) == 2
        library.add_service_blocking(gone.proc.addrs, PSK, "after-recovery", INFO)
        assert "after-recovery" in run(local_entries, survivor)
    finally:
        cluster.stop_all()


def test_the_database_of_a_stopped_member_restores_too(tmp_path: Path) -> None:
    """When the survivor cannot run at all: its member/snap/db, with --skip-hash-check."""
    cluster = Cluster(tmp_path)
    try:
        only = cluster.add_instance()
        library.add_service_blocking(only.proc.addrs, PSK, "kept", INFO)
        assert only.proc.stop() == 0
        db = tmp_path / "copied.db"
        shutil.copy(only.proc.data_dir / "member" / "snap" / "db", db)
        ip = only.proc.ip
        without = _service("snapshot", "restore", str(db), "--etcd-ip", ip,
                           "--etcd-data-dir", str(tmp_path / "other"))
        assert without.returncode == 1 and "hash" in without.stderr
        # Restore for a member on fresh ports, start it there, and read the record back.
        revived = RegistryProcess(tmp_path / "revived", ip=ip)
        restored = _service("snapshot", "restore", str(db), "--skip-hash-check",
                            "--etcd-ip", ip,
                            "--etcd-client-port", str(revived.etcd_client_port),
                            "--etcd-peer-port", str(revived.etcd_peer_port),
                            "--etcd-data-dir", str(revived.data_dir))
        assert restored.returncode == 0, restored.stderr
        try:
            revived.start(timeout=60)
            psk = psk_from_passphrase(revived.passphrase)
            assert library.get_service_blocking(revived.addrs, psk, "kept") == INFO
            assert set(library.list_services_blocking(revived.addrs, psk)) == {"kept"}
        finally:
            revived.stop()
    finally:
        cluster.stop_all()
