"""Leaf links of a regular file, hashed on several threads at once.

Leaves are independent, so a file's chunks can be hashed in parallel and only their
32-byte digests joined in order. Each worker reads (``pread``) *and* hashes its own
blocks: handing a freshly read buffer to a hasher on another core measured slower here
than doing both on one core, whereas two read-and-hash workers nearly double throughput.

Worker ``w`` of ``n`` takes blocks ``w, w + n, w + 2n, ...``; the consumer takes block
``k`` from worker ``k % n``'s queue, so order needs no sorting. The queues are bounded:
memory is one block buffer per worker plus a few blocks' links queued.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Generator

from adapters.unixfs.balanced import LeafHasher
from adapters.unixfs.dag_pb import Link
from adapters.unixfs.prefetch import Failure, offer

_QUEUED_BLOCKS = 2

_Item = tuple[list[Link], int] | Failure


def parallel_leaves(
    fd: int, start: int, leaves: LeafHasher, block_size: int, workers: int
) -> Generator[tuple[list[Link], int], None, None]:
    """``(links, bytes)`` per block of ``fd`` from offset ``start`` to EOF, in file order.

    ``block_size`` must be a multiple of the chunk size, so that only the block that
    ends the file can hold a short chunk. The first short block is taken as the end.
    """
    if block_size % leaves.chunk_size:
        raise ValueError(f"block_size {block_size} is no multiple of {leaves.chunk_size}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    stop = threading.Event()
    outputs: list[queue.Queue[_Item]] = [
        queue.Queue(maxsize=_QUEUED_BLOCKS) for _ in range(workers)
    ]

    def work(first: int, out: queue.Queue[_Item]) -> None:
        buffer = memoryview(bytearray(block_size))
        try:
            for block in range(first, 2**62, workers):
                filled = _pread_full(fd, buffer, start + block * block_size)
                links = [
                    leaves.link(buffer[at : min(at + leaves.chunk_size, filled)])
                    for at in range(0, filled, leaves.chunk_size)
                ]
                if not offer(out, (links, filled), stop) or filled < block_size:
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer(out, Failure(error), stop)

    threads = [
        threading.Thread(target=work, args=(w, outputs[w]), name=f"unixfs-leaves-{w}")
        for w in range(workers)
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    try:
        for block in range(2**62):
            item = outputs[block % workers].get()
            if isinstance(item, Failure):
                raise item.error
            links, filled = item
            yield links, filled
            if filled < block_size:
                break
    finally:
        stop.set()
    for thread in threads:
        thread.join()


def _pread_full(fd: int, buffer: memoryview, offset: int) -> int:
    """Fill ``buffer`` from ``offset``; fewer bytes only at end of file."""
    filled = 0
    while filled < len(buffer):
        got = os.preadv(fd, [buffer[filled:]], offset + filled)
        if not got:
            break
        filled += got
    return filled
