"""Moving byte streams between threads through a bounded queue.

Two uses: a tar *written* by one thread is read as chunks by the HTTP upload
(build context), and chunks *read* from the engine by one thread are consumed
by the hasher (image save), so that reading and hashing overlap. The queue
bound keeps memory at ``depth * chunk_size`` whatever the stream's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

CHUNK_SIZE = 1 << 20
QUEUE_DEPTH = 8
_POLL_SECONDS = 0.2


class _Done:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Abandoned(Exception):
    """The consumer went away; the producer thread stops quietly."""


class _Channel:
    def __init__(self, depth: int) -> None:
        self._queue: queue.Queue[bytes | _Done | _Failed] = queue.Queue(maxsize=depth)
        self.abandoned = threading.Event()

    def put(self, item: bytes | _Done | _Failed) -> None:
        while True:
            if self.abandoned.is_set():
                raise _Abandoned
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def items(self) -> Iterator[bytes]:
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Done):
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            self.abandoned.set()


class ChunkWriter:
    """A write()-able sink that hands fixed-size chunks to a channel."""

    def __init__(self, channel: _Channel, chunk_size: int) -> None:
        self._channel = channel
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._written = 0

    def write(self, data: bytes, /) -> int:
        self._written += len(data)
        if not self._buffer and len(data) >= self._chunk_size:
            self._channel.put(bytes(data))  # large writes pass without re-buffering
            return len(data)
        self._buffer += data
        while len(self._buffer) >= self._chunk_size:
            self._channel.put(bytes(self._buffer[: self._chunk_size]))
            del self._buffer[: self._chunk_size]
        return len(data)

    def tell(self) -> int:
        """Bytes written so far (tarfile's non-stream write mode asks)."""
        return self._written

    def flush(self) -> None:
        if self._buffer:
            self._channel.put(bytes(self._buffer))
            self._buffer.clear()


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def tell(self) -> int: ...


def written_in_thread(
    produce: Callable[[_Sink], None],
    *,
    chunk_size: int = CHUNK_SIZE,
    depth: int = QUEUE_DEPTH,
    name: str = "stream-writer",
) -> Iterator[bytes]:
    """Run ``produce(sink)`` in a thread; yield what it writes, in chunks.

    An exception in ``produce`` is re-raised in the consumer; a consumer that
    stops early makes the producer stop at its next write.
    """
    channel = _Channel(depth)

    def run() -> None:
        writer = ChunkWriter(channel, chunk_size)
        try:
            produce(writer)
            writer.flush()
            channel.put(_Done())
        except _Abandoned:
            return
        except BaseException as exc:  # handed to the consumer, which raises it
            try:
                channel.put(_Failed(exc))
            except _Abandoned:
                return

    threading.Thread(target=run, name=name, daemon=True).start()
    return channel.items()


def read_ahead(
    chunks: Iterable[bytes], *, depth: int = QUEUE_DEPTH, name: str = "stream-reader"
) -> Iterator[bytes]:
    """Iterate ``chunks`` in a thread, up to ``depth`` chunks ahead of the consumer."""
    channel = _Channel(depth)

    def run() -> None:
        try:
            for chunk in chunks:
                channel.put(chunk)
            channel.put(_Done())
        except _Abandoned:
            return
        except BaseException as exc:
            try:
                channel.put(_Failed(exc))
            except _Abandoned:
                return

    threading.Thread(target=run, name=name, daemon=True).start()
    return channel.items()
