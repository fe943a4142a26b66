"""Our DHT servers keep more than 20 providers of one key; py-libp2p's own store does not."""

from __future__ import annotations

from libp2p.kad_dht.provider_store import ProviderStore
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.upstream.provider_cap import raise_provider_cap
from adapters.libp2p.upstream.requirements import check as check_needs

KEY = b"\x12\x20" + bytes(32)


def _providers(count: int) -> list[PeerInfo]:
    from libp2p.peer.id import ID

    return [PeerInfo(ID.from_pubkey(ephemeral_identity().public_key), []) for _ in range(count)]


def _store() -> ProviderStore:
    from types import SimpleNamespace

    host = SimpleNamespace(get_id=lambda: "us")
    return ProviderStore(host=host)  # type: ignore[arg-type]


def test_upstream_still_ignores_the_21st_provider_of_a_key():
    store = _store()
    for provider in _providers(25):
        store.add_provider(KEY, provider)
    # If this fails, py-libp2p changed: provider_cap.py may no longer be needed.
    assert len(store.get_providers(KEY)) == 20


def test_ours_keeps_up_to_the_cap_and_refreshes_known_ones():
    store = _store()
    raise_provider_cap(store, cap=30)
    providers = _providers(35)
    for provider in providers:
        store.add_provider(KEY, provider)
    assert len(store.get_providers(KEY)) == 30
    first_time = store.providers[KEY][str(providers[25].peer_id)].timestamp
    store.add_provider(KEY, providers[25])  # known: refreshed, not refused
    assert store.providers[KEY][str(providers[25].peer_id)].timestamp >= first_time
    assert len(store.get_providers(KEY)) == 30


def test_the_names_the_cap_touches_exist_upstream():
    from adapters.libp2p.upstream import NEEDS

    assert any(n.change == "provider cap" for n in NEEDS)
    check_needs(tuple(n for n in NEEDS if n.change == "provider cap"))
