"""Mutual-TLS material for etcd peer traffic, derived from the private network's key.

There is no distribution step: every holder of the passphrase derives the same
CA key (HKDF of the 32-byte pre-shared key, fixed label, P-256). Each instance
makes its own self-signed CA certificate with that key (same subject and
SubjectKeyIdentifier, so any member's certificate chains to any member's CA
file) and signs its own member certificate with it. Whoever lacks the
passphrase cannot make a certificate the members accept.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from domain.psk import check_psk

# Changing the label makes every instance derive a different CA: a new trust domain.
CA_KEY_LABEL = b"physarum-registry etcd peer CA v1"
CA_SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "physarum-registry etcd peer CA")])
# Order of P-256's base point: the private scalar must lie in [1, n-1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_VALIDITY = datetime.timedelta(days=3650)
_CLOCK_SKEW = datetime.timedelta(days=1)  # members' clocks need not agree to the second


@dataclass(frozen=True)
class PeerTlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def derive_ca_key(psk: bytes) -> ec.EllipticCurvePrivateKey:
    """The CA key every holder of ``psk`` derives: HKDF-SHA256(psk, label) mod (n-1) + 1."""
    okm = HKDF(
        algorithm=hashes.SHA256(), length=48, salt=None, info=CA_KEY_LABEL
    ).derive(check_psk(psk))
    # 48 bytes reduced mod n-1: bias below 2^-128, and never zero.
    scalar = int.from_bytes(okm, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def write_peer_tls(
    directory: Path, psk: bytes, member_name: str, ips: list[str]
) -> PeerTlsFiles:
    """Mint this instance's CA and member certificates into ``directory`` (0700; files 0600).

    ``ips`` must hold every local address the member may dial *from*: etcd
    3.4 checks a peer's client certificate against the connection's source.
    """
    ca_key = derive_ca_key(psk)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    ca_cert = _sign(
        x509.CertificateBuilder()
        .subject_name(CA_SUBJECT)
        .public_key(ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True),
        ca_key.public_key(), ca_key, now,
    )
    sans = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ips)]
    member_cert = _sign(
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_name)]))
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        ),
        key.public_key(), ca_key, now,
    )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    files = _files_in(directory)
    pem = serialization.Encoding.PEM
    _write_private(files.ca_file, ca_cert.public_bytes(pem))
    _write_private(files.cert_file, member_cert.public_bytes(pem))
    _write_private(files.key_file, key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return files


def _sign(
    builder: x509.CertificateBuilder,
    public_key: ec.EllipticCurvePublicKey,
    ca_key: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
) -> x509.Certificate:
    return (
        builder.issuer_name(CA_SUBJECT)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not cert_sign,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )


def _write_private(path: Path, data: bytes) -> None:
    """Written 0600 from the first byte on (never briefly world-readable), then swapped in."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def existing_peer_tls(directory: Path) -> PeerTlsFiles | None:
    """The files a daemon minted into ``directory`` before, if all are there."""
    files = _files_in(directory)
    complete = all(p.is_file() for p in (files.ca_file, files.cert_file, files.key_file))
    return files if complete else None


def local_addresses() -> list[str]:
    """Every IPv4 and IPv6 address of this host's interfaces (a member may dial from any)."""
    families = (socket.AF_INET, socket.AF_INET6)
    found = (
        a.address.split("%", 1)[0]  # link-local scope ids are not part of the address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family in families
    )
    return list(dict.fromkeys(found))


def _files_in(directory: Path) -> PeerTlsFiles:
    return PeerTlsFiles(directory / "ca.crt", directory / "member.crt", directory / "member.key")
