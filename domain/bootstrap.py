"""Bootstrap peer addresses: multiaddrs that name a peer id."""

from __future__ import annotations

import msgspec

_BASE58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_BASE32 = set("abcdefghijklmnopqrstuvwxyz234567")


class InvalidBootstrapAddress(ValueError):
    """A bootstrap that is not a multiaddr ending in /p2p/<peer id>."""


class BootstrapAddress(msgspec.Struct, frozen=True):
    """``transport`` is the dialable part, ``peer_id`` the base58/base32 peer id."""

    transport: str
    peer_id: str

    def __str__(self) -> str:
        return f"{self.transport}/p2p/{self.peer_id}"


def looks_like_peer_id(text: str) -> bool:
    if text.startswith(("Qm", "12D3", "16U")) and set(text) <= _BASE58:
        return len(text) >= 40
    # CIDv1 form of a peer id (libp2p-key), base32 multibase
    return text.startswith("b") and set(text[1:]) <= _BASE32 and len(text) > 40


def parse_bootstrap(text: str) -> BootstrapAddress:
    """Parse ``/ip4/1.2.3.4/tcp/4001/p2p/<id>`` (``/ipfs/`` accepted as an alias)."""
    raw = text.strip()
    if not raw.startswith("/"):
        raise InvalidBootstrapAddress(f"{text!r} is not a multiaddr (it must start with '/')")
    parts = raw.rstrip("/").split("/")[1:]
    if len(parts) < 2 or parts[-2] not in ("p2p", "ipfs"):
        raise InvalidBootstrapAddress(
            f"{text!r} names no peer: a bootstrap must end in /p2p/<peer id>"
        )
    peer_id = parts[-1]
    if not looks_like_peer_id(peer_id):
        raise InvalidBootstrapAddress(f"{text!r}: {peer_id!r} is not a libp2p peer id")
    transport = "/" + "/".join(parts[:-2])
    if transport == "/":
        raise InvalidBootstrapAddress(f"{text!r} has a peer id but no address to dial")
    if any(p == "" for p in parts[:-2]):
        raise InvalidBootstrapAddress(f"{text!r} has an empty component")
    return BootstrapAddress(transport=transport, peer_id=peer_id)


def parse_bootstraps(texts: list[str]) -> list[BootstrapAddress]:
    """Parse several, dropping duplicates but keeping the order given."""
    seen: dict[BootstrapAddress, None] = {}
    for text in texts:
        seen.setdefault(parse_bootstrap(text), None)
    return list(seen)


def split_bootstraps_env(value: str | None) -> list[str]:
    """``P2P_BOOTSTRAPS`` holds a whitespace-separated list."""
    return value.split() if value else []
