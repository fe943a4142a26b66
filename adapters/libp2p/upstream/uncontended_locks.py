"""py-libp2p's connection and stream locks, as locks that do not yield when free.

Every lock below is a ``trio.Lock`` made in its object's ``__init__`` and taken only
with ``async with``. trio's lock is a checkpoint even when free, so a `/get/0.1`
exchange went through the scheduler a dozen times for locks alone (Yamux session and
stream, the stream's state, the TCP stream): with a js-libp2p client on 32 streams,
1 250-1 320 req/s with trio's, 1 943-2 029 with ours (adapters/libp2p/uncontended_lock.py
says what differs). A Yamux stream's ``rw_lock`` (a ``ReadWriteLock``: a trio lock and
a trio semaphore) is used only through ``write_lock()``; ours is one UncontendedLock.
Process-wide: the classes' ``__init__`` swaps them after upstream's.
tests/unit/test_uncontended_locks.py fails if one of these classes makes a trio lock
we do not replace, or stops making one we do, or Yamux uses another side of rw_lock.
"""

from __future__ import annotations

import functools
from typing import Any

from libp2p.io.trio import TrioTCPStream
from libp2p.network.stream.net_stream import NetStream
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream

from adapters.libp2p.uncontended_lock import UncontendedLock

# Each class, and the attributes its __init__ sets to a trio.Lock.
LOCKS: dict[type, tuple[str, ...]] = {
    Yamux: ("streams_lock", "_write_lock"),
    YamuxStream: ("window_lock", "close_lock"),
    NetStream: ("_state_lock",),
    TrioTCPStream: ("read_lock", "write_lock"),
}
# Each class, and the attributes its __init__ sets to a ReadWriteLock.
READ_WRITE_LOCKS: dict[type, tuple[str, ...]] = {YamuxStream: ("rw_lock",)}


class WriteSideLock:
    """A ReadWriteLock's ``write_lock()``, all that Yamux streams use of theirs."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = UncontendedLock()

    def write_lock(self) -> UncontendedLock:
        return self._lock

_MARK = "_registry_uncontended_locks"


def use_uncontended_locks() -> None:
    """Make the classes in ``LOCKS`` build their locks as ``UncontendedLock`` (idempotent)."""
    for cls, names in LOCKS.items():
        init = cls.__dict__["__init__"]
        if getattr(init, _MARK, False):
            continue
        cls.__init__ = _swapping(init, names, READ_WRITE_LOCKS.get(cls, ()))  # type: ignore[misc]


def _swapping(init: Any, names: tuple[str, ...], rw_names: tuple[str, ...]) -> Any:
    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        for name in names:
            setattr(self, name, UncontendedLock())
        for name in rw_names:
            setattr(self, name, WriteSideLock())

    setattr(__init__, _MARK, True)
    return __init__
