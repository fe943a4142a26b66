"""The DHT key of a rendezvous CID, exactly as py-libp2p's own provide/find_providers.

py-libp2p keeps the mapping (CID text -> its multihash bytes) in the private
``_encode_key``; our rendezvous asks DHT servers directly and must use the same key.
"""

from __future__ import annotations


def provider_key(cid: str) -> bytes:
    from libp2p.kad_dht.kad_dht import _encode_key

    return _encode_key(cid)
