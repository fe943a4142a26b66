"""Writers list, records that cannot poison the registry, and secrets kept off argv.

Real registry-service processes (own etcd), real libp2p clients on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
import warnings
from pathlib import Path

import pytest
import trio
from registry_process import VENV_BIN, RegistryProcess

from adapters.etcd.repository import EtcdServiceRepository
from application.client import ServiceNotFound
from domain import PerfInd, ServiceInfo, psk_from_passphrase
from domain.wire import GetResponse, Operation, decode
from entrypoints import library
from entrypoints.common.local_etcd import local_etcd

GOLDEN = Path(__file__).parents[1] / "unit" / "golden"
INFO = ServiceInfo(
    content_hash="QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn",
    docker_hash="127.0.0.1:5000/demo/echo@sha256:" + "ab" * 32,
    network_soft_req=PerfInd.from_millis(100),
    network_hard_req=PerfInd.from_millis(300),
    cpu_req=1,
    memory_req=64,
)


def cli(proc: RegistryProcess, *args: str, keyfile: Path | None = None,
        bootstraps: bool = True) -> subprocess.CompletedProcess[str]:
    """registry-cli with the passphrase in a file (never on the command line)."""
    argv = [str(VENV_BIN / "registry-cli")]
    if bootstraps:
        for address in proc.addrs:
            argv += ["--bootstrap", address]
    if keyfile is not None:
        argv += ["--keyfile", str(keyfile)]
    env = {k: v for k, v in os.environ.items()
           if k not in ("P2P_PSK", "P2P_BOOTSTRAPS", "REGISTRY_CLI_KEYFILE")}
    env["P2P_PSK_FILE"] = str(proc.psk_file)
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60,
                          env=env)


def keygen(proc: RegistryProcess, path: Path) -> str:
    made = cli(proc, "keygen", str(path), bootstraps=False)
    assert made.returncode == 0, made.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    return made.stdout.splitlines()[-1]


def refused_writes(proc: RegistryProcess) -> dict[str, float]:
    url = f"http://{proc.ip}:{proc.prom_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith("registry_refused_writes_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels] = float(value)
    return counts


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    return {"writer": tmp_path / "writer.key", "outsider": tmp_path / "outsider.key"}


@pytest.fixture
def guarded(tmp_path: Path, keys: dict[str, Path]):  # type: ignore[no-untyped-def]
    """A registry whose writers file lists only the 'writer' key's peer id."""
    proc = RegistryProcess(tmp_path / "registry", psk_via_file=True)
    proc.workdir.mkdir(parents=True)
    proc._write_psk_file()
    writer_id = keygen(proc, keys["writer"])
    keygen(proc, keys["outsider"])
    writers = tmp_path / "writers"
    writers.write_text(f"# who may write\n{writer_id}  # the CI job\n\n")
    proc.extra_args = ["--writers-file", str(writers)]
    proc.start()
    yield proc, writers
    proc.stop()


def test_only_listed_peers_write_and_everyone_reads(guarded, keys) -> None:  # type: ignore[no-untyped-def]
    proc, _ = guarded
    psk = psk_from_passphrase(proc.passphrase)
    added = library.add_service_blocking(proc.addrs, psk, "svc", INFO, keyfile=keys["writer"])
    assert added.startswith("Added {svc: ")

    with pytest.raises(library.WriteRefused, match="not allowed to write"):
        library.add_service_blocking(proc.addrs, psk, "svc", ServiceInfo(),
                                     keyfile=keys["outsider"])
    with pytest.raises(library.WriteRefused):  # an identity made up for the call: refused too
        library.delete_service_blocking(proc.addrs, psk, "svc")
    denied = cli(proc, "delete", "svc", keyfile=keys["outsider"])
    assert denied.returncode == 5, denied.stderr
    assert "not allowed to write" in denied.stderr and "Traceback" not in denied.stderr
    outsider_id = cli(proc, "id", "--keyfile", str(keys["outsider"]), bootstraps=False).stdout
    assert outsider_id.strip() in denied.stderr  # the refusal names the peer Noise saw

    got = cli(proc, "--json", "get", "svc", keyfile=keys["outsider"])
    assert got.returncode == 0, got.stderr
    assert library.get_service_blocking(proc.addrs, psk, "svc") == INFO  # unchanged
    counts = refused_writes(proc)
    assert counts['registry_refused_writes_total{operation="add",reason="WriteRefused"}'] == 1
    assert counts['registry_refused_writes_total{operation="delete",reason="WriteRefused"}'] == 2

    deleted = cli(proc, "delete", "svc", keyfile=keys["writer"])
    assert deleted.returncode == 0 and "Deleted 1 entry" in deleted.stdout, deleted.stderr


def test_sighup_reloads_the_writers_list_and_a_bad_file_keeps_the_old_one(guarded, keys) -> None:  # type: ignore[no-untyped-def]
    proc, writers = guarded
    psk = psk_from_passphrase(proc.passphrase)
    outsider_id = cli(proc, "id", "--keyfile", str(keys["outsider"]), bootstraps=False)
    writers.write_text(writers.read_text() + outsider_id.stdout)
    proc.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while True:
        try:
            library.add_service_blocking(proc.addrs, psk, "late", INFO, keyfile=keys["outsider"])
            break
        except library.WriteRefused:
            assert time.monotonic() < deadline, "SIGHUP did not reload the writers list"
            time.sleep(0.3)

    writers.write_text("not-a-peer-id\n")
    proc.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while "not reloaded" not in proc.log_file.read_text():
        assert time.monotonic() < deadline, "the bad writers file was not reported"
        time.sleep(0.2)
    assert "writers:1" in proc.log_file.read_text()  # the line at fault is named
    assert proc.alive()
    deleted = library.delete_service_blocking(proc.addrs, psk, "late", keyfile=keys["outsider"])
    assert deleted.startswith("Deleted")  # the old list (with the outsider) still holds


JUNK = {
    "not-a-record": "not a record",
    "huge-cpu": '{"CpuReq":1e400}',
    "huge-memory": '{"MemoryReq":9223372036854775808}',
    "float-rtt": '{"NetworkSoftReq":{"RTT":1.5}}',
    "string-cpu": '{"CpuReq":"1"}',
    "case-variant": '{"cpureq":"x"}',
}


async def _raw(proc: RegistryProcess, protocol: Operation, payload: bytes) -> bytes:
    psk = psk_from_passphrase(proc.passphrase)
    async with library.registry_client(proc.addrs, psk) as client:
        return await client.request(protocol.protocol_id, payload)


def test_junk_infostrs_over_the_wire_are_refused_and_go_records_kept_byte_for_byte(
    registry: RegistryProcess,
) -> None:
    import json

    for name, info_str in JUNK.items():
        request = json.dumps({"Name": name, "InfoStr": info_str}).encode()
        reply = trio.run(_raw, registry, Operation.ADD, request).decode()
        assert reply.startswith("Error: not added:"), (name, reply)
        assert name in reply and "\n" not in reply
        with pytest.raises(ServiceNotFound):
            library.get_service_blocking(registry.addrs, psk_from_passphrase(registry.passphrase),
                                         name)
    assert registry.alive()
    for golden in sorted(GOLDEN.glob("service_info*.json")):
        info_str = golden.read_text()
        request = json.dumps({"Name": golden.stem, "InfoStr": info_str}).encode()
        reply = trio.run(_raw, registry, Operation.ADD, request).decode()
        assert reply == f"Added {{{golden.stem}: {info_str}}}"
        got = decode(trio.run(_raw, registry, Operation.GET, golden.stem.encode()), GetResponse)
        assert got.info_str == info_str


# Each class of junk the record rules refuse (JUNK), and the record that once passed
# on read: refused on write, so it must be named on read too.
STORED_JUNK = {f"junk-{name}": info_str for name, info_str in JUNK.items()} | {
    "junk-memory-1e26": '{"CpuReq":1,"MemoryReq":100000000000000000000000000}',
    "junk-fraction": '{"NetworkHardReq":{"RTT":1.5}}',
}


def test_a_restored_snapshot_holding_junk_still_lists_its_good_records(tmp_path: Path) -> None:
    source = RegistryProcess(tmp_path / "source", psk_via_file=True).start()
    psk = psk_from_passphrase(source.passphrase)
    snapshot = tmp_path / "registry.snap"
    try:
        library.add_service_blocking(source.addrs, psk, "good", INFO)

        async def write_junk() -> None:  # as a Go writer or an older version could have
            # Through the member's unix socket, as every local registry-service command
            member = local_etcd(etcd_ip=source.ip, etcd_client_port=source.etcd_client_port,
                                etcd_peer_port=source.etcd_peer_port,
                                etcd_data_dir=source.data_dir)
            store = EtcdServiceRepository(member.client_url)
            for name, info_str in STORED_JUNK.items():
                await store.put(name, info_str)

        trio.run(write_junk)
        saved = subprocess.run(
            [str(VENV_BIN / "registry-service"), "snapshot", "save", str(snapshot),
             "--etcd-ip", source.ip, "--etcd-client-port", str(source.etcd_client_port),
             "--etcd-peer-port", str(source.etcd_peer_port),
             "--etcd-data-dir", str(source.data_dir)],
            capture_output=True, text=True, timeout=120)
        assert saved.returncode == 0, saved.stderr
    finally:
        source.stop()

    fresh = RegistryProcess(tmp_path / "fresh", new_cluster=False, psk_via_file=True)
    restored = subprocess.run(
        [str(VENV_BIN / "registry-service"), "snapshot", "restore", str(snapshot),
         "--etcd-ip", fresh.ip, "--etcd-client-port", str(fresh.etcd_client_port),
         "--etcd-peer-port", str(fresh.etcd_peer_port), "--etcd-data-dir", str(fresh.data_dir)],
        capture_output=True, text=True, timeout=120)
    assert restored.returncode == 0, restored.stderr
    fresh.start()
    try:
        listed = cli(fresh, "list")
        assert listed.returncode == 0, listed.stderr
        assert "Service:        good" in listed.stdout
        assert "junk" not in listed.stdout
        assert "100000000000000000000000000" not in listed.stdout
        assert listed.stderr.count("\n") == 1  # one warning line, naming every junk record
        for name in STORED_JUNK:
            assert name in listed.stderr, name

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            entries = library.list_services_blocking(fresh.addrs, psk)
        assert list(entries) == ["good"]
        skipped = [w.message for w in caught if isinstance(w.message,
                                                           library.UnreadableRecordsWarning)]
        assert [w.names for w in skipped] == [sorted(STORED_JUNK)]

        # What a Go client gets from /list/0.1: only the good record (Go's list fails whole
        # on one record it cannot decode); the others are named in a field Go ignores.
        import json

        raw = json.loads(trio.run(_raw, fresh, Operation.LIST, b""))
        assert list(raw["NameToInfoStr"]) == ["good"] and raw["LookupOk"] is True
        assert sorted(raw["Unreadable"]) == sorted(STORED_JUNK)

        for name in STORED_JUNK:
            got = cli(fresh, "get", name)
            assert got.returncode == 1, (name, got.stdout)
            assert got.stderr.count("\n") == 1 and "unreadable" in got.stderr, got.stderr
            assert name in got.stderr and "Traceback" not in got.stderr
        assert "MemoryReq" in cli(fresh, "get", "junk-memory-1e26").stderr
    finally:
        fresh.stop()


def test_psk_file_keeps_the_passphrase_off_argv_and_out_of_the_logs(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "registry", psk_via_file=True,
                           extra_args=["--log-level", "DEBUG"]).start()
    try:
        argv = Path(f"/proc/{proc.process.pid}/cmdline").read_bytes()
        assert b"--psk-file" in argv
        assert proc.passphrase.encode() not in argv
        psk = psk_from_passphrase(proc.passphrase)
        library.add_service_blocking(proc.addrs, psk, "svc", INFO)
        got = cli(proc, "get", "svc")
        assert got.returncode == 0, got.stderr
    finally:
        proc.stop()
    log = proc.log_file.read_bytes()
    assert b"DEBUG" in log  # the check below looked at a verbose log
    for secret in (proc.passphrase.encode(), psk.hex().encode(), psk.hex().upper().encode(),
                   repr(psk).encode()):
        assert secret not in log
