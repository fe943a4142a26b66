"""The seam that gives py-libp2p's connection and stream objects UncontendedLocks.

Upstream tests: each class in ``LOCKS`` still makes, in its ``__init__``, exactly the
trio locks we replace. If py-libp2p adds one, drops one or renames one, they fail.
"""

from __future__ import annotations

import inspect
import re
import socket
import sys

import pytest
import trio

from adapters.libp2p.uncontended_lock import UncontendedLock
from adapters.libp2p.upstream.uncontended_locks import (
    LOCKS,
    READ_WRITE_LOCKS,
    WriteSideLock,
    use_uncontended_locks,
)

_MADE_LOCK = re.compile(r"self\.(\w+)\s*=\s*trio\.Lock\(\)")
_MADE_RW_LOCK = re.compile(r"self\.(\w+)\s*=\s*ReadWriteLock\(\)")


def _upstream_init(cls: type) -> object:
    init = cls.__dict__["__init__"]
    return getattr(init, "__wrapped__", init)


def test_each_class_makes_exactly_the_locks_we_replace() -> None:
    for cls, names in LOCKS.items():
        source = inspect.getsource(_upstream_init(cls))  # type: ignore[arg-type]
        assert set(_MADE_LOCK.findall(source)) == set(names), cls.__qualname__


def test_each_read_write_lock_we_replace_is_used_only_for_writing() -> None:
    assert set(READ_WRITE_LOCKS) <= set(LOCKS)  # one __init__ wrapper per class
    for cls, names in READ_WRITE_LOCKS.items():
        source = inspect.getsource(_upstream_init(cls))  # type: ignore[arg-type]
        assert set(_MADE_RW_LOCK.findall(source)) == set(names), cls.__qualname__
        module = inspect.getsource(inspect.getmodule(cls))  # type: ignore[arg-type]
        for name in names:
            used = set(re.findall(rf"\.{name}\.(\w+)", module))
            assert used == {"write_lock"}, (cls.__qualname__, name, used)


async def test_the_write_side_lock_excludes_a_second_writer() -> None:
    lock = WriteSideLock()
    async def second_writer() -> None:
        with pytest.raises(trio.WouldBlock):
            lock.write_lock().acquire_nowait()

    async with lock.write_lock(), trio.open_nursery() as nursery:
        assert lock.write_lock().locked()
        nursery.start_soon(second_writer)
    assert not lock.write_lock().locked()


def test_the_stream_path_makes_no_other_trio_lock_in_an_init() -> None:
    """The modules of the request path: a new ``trio.Lock()`` there is a new row for LOCKS."""
    modules = {sys.modules[cls.__module__] for cls in LOCKS}
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cls in LOCKS or "__init__" not in vars(cls):
                continue
            source = inspect.getsource(_upstream_init(cls))  # type: ignore[arg-type]
            assert not _MADE_LOCK.findall(source), cls.__qualname__
            assert not _MADE_RW_LOCK.findall(source), cls.__qualname__


async def test_a_tcp_stream_built_after_the_seam_holds_uncontended_locks() -> None:
    from libp2p.io.trio import TrioTCPStream

    use_uncontended_locks()
    use_uncontended_locks()  # idempotent: one wrapper, not two
    assert getattr(_upstream_init(TrioTCPStream), "__wrapped__", None) is None
    a, b = socket.socketpair()
    with a, b:
        stream = TrioTCPStream(trio.SocketStream(trio.socket.from_stdlib_socket(a)))
        assert isinstance(stream.read_lock, UncontendedLock)
        assert isinstance(stream.write_lock, UncontendedLock)
        await stream.write(b"ping")
        assert b.recv(4) == b"ping"
