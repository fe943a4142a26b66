"""Stream open/close notifications sent only to notifees that do something with them.

py-libp2p's Swarm tells every notifee of every stream opened and closed, each time
in a new nursery with one task per notifee. The notifees our nodes carry
(py-libp2p's TagStore and identify notifees) do nothing with stream events, and
those nurseries were about a tenth of the CPU of a request/response exchange
(cProfile of benchmarks/trace_frames.py). Connection and listen events, and
stream events for any other notifee, go out as before.
"""

from __future__ import annotations

from typing import Any

from libp2p.host.basic_host import _IdentifyNotifee
from libp2p.network.tag_store import TagStoreNotifee

# Notifee methods known to ignore their call; tests/unit/test_stream_notifications.py
# checks that py-libp2p's still do.
IGNORED_STREAM_EVENTS = {
    (TagStoreNotifee, "opened_stream"),
    (TagStoreNotifee, "closed_stream"),
    (_IdentifyNotifee, "opened_stream"),
    (_IdentifyNotifee, "closed_stream"),
}
_STREAM_EVENTS = {"opened_stream", "closed_stream"}


def notify_only_listening_notifees(network: Any) -> None:
    """Make ``network`` (a Swarm) skip notifees that ignore stream events."""
    notify = network._notify

    async def _notify(method: str, *args: Any) -> None:
        if method in _STREAM_EVENTS and all(
            (type(notifee), method) in IGNORED_STREAM_EVENTS for notifee in network.notifees
        ):
            return
        await notify(method, *args)

    network._notify = _notify
