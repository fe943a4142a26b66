"""One trio Event, set for good, shared by every Event of ours once it is set.

A trio Event cannot be cleared, so a set one is the same to every waiter, later or not;
but each keeps an empty set of waiting tasks (216 bytes) for as long as its owner lives.
An Event a connection sets once and keeps (a muxer's "started", a PSK layer's "nonce
in") is swapped for this one as it is set: ~0.8 KB less per connection.
"""

from __future__ import annotations

import trio

SET = trio.Event()
SET.set()


def set_for_good(event: trio.Event) -> trio.Event:
    """Set ``event`` (waking its waiters) and return the shared set Event to keep instead."""
    event.set()
    return SET
