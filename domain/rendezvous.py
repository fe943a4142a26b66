"""The DHT key a rendezvous string is advertised under, as go-libp2p computes it."""

from __future__ import annotations

import base64
import hashlib

REGISTRY_RENDEZVOUS = "registry-service"

_CID_V1 = 0x01
_RAW_CODEC = 0x55
_SHA2_256 = 0x12


def rendezvous_multihash(namespace: str) -> bytes:
    return bytes([_SHA2_256, 32]) + hashlib.sha256(namespace.encode("utf-8")).digest()


def rendezvous_cid(namespace: str) -> str:
    """``CIDv1(raw, sha2-256(namespace))`` in base32 multibase ('b...')."""
    raw = bytes([_CID_V1, _RAW_CODEC]) + rendezvous_multihash(namespace)
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")
