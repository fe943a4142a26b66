"""Pre-shared keys of a libp2p private network (PSK v1)."""

from __future__ import annotations

import hashlib

PSK_SIZE = 32
SWARM_KEY_HEADER = "/key/swarm/psk/1.0.0/"


class InvalidPsk(ValueError):
    """A key that is not 32 bytes, or a malformed swarm.key."""


def psk_from_passphrase(passphrase: str) -> bytes:
    """The Go original's key: SHA3-256 of the raw passphrase bytes, nothing trimmed."""
    return hashlib.sha3_256(passphrase.encode("utf-8")).digest()


def check_psk(psk: bytes) -> bytes:
    if len(psk) != PSK_SIZE:
        raise InvalidPsk(f"a pre-shared key has {PSK_SIZE} bytes, got {len(psk)}")
    return bytes(psk)


def swarm_key_text(psk: bytes) -> str:
    """The standard three-line ``swarm.key`` form that go- and js-libp2p read."""
    return f"{SWARM_KEY_HEADER}\n/base16/\n{check_psk(psk).hex()}\n"


def psk_from_swarm_key(text: str) -> bytes:
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) != 3 or lines[0] != SWARM_KEY_HEADER or lines[1] != "/base16/":
        raise InvalidPsk("a swarm.key has three lines: /key/swarm/psk/1.0.0/, /base16/, key")
    try:
        return check_psk(bytes.fromhex(lines[2]))
    except ValueError as exc:
        raise InvalidPsk(f"swarm.key: {exc}") from exc
