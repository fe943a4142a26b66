"""ContentHasher adapter: the CIDv0 that ``ipfs add`` (kubo defaults) gives a stream."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import closing
from typing import IO

from adapters.unixfs.balanced import CHUNK_SIZE, MAX_LINKS, BalancedTree, LeafHasher
from adapters.unixfs.dag_builder import UnixfsFileBuilder
from adapters.unixfs.dag_pb import cid_v0
from adapters.unixfs.parallel import parallel_leaves
from adapters.unixfs.prefetch import prefetch

# Buffers in rotation when streaming a non-seekable file: one being hashed, ``_DEPTH``
# queued, one being filled. A buffer is refilled only once the hasher has asked for the
# one after it, by which time it is done with this one.
_DEPTH = 1
_POOL = _DEPTH + 2


def _default_workers() -> int:
    # Two read-and-hash threads measured 1.7x one sha256 pass on a 2-core machine; more
    # would mostly contend with the registry's own work on the small hosts it targets.
    return max(1, min(2, os.cpu_count() or 1))


class UnixfsContentHasher:
    """Implements the ``ContentHasher`` port: CIDv0 of a UnixFS file, kubo v0 defaults.

    ``chunk_size`` other than 262144 gives a different (non-kubo-default) id; it exists so
    tests can build deep trees from little data.

    Threads (unless ``threaded=False``, which keeps everything on the calling thread): a
    regular file is read and hashed by ``workers`` threads in parallel, each with its own
    block of ``block_chunks`` chunks; any other stream is read one block ahead of the
    hashing on one worker thread. Memory is those block buffers (2 x 1 MiB by default)
    plus one node per tree level, whatever the input size.
    """

    def __init__(
        self,
        chunk_size: int = CHUNK_SIZE,
        *,
        workers: int | None = None,
        threaded: bool = True,
        block_chunks: int = 4,
    ) -> None:
        if block_chunks < 1:
            raise ValueError(f"block_chunks must be at least 1, got {block_chunks}")
        self._leaves = LeafHasher(chunk_size)
        self._chunk_size = chunk_size
        self._block_size = block_chunks * chunk_size
        self._threaded = threaded
        self._workers = (workers or _default_workers()) if threaded else 1

    def content_id(self, chunks: Iterable[bytes]) -> str:
        """Consume ``chunks`` (any sizes) incrementally, in bounded memory."""
        return self._hash_stream(iter(chunks))

    def content_id_of_file(self, file: str | os.PathLike[str] | IO[bytes]) -> str:
        """The id of a file by path, or of an open binary stream read to its end."""
        if isinstance(file, str | os.PathLike):
            # Unbuffered: reads land straight in our buffers, no stdio copy in between.
            with open(file, "rb", buffering=0) as stream:
                return self._hash_open(stream)
        return self._hash_open(file)

    def _hash_open(self, stream: IO[bytes]) -> str:
        fd = _regular_file_fd(stream) if self._threaded else None
        if fd is None:
            return self._hash_stream(_read_blocks(stream, self._block_size))
        # pread leaves the stream's position alone: read from it, then leave it at EOF
        # as a sequential read would. A buffered reader's tell() accounts for its buffer.
        start = stream.tell()
        tree = BalancedTree(MAX_LINKS)
        end = start
        blocks = parallel_leaves(fd, start, self._leaves, self._block_size, self._workers)
        with closing(blocks):  # on any error, stop the workers now
            for links, filled in blocks:
                for link in links:
                    tree.add(link)
                end += filled
        stream.seek(end)
        return cid_v0(tree.finish().digest)

    def _hash_stream(self, pieces: Iterator[bytes | memoryview]) -> str:
        builder = UnixfsFileBuilder(self._chunk_size)
        if not self._threaded:
            for piece in pieces:
                builder.update(piece)
            return builder.finish()
        # closing: on any error, stop the reader thread now, not at garbage collection.
        with closing(prefetch(pieces, depth=_DEPTH)) as ahead:
            for piece in ahead:
                builder.update(piece)
        return builder.finish()


def _regular_file_fd(stream: IO[bytes]) -> int | None:
    """The descriptor to pread from, if ``stream`` is a seekable regular file."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not stream.seekable():
            return None
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None
    return fd


def _read_blocks(stream: IO[bytes], block_size: int) -> Iterator[memoryview | bytes]:
    """Blocks of ``stream`` until EOF, full-sized but the last, into recycled buffers.

    Each yielded view stays valid until ``_POOL - 1`` further blocks have been asked for.
    """
    readinto = getattr(stream, "readinto", None)
    if readinto is None:  # a read()-only file-like object: no reuse, but still streamed
        while block := stream.read(block_size):
            yield block
        return
    views = [memoryview(bytearray(block_size)) for _ in range(_POOL)]
    for turn in range(2**62):
        view = views[turn % _POOL]
        filled = 0
        # A pipe or socket may return less than asked before its end; only 0 is EOF.
        while filled < block_size:
            got = readinto(view[filled:])
            if not got:
                break
            filled += got
        if filled:
            yield view[:filled]
        if filled < block_size:
            return
