"""Take a genuine signed peer record older than the one held as valid, not forged.

py-libp2p 0.8.1's ``consume_peer_record`` returns False both for a forged record and
for a genuine one older than the record it holds, and its DHT reads False as
"invalid": it logs an error and drops that provider or closer peer from the lookup.
Older records are normal in a mixed network: js-libp2p re-signs its record when its
own peer data changes (seen within seconds of start-up), and a py-libp2p DHT server
relays the one it saw first. We keep the newer record and let the lookup use the peer.
"""

from __future__ import annotations

from typing import Any

from libp2p.peer.id import ID


def accept_older_peer_records(peerstore: Any) -> None:
    consume = peerstore.consume_peer_record

    def consume_keeping_the_newest(envelope: Any, ttl: int) -> bool:
        if consume(envelope, ttl):
            return True
        try:
            record = envelope.record()
            held = peerstore.get_peer_record(record.peer_id)
            return bool(
                ID.from_pubkey(envelope.public_key) == record.peer_id
                and held is not None
                and held.record().seq > record.seq
            )
        except Exception:
            return False

    peerstore.consume_peer_record = consume_keeping_the_newest
