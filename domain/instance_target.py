"""One registry-service instance named for diagnosis: a peer id, or a full multiaddr."""

from __future__ import annotations

import msgspec

from domain.bootstrap import (
    BootstrapAddress,
    InvalidBootstrapAddress,
    looks_like_peer_id,
    parse_bootstrap,
)


class InstanceTarget(msgspec.Struct, frozen=True):
    """``address`` is set when the instance was named by a dialable multiaddr."""

    peer_id: str
    address: BootstrapAddress | None = None


def parse_instance(text: str) -> InstanceTarget:
    """``PEERID`` or ``/ip4/.../tcp/.../p2p/PEERID``."""
    raw = text.strip()
    if raw.startswith("/"):
        address = parse_bootstrap(raw)
        return InstanceTarget(peer_id=address.peer_id, address=address)
    if not looks_like_peer_id(raw):
        raise InvalidBootstrapAddress(
            f"--instance {text!r} is neither a peer id (Qm…, 12D3Koo…) nor a multiaddr ending "
            "in /p2p/<peer id>"
        )
    return InstanceTarget(peer_id=raw)
