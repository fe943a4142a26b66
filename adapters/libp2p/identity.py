"""Host identity keys, and the Go original's key file format.

The file holds ``<key type number> <base64 of the raw private key>`` with the
type numbers of libp2p's protobuf enum; "raw" is what go-libp2p's ``Raw()``
returns (PKCS#1 DER for RSA, seed||public key for Ed25519, the 32-byte scalar
for Secp256k1, SEC1 DER for ECDSA), so key files move between Go and Python nodes.
"""

from __future__ import annotations

import base64
import enum
import os
from pathlib import Path

from libp2p.crypto.ed25519 import Ed25519PrivateKey
from libp2p.crypto.keys import KeyPair, PrivateKey
from libp2p.crypto.rsa import RSAPrivateKey
from libp2p.crypto.secp256k1 import Secp256k1PrivateKey
from libp2p.peer.id import ID

from adapters.libp2p.ecdsa import EcdsaPrivateKey

MIN_RSA_BITS = 2048
DEFAULT_KEYFILE = "~/.privKeyHashLookup"


class KeyAlgorithm(enum.IntEnum):
    RSA = 0
    ED25519 = 1
    SECP256K1 = 2
    ECDSA = 3

    @classmethod
    def parse(cls, name: str) -> KeyAlgorithm:
        for algo in cls:
            if algo.name.lower() == name.strip().lower():
                return algo
        raise IdentityError(
            f"unknown key algorithm {name!r}: use RSA, Ed25519, Secp256k1 or ECDSA"
        )


class IdentityError(ValueError):
    """A key that cannot be made, read or used."""


def generate_private_key(algo: KeyAlgorithm, bits: int = MIN_RSA_BITS) -> PrivateKey:
    if algo is KeyAlgorithm.RSA:
        if bits < MIN_RSA_BITS:
            raise IdentityError(f"RSA keys need at least {MIN_RSA_BITS} bits, got {bits}")
        return RSAPrivateKey.new(bits)
    if algo is KeyAlgorithm.ED25519:
        return Ed25519PrivateKey.new()
    if algo is KeyAlgorithm.SECP256K1:
        return Secp256k1PrivateKey.new()
    return EcdsaPrivateKey.new()


def _raw_private_key(key: PrivateKey) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        return key.to_bytes() + key.get_public_key().to_bytes()
    return key.to_bytes()


def _private_key_from_raw(algo: KeyAlgorithm, raw: bytes) -> PrivateKey:
    if algo is KeyAlgorithm.RSA:
        return RSAPrivateKey.from_bytes(raw)
    if algo is KeyAlgorithm.ED25519:
        if len(raw) not in (32, 64):
            raise IdentityError(f"an Ed25519 key has 32 or 64 bytes, not {len(raw)}")
        return Ed25519PrivateKey.from_bytes(raw[:32])
    if algo is KeyAlgorithm.SECP256K1:
        return Secp256k1PrivateKey.from_bytes(raw)
    return EcdsaPrivateKey.from_bytes(raw)


def encode_key_file(key: PrivateKey) -> str:
    algo = KeyAlgorithm(int(key.get_type().value))
    return f"{algo.value} {base64.b64encode(_raw_private_key(key)).decode()}\n"


def decode_key_file(text: str) -> PrivateKey:
    fields = text.split()
    if len(fields) != 2 or not fields[0].isdigit():
        raise IdentityError("a key file holds '<key type number> <base64 raw key>'")
    try:
        algo = KeyAlgorithm(int(fields[0]))
        raw = base64.b64decode(fields[1], validate=True)
        return _private_key_from_raw(algo, raw)
    except IdentityError:
        raise
    except ValueError as exc:
        raise IdentityError(f"unreadable key file: {exc}") from exc


def key_pair_of(key: PrivateKey) -> KeyPair:
    return KeyPair(key, key.get_public_key())


def load_or_create_identity(path: str, algo: KeyAlgorithm, bits: int) -> KeyPair:
    """Read the key at ``path``, or generate one and write it there (mode 0600)."""
    file = Path(path).expanduser()
    if file.exists():
        return read_identity(file)
    return create_identity_file(file, algo, bits)


def read_identity(path: str | Path) -> KeyPair:
    file = Path(path).expanduser()
    try:
        text = file.read_text()
    except FileNotFoundError as exc:
        raise IdentityError(
            f"no key file at {file} (make one with `registry-cli keygen {file}`)"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentityError(f"{file}: cannot read the key file: {exc}") from exc
    try:
        return key_pair_of(decode_key_file(text))
    except IdentityError as exc:
        raise IdentityError(f"{file}: {exc}") from exc


def create_identity_file(path: str | Path, algo: KeyAlgorithm, bits: int) -> KeyPair:
    """Generate a key and write it to ``path`` (mode 0600); never overwrite a file."""
    file = Path(path).expanduser()
    key = generate_private_key(algo, bits)
    file.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never clobber a key another process wrote meanwhile.
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise IdentityError(f"{file} exists already; not overwriting a key file") from exc
    with os.fdopen(fd, "w") as out:
        out.write(encode_key_file(key))
    return key_pair_of(key)


def peer_id_of(key_pair: KeyPair) -> str:
    return str(ID.from_pubkey(key_pair.public_key))


def ephemeral_identity(algo: KeyAlgorithm = KeyAlgorithm.ED25519, bits: int = 2048) -> KeyPair:
    return key_pair_of(generate_private_key(algo, bits))
