"""etcd behind the passphrase: real registry-services and etcd members on 127.0.0.2.

127.0.0.2 stands for the routable --etcd-ip of a real deployment. Each probe
that must fail has a twin that must succeed (the same request with the key
material), so a failure cannot come from a broken probe.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from etcd_fixtures import free_port
from registry_process import VENV_BIN, RegistryProcess

from adapters.etcd.local_client import PEER_TLS_DIR
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.peer_tls import PeerTlsFiles, local_addresses, write_peer_tls
from adapters.etcd.process import EtcdProcess, EtcdStartFailed
from adapters.etcd.repository import EtcdServiceRepository
from application.ports import StorageUnavailable
from domain.cluster import EtcdEndpoint, EtcdMember, initial_cluster
from domain.psk import psk_from_passphrase
from entrypoints.common.local_etcd import LocalEtcd, local_etcd

ROUTABLE = "127.0.0.2"
PASSPHRASE = "test passphrase"  # RegistryProcess's default
PSK = psk_from_passphrase(PASSPHRASE)
OTHER_PSK = psk_from_passphrase("not our passphrase")
INFO = json.dumps({"ContentHash": "Qm1", "DockerHash": "u/s@sha256:00", "CpuReq": 1})


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A short temp dir every user may traverse: only the data dir's own 0700 keeps others out."""
    path = Path(tempfile.mkdtemp(prefix="etcdsec-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _member(proc: RegistryProcess) -> LocalEtcd:
    return local_etcd(etcd_ip=proc.ip, etcd_client_port=proc.etcd_client_port,
                      etcd_peer_port=proc.etcd_peer_port, etcd_data_dir=proc.data_dir)


def _members(client_url: str) -> list[EtcdMember]:
    async def members() -> list[EtcdMember]:
        membership = EtcdClusterMembership(client_url, timeout=5.0)
        try:
            return await membership.list_members()
        finally:
            membership.close()

    return trio.run(members)


def _peer_members_json(port: int, context: ssl.SSLContext | None) -> str:
    """GET /members on the peer port (what `curl https://PEER/members` does); raises on failure."""
    with socket.create_connection((ROUTABLE, port), timeout=5) as raw:
        conn: socket.socket = context.wrap_socket(raw) if context else raw
        conn.sendall(f"GET /members HTTP/1.1\r\nHost: {ROUTABLE}\r\nConnection: close\r\n\r\n"
                     .encode())
        reply = b""
        while not _complete(reply) and (chunk := conn.recv(65536)):
            reply += chunk
    return reply.decode(errors="replace")


def _complete(reply: bytes) -> bool:
    """Whether a whole HTTP response with a Content-Length is in (no wait for the close)."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def _client_context(files: PeerTlsFiles | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the outsider does not care who the server is
    if files is not None:
        context.load_cert_chain(files.cert_file, files.key_file)
    return context


def _etcdctl(endpoint: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["etcdctl", "--endpoints", endpoint, "--dial-timeout", "3s", "--command-timeout", "5s",
         *extra, "get", "", "--prefix"],
        capture_output=True, text=True, timeout=30, env={**os.environ, "ETCDCTL_API": "3"},
    )


def test_without_the_key_material_nothing_answers_on_the_client_and_peer_ports(
    open_tmp: Path,
) -> None:
    proc = RegistryProcess(open_tmp / "r", ip=ROUTABLE).start()
    try:
        member = _member(proc)
        assert member.endpoint.peer_tls
        name = member.endpoint.member_name

        # Client port: nothing listens on TCP at all, so etcdctl and plain gRPC find nothing.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((ROUTABLE, proc.etcd_client_port), timeout=5).close()
        plain_client = _etcdctl(f"http://{ROUTABLE}:{proc.etcd_client_port}")
        assert plain_client.returncode != 0, plain_client.stdout

        # Peer port: plain HTTP, TLS without a certificate, TLS with another passphrase's
        # certificate all fail; the same request with our certificate gets the member list.
        peer = proc.etcd_peer_port
        assert name not in _try(lambda: _peer_members_json(peer, None))
        assert name not in _try(lambda: _peer_members_json(peer, _client_context(None)))
        stranger = write_peer_tls(open_tmp / "stranger", OTHER_PSK, "x", local_addresses())
        assert name not in _try(lambda: _peer_members_json(peer, _client_context(stranger)))
        ours = write_peer_tls(open_tmp / "ours", PSK, "y", local_addresses())
        assert name in _with_retries(lambda: _peer_members_json(peer, _client_context(ours)))

        # etcdctl (gRPC over TLS) on the peer port without our certificate: refused.
        tls_peer = _etcdctl(f"https://{ROUTABLE}:{peer}", "--insecure-skip-tls-verify")
        assert tls_peer.returncode != 0, tls_peer.stdout
        stranger_peer = _etcdctl(f"https://{ROUTABLE}:{peer}", "--insecure-skip-tls-verify",
                                 "--cert", str(stranger.cert_file),
                                 "--key", str(stranger.key_file))
        assert stranger_peer.returncode != 0, stranger_peer.stdout

        # The local client socket: the data dir is 0700, so another local user cannot connect;
        # its owner can.
        socket_path = member.client_url.removeprefix("unix:")
        assert (proc.data_dir.stat().st_mode & 0o777) == 0o700
        for key_file in (member.peer_tls_dir / "member.key", member.peer_tls_dir / "ca.crt"):
            assert (key_file.stat().st_mode & 0o777) == 0o600
        probe = ["/usr/bin/python3", "-c",
                 "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
                 socket_path]
        other_user = subprocess.run(probe, user="nobody", capture_output=True, text=True,
                                    timeout=30)
        assert other_user.returncode != 0
        assert "PermissionError" in other_user.stderr
        owner = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        assert owner.returncode == 0, owner.stderr
        assert _members(member.client_url)[0].name == name
    finally:
        proc.stop()
    # Neither the passphrase, nor its key, nor the member key reaches a log.
    member_key = (member.peer_tls_dir / "member.key").read_text().splitlines()[1]
    etcd_log = proc.data_dir.with_name(proc.data_dir.name + ".log").read_text()
    assert "--peer-cert-file" in etcd_log  # the TLS member's own log
    for text in (proc.log_file.read_text(), etcd_log):
        assert PASSPHRASE not in text and PSK.hex() not in text and member_key not in text


def _with_retries(request) -> str:  # type: ignore[no-untyped-def]
    """The control's reply; a busy machine may time one attempt out, so three are allowed."""
    for attempt in range(3):
        try:
            return str(request())
        except TimeoutError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _try(request) -> str:  # type: ignore[no-untyped-def]
    """What an attacker got: the reply, or nothing when the connection failed."""
    try:
        return str(request())
    except (OSError, ssl.SSLError):
        return ""


async def test_a_member_with_another_passphrase_cannot_join(tmp_path: Path) -> None:
    first = _tls_process(tmp_path, PSK)
    await first.start()
    membership = EtcdClusterMembership(first.client_url, timeout=5.0)
    repo = EtcdServiceRepository(first.client_url)
    try:
        await repo.put("before-join", INFO)
        stranger = await _add_learner(tmp_path, membership, OTHER_PSK, start_timeout=8.0)
        with pytest.raises(EtcdStartFailed):
            await stranger.start()  # it never reaches the leader, so it never answers
        assert "bad certificate" in first.log_tail(200) or \
            "unknown authority" in stranger.log_tail(200)
        [ghost] = [m for m in await membership.list_members() if not m.name]
        await membership.remove_member(ghost.member_id)

        # The same procedure with our passphrase works, and the data replicates.
        friend = await _add_learner(tmp_path, membership, PSK, start_timeout=30.0)
        await friend.start()
        try:
            local = EtcdServiceRepository(friend.client_url, serializable=True)
            assert await local.get("before-join") == INFO
            local.close()
        finally:
            await friend.stop()
    finally:
        repo.close()
        membership.close()
        await first.stop()


def _tls_process(tmp_path: Path, psk: bytes, **options: object) -> EtcdProcess:
    endpoint = EtcdEndpoint(ip=ROUTABLE, client_port=free_port(ROUTABLE),
                            peer_port=free_port(ROUTABLE), peer_tls=True)
    data_dir = tmp_path / f"etcd-{endpoint.member_name}"
    files = write_peer_tls(data_dir / PEER_TLS_DIR, psk, endpoint.member_name,
                           [ROUTABLE, *local_addresses()])
    return EtcdProcess(endpoint, data_dir, client_socket=True, peer_tls=files,
                       **options)  # type: ignore[arg-type]


async def _add_learner(tmp_path: Path, membership: EtcdClusterMembership, psk: bytes,
                       start_timeout: float) -> EtcdProcess:
    process = _tls_process(tmp_path, psk, initial_cluster_state="existing",
                           start_timeout=start_timeout, require_quorum=False)
    members = await membership.add_member(process.endpoint.peer_url, learner=True)
    process.initial_cluster = initial_cluster(members, new_name=process.endpoint.member_name)
    return process


def test_a_data_dir_from_before_peer_tls_moves_to_https_at_start(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "r", ip=ROUTABLE, new_cluster=False)
    old = EtcdEndpoint(ip=ROUTABLE, client_port=proc.etcd_client_port,
                       peer_port=proc.etcd_peer_port)

    async def previous_version() -> None:
        # What the previous version ran: http peers, the client on TCP, no certificates.
        async with EtcdProcess(old, proc.data_dir) as etcd:
            repo = EtcdServiceRepository(etcd.client_url)
            await repo.put("from-before", INFO)
            repo.close()

    trio.run(previous_version)
    proc.start()
    try:
        member = _member(proc)
        [only] = _members(member.client_url)
        assert only.peer_urls == (f"https://{ROUTABLE}:{proc.etcd_peer_port}",)
        assert "moved member" in proc.log_file.read_text()
        got = proc.cli("get", "from-before")
        assert got.returncode == 0 and "Qm1" in got.stdout, got.stderr
    finally:
        assert proc.stop() == 0
    # The next start finds it already on https and changes nothing.
    proc.start()
    try:
        assert proc.log_file.read_text().count("moved member") == 1
        assert proc.cli("get", "from-before").returncode == 0
    finally:
        proc.stop()


def test_without_a_passphrase_etcd_is_announced_open_and_kept_on_loopback(
    tmp_path: Path,
) -> None:
    refused = subprocess.run(
        [str(VENV_BIN / "registry-service"), "--local", "--new-etcd-cluster",
         "--etcd-ip", "192.0.2.1", "--etcd-data-dir", str(tmp_path / "never")],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "P2P_PSK"},
    )
    assert refused.returncode == 1
    assert "--insecure-etcd" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "never").exists()

    proc = RegistryProcess(tmp_path / "open", passphrase=None, ip=ROUTABLE).start()
    try:
        assert "ETCD IS OPEN" in proc.log_file.read_text()
        [only] = _members(_member(proc).client_url)
        assert only.peer_urls == (f"http://{ROUTABLE}:{proc.etcd_peer_port}",)
    finally:
        proc.stop()


def test_plaintext_peers_for_a_cluster_with_go_instances_is_explicit(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "go-mix", ip=ROUTABLE,
                           extra_args=["--etcd-plaintext-peers"]).start()
    try:
        assert "ETCD PEERS IN PLAINTEXT" in proc.log_file.read_text()
        member = _member(proc)
        assert not member.endpoint.peer_tls  # no certificates left in the data dir
        [only] = _members(member.client_url)
        assert only.peer_urls == (f"http://{ROUTABLE}:{proc.etcd_peer_port}",)
        # Plaintext: anyone who reaches the peer port reads the member list.
        assert member.endpoint.member_name in _peer_members_json(proc.etcd_peer_port, None)
    finally:
        proc.stop()


def test_a_plaintext_cluster_moves_to_tls_one_instance_at_a_time(tmp_path: Path) -> None:
    """The upgrade of a running three-member cluster: each old member in turn is replaced
    by a registry-service on its data dir; the cluster keeps quorum throughout."""
    procs = [RegistryProcess(tmp_path / f"r{i}", ip=f"127.0.0.{i + 2}", new_cluster=False)
             for i in range(3)]
    olds = [EtcdProcess(EtcdEndpoint(ip=p.ip, client_port=p.etcd_client_port,
                                     peer_port=p.etcd_peer_port), p.data_dir,
                        start_timeout=60.0) for p in procs]

    async def form_old_cluster() -> None:
        await olds[0].start()
        membership = EtcdClusterMembership(olds[0].client_url, timeout=5.0)
        try:
            for old in olds[1:]:
                members = await _add_when_allowed(membership, old.endpoint.peer_url)
                old.initial_cluster = initial_cluster(members, new_name=old.endpoint.member_name)
                old.initial_cluster_state = "existing"
                await old.start()
            repo = EtcdServiceRepository(olds[0].client_url)
            await repo.put("from-before", INFO)
            repo.close()
        finally:
            membership.close()

    try:
        trio.run(form_old_cluster)
        for proc, old in zip(procs, olds, strict=True):
            old.stop_sync()
            proc.start(timeout=60)
            assert "moved member" in proc.log_file.read_text(), proc.log_file.read_text()[-2000:]
            got = proc.cli("get", "from-before")
            assert got.returncode == 0 and "Qm1" in got.stdout, got.stderr
        urls = {m.name: m.peer_urls for m in _members(_member(procs[2]).client_url)}
        assert urls == {_member(p).endpoint.member_name: (_member(p).endpoint.peer_url,)
                        for p in procs}
        assert all(u[0].startswith("https://") for u in urls.values())
        # Every member replicates over TLS now: a write through one is read through another.
        trio.run(_put_then_get, _member(procs[0]).client_url, _member(procs[2]).client_url)
        assert all(_healthy(_member(p).client_url) for p in procs)
    finally:
        for proc in procs:
            proc.stop()
        for old in olds:
            old.stop_sync()


async def _add_when_allowed(membership: EtcdClusterMembership, peer_url: str) -> list[EtcdMember]:
    """etcd refuses membership changes for 5 s after a member (re)connected."""
    for _ in range(30):
        try:
            return await membership.add_member(peer_url)
        except StorageUnavailable:
            await trio.sleep(1)
    return await membership.add_member(peer_url)


async def _put_then_get(writer_url: str, reader_url: str) -> None:
    writer, reader = EtcdServiceRepository(writer_url), EtcdServiceRepository(reader_url)
    try:
        await writer.put("after-upgrade", INFO)
        assert await reader.get("after-upgrade") == INFO
    finally:
        writer.close()
        reader.close()


def _healthy(client_url: str) -> bool:
    async def check() -> bool:
        membership = EtcdClusterMembership(client_url, timeout=5.0)
        try:
            return await membership.is_healthy()
        finally:
            membership.close()

    return trio.run(check)
