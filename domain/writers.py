"""The writers list: which peers may add and delete, as written in a --writers-file.

One peer id per line (base58, as registry-cli id prints it); ``#`` starts a
comment; blank lines are ignored. The peer ids are checked for form (a base58
multihash), so a typo is reported with its line instead of silently locking
out the peer it was meant to name.
"""

from __future__ import annotations

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_IDENTITY, _SHA2_256 = 0x00, 0x12


class InvalidWritersList(ValueError):
    """A writers file that cannot be used (names the line)."""


def parse_writers(text: str, source: str = "writers file") -> frozenset[str]:
    peers: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if " " in entry or "\t" in entry:
            raise InvalidWritersList(f"{source}:{number}: one peer id per line, got {entry!r}")
        problem = peer_id_problem(entry)
        if problem:
            raise InvalidWritersList(f"{source}:{number}: {entry!r} is not a peer id: {problem}")
        peers.add(entry)
    return frozenset(peers)


def peer_id_problem(text: str) -> str | None:
    """Why ``text`` is not a base58 libp2p peer id, or None."""
    if any(ch not in _BASE58 for ch in text):
        return "it has characters outside base58"
    raw = _base58_decode(text)
    if len(raw) < 2:
        return "too short"
    code, length = raw[0], raw[1]
    if code not in (_IDENTITY, _SHA2_256) or length != len(raw) - 2:
        return "not a multihash (identity or sha2-256)"
    if code == _SHA2_256 and length != 32:
        return "a sha2-256 multihash has 32 bytes"
    return None


def _base58_decode(text: str) -> bytes:
    number = 0
    for ch in text:
        number = number * 58 + _BASE58.index(ch)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body
