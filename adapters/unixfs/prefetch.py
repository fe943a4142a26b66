"""Run a producer on a worker thread, a few items ahead of its consumer.

For streams whose producer waits or works (a socket, ``docker save``, a pipe), reading
overlaps hashing: both release the GIL. The queue is bounded: memory stays at ``depth``
items in flight plus the one being consumed and the one being produced.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")
Q = TypeVar("Q")

_DONE = object()
_POLL_SECONDS = 0.05


class Failure:
    """An exception raised on a worker thread, carried to the consumer to re-raise."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def offer(items: queue.Queue[Q], item: Q, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` gets set first: a consumer that went away must not
    leave a producer blocked on a full queue forever."""
    while not stop.is_set():
        try:
            items.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def prefetch(source: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """Yield ``source``'s items in order, each produced on a worker thread ahead of time.

    An exception in ``source`` is re-raised here. If the consumer stops early (an error,
    ``close()``), the worker is told to stop and exits after its current item, unwaited
    for: it may be blocked reading a pipe. It is a daemon, so it cannot hold up
    interpreter exit either.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                if not offer(items, item, stop):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer(items, Failure(error), stop)
            return
        offer(items, _DONE, stop)

    worker = threading.Thread(target=produce, name="unixfs-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                break
            if isinstance(item, Failure):
                raise item.error
            yield item  # type: ignore[misc]  # everything else came from source: a T
    finally:
        stop.set()
    worker.join()  # reached only after _DONE: the worker is returning
