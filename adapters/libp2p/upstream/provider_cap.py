"""More than 20 providers per key in our DHT servers.

py-libp2p 0.8.1's ``ProviderStore.add_provider`` ignores a new provider once a key has
``BUCKET_SIZE`` (20) of them, citing the spec; go- and js-libp2p keep every provider
record they are sent. In a registry network the DHT servers are the registry-service
daemons, so a service with 50 announced instances had 20 findable ones (the first 20;
re-advertising keeps their slots). Ours keeps up to MAX_PROVIDERS_PER_KEY per key, the
same record py-libp2p would have stored below its cap.
"""

from __future__ import annotations

import time
from typing import Any

from libp2p.kad_dht import provider_store as upstream
from libp2p.kad_dht.provider_store import ProviderRecord, ProviderStore
from libp2p.peer.peerinfo import PeerInfo

MAX_PROVIDERS_PER_KEY = 1000


def raise_provider_cap(store: ProviderStore, cap: int = MAX_PROVIDERS_PER_KEY) -> None:
    below_cap = store.add_provider

    def add_provider(key: bytes, provider: PeerInfo) -> None:
        held: dict[str, Any] = store.providers.get(key, {})
        name = str(provider.peer_id) if provider and provider.peer_id else ""
        if name and name not in held and upstream.BUCKET_SIZE <= len(held) < cap:
            held[name] = ProviderRecord(provider_info=provider, timestamp=time.time())
            return
        below_cap(key, provider)

    store.add_provider = add_provider  # type: ignore[method-assign]
