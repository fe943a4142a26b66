"""Stop py-libp2p's AutoConnector (a Python-only addition; go-libp2p has none).

It tops connections up to ~150 by dialling every peer in the peerstore every 30 s,
short-lived CLI clients included: wasted dials and log noise for a registry, whose
peers are its bootstraps and whoever calls it. It also remembers every peer that
ever disconnected, and only its dialling loop prunes that memory: one entry per
short-lived client for the daemon's whole life, so that memory goes too.
"""

from __future__ import annotations

from typing import Any


async def _no_dials() -> None:
    return None


def disable_auto_dialer(network: Any) -> None:
    connector = getattr(network, "auto_connector", None)
    if connector is not None:
        connector.maybe_connect = _no_dials
        connector.record_disconnect = lambda peer_id: None
