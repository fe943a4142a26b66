"""Peer TLS material derived from the passphrase, the client socket address, and the policy."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.local_client import listen_client_url, local_client_url
from adapters.etcd.peer_tls import derive_ca_key, existing_peer_tls, write_peer_tls
from adapters.etcd.process_args import build_etcd_argv
from application.cluster.member_start import StartupError
from domain.cluster import EtcdEndpoint
from domain.psk import psk_from_passphrase
from entrypoints.common.local_etcd import local_etcd
from entrypoints.service.etcd_exposure import peer_tls_wanted

PSK = psk_from_passphrase("our passphrase")
OTHER = psk_from_passphrase("another passphrase")
IPS = ["10.0.0.5", "127.0.0.1", "::1"]


def _scalar(key: ec.EllipticCurvePrivateKey) -> int:
    return key.private_numbers().private_value


def test_the_ca_key_is_the_same_for_the_same_passphrase_and_differs_for_another() -> None:
    assert _scalar(derive_ca_key(PSK)) == _scalar(derive_ca_key(bytes(PSK)))
    assert _scalar(derive_ca_key(PSK)) != _scalar(derive_ca_key(OTHER))
    assert isinstance(derive_ca_key(PSK).curve, ec.SECP256R1)


def test_the_ca_key_is_not_the_psk_itself() -> None:
    assert _scalar(derive_ca_key(PSK)) != int.from_bytes(PSK, "big")


def test_a_key_that_is_not_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_ca_key(b"short")


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_minted_files_are_private_and_the_member_cert_chains_to_the_ca(tmp_path: Path) -> None:
    files = write_peer_tls(tmp_path / "tls", PSK, "10.0.0.5-2379-2380", IPS)
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    for path in (files.ca_file, files.cert_file, files.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ca, member = _load(files.ca_file), _load(files.cert_file)
    member.verify_directly_issued_by(ca)
    assert ca.public_key() == derive_ca_key(PSK).public_key()
    sans = member.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(i) for i in IPS]
    assert existing_peer_tls(tmp_path / "tls") == files
    assert existing_peer_tls(tmp_path / "nothing") is None


def test_two_instances_with_one_passphrase_trust_each_other_and_not_a_third(
    tmp_path: Path,
) -> None:
    first = write_peer_tls(tmp_path / "a", PSK, "a", IPS)
    second = write_peer_tls(tmp_path / "b", PSK, "b", IPS)
    stranger = write_peer_tls(tmp_path / "c", OTHER, "c", IPS)
    first_ca, second_ca = _load(first.ca_file), _load(second.ca_file)
    # Own CA certificates (serials differ), one key and one SubjectKeyIdentifier.
    assert first_ca.serial_number != second_ca.serial_number
    ski = x509.SubjectKeyIdentifier
    assert first_ca.extensions.get_extension_for_class(ski) == \
        second_ca.extensions.get_extension_for_class(ski)
    _load(second.cert_file).verify_directly_issued_by(first_ca)
    _load(first.cert_file).verify_directly_issued_by(second_ca)
    with pytest.raises(InvalidSignature):
        _load(stranger.cert_file).verify_directly_issued_by(first_ca)


def test_minting_again_replaces_the_member_key(tmp_path: Path) -> None:
    before = write_peer_tls(tmp_path, PSK, "a", IPS).key_file.read_bytes()
    after = write_peer_tls(tmp_path, PSK, "a", IPS).key_file.read_bytes()
    assert before != after


def test_etcd_argv_with_peer_tls_and_a_client_socket(tmp_path: Path) -> None:
    endpoint = EtcdEndpoint(ip="10.0.0.5", client_port=2379, peer_port=2380, peer_tls=True)
    files = write_peer_tls(tmp_path, PSK, endpoint.member_name, IPS)
    argv = build_etcd_argv(binary="etcd", endpoint=endpoint, data_dir=Path("/d"),
                           client_socket=True, peer_tls=files)
    assert argv[argv.index("--listen-client-urls") + 1] == "unix://client.sock:2379"
    assert argv[argv.index("--listen-peer-urls") + 1] == "https://10.0.0.5:2380"
    assert argv[argv.index("--initial-cluster") + 1] == "10.0.0.5-2379-2380=https://10.0.0.5:2380"
    assert "--peer-client-cert-auth" in argv
    assert argv[argv.index("--peer-trusted-ca-file") + 1] == str(files.ca_file)
    assert argv[argv.index("--peer-key-file") + 1] == str(files.key_file)
    with pytest.raises(ValueError, match="https peer URLs go with peer TLS"):
        build_etcd_argv(binary="etcd", endpoint=endpoint, data_dir=Path("/d"))


def test_the_client_socket_lives_in_the_data_dir() -> None:
    endpoint = EtcdEndpoint(client_port=12379)
    assert listen_client_url(endpoint) == "unix://client.sock:12379"
    assert local_client_url(endpoint, Path("/var/lib/r")) == "unix:/var/lib/r/client.sock:12379"
    member = local_etcd(etcd_client_port=12379, etcd_data_dir=Path("/var/lib/r"))
    assert member.client_url == "unix:/var/lib/r/client.sock:12379"


async def test_a_socket_path_beyond_sun_path_is_dialled_through_a_directory_fd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib
    import os
    import socket
    import threading

    from etcd3 import etcdrpc

    from application.ports import StorageUnavailable

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    name = "client.sock:2379"
    assert len(str(deep / name)) > 108  # too long for sun_path: bind it from inside
    monkeypatch.chdir(deep)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(name)
    listener.listen(1)
    listener.settimeout(10)
    accepted: list[socket.socket] = []
    waiter = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    waiter.start()
    def fds_on_deep() -> int:  # our descriptors that hold the deep directory open
        held = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                held += os.readlink(f"/proc/self/fd/{fd}") == str(deep)
        return held

    connection = EtcdConnection(f"unix:{deep}/{name}")
    assert fds_on_deep() == 1
    try:
        with pytest.raises(StorageUnavailable):  # not etcd: no gRPC answer comes
            await connection.call(connection.kv.Range, etcdrpc.RangeRequest(key=b"k"),
                                  timeout=0.5)
    finally:
        connection.close()
        waiter.join(10)
        for conn in accepted:
            conn.close()
        listener.close()
    assert accepted, "the connection never reached the socket"
    assert fds_on_deep() == 0  # close() let the directory go


def test_operator_commands_see_peer_tls_where_the_daemon_minted_it(tmp_path: Path) -> None:
    assert not local_etcd(etcd_data_dir=tmp_path).endpoint.peer_tls
    write_peer_tls(tmp_path / "peer-tls", PSK, "x", IPS)
    assert local_etcd(etcd_data_dir=tmp_path).endpoint.peer_tls


def test_with_a_passphrase_peers_use_tls_unless_plaintext_is_asked_for() -> None:
    assert peer_tls_wanted(psk=PSK, etcd_ip="10.0.0.5", insecure_etcd=False,
                           plaintext_peers=False) == (True, None)
    tls, warning = peer_tls_wanted(psk=PSK, etcd_ip="10.0.0.5", insecure_etcd=False,
                                   plaintext_peers=True)
    assert not tls and warning and "PLAINTEXT" in warning


def test_without_a_passphrase_etcd_is_open_and_only_on_loopback_unless_insecure() -> None:
    tls, warning = peer_tls_wanted(psk=None, etcd_ip="127.0.0.2", insecure_etcd=False,
                                   plaintext_peers=False)
    assert not tls and warning and "ETCD IS OPEN" in warning
    with pytest.raises(StartupError, match="--insecure-etcd"):
        peer_tls_wanted(psk=None, etcd_ip="10.0.0.5", insecure_etcd=False, plaintext_peers=False)
    tls, warning = peer_tls_wanted(psk=None, etcd_ip="10.0.0.5", insecure_etcd=True,
                                   plaintext_peers=False)
    assert not tls and warning
