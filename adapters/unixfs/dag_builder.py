"""Incremental CIDv0 of a UnixFS file as kubo builds it by default, in bounded memory.

kubo v0 defaults: fixed-size chunks of 262144 bytes, each wrapped as a dag-pb UnixFS
``File`` leaf (not a raw leaf), a balanced tree of at most 174 links per node, sha2-256,
CIDv0. A one-chunk file is just its leaf; the empty file is a leaf without data.
"""

from __future__ import annotations

from adapters.unixfs.balanced import (
    CHUNK_SIZE,
    MAX_LINKS,
    BalancedTree,
    BytesLike,
    LeafHasher,
)
from adapters.unixfs.dag_pb import cid_v0


class UnixfsFileBuilder:
    """Feed a file's bytes with :meth:`update` (any piece sizes), then :meth:`finish`.

    Full chunks are hashed straight from the caller's buffer; only the bytes of a chunk
    that straddles two ``update`` calls are copied, into one chunk-sized buffer. Memory is
    that buffer plus at most ``max_links`` links per tree level.
    """

    def __init__(self, chunk_size: int = CHUNK_SIZE, max_links: int = MAX_LINKS) -> None:
        self._leaves = LeafHasher(chunk_size)
        self._tree = BalancedTree(max_links)
        self._chunk_size = chunk_size
        self._pending = memoryview(bytearray(chunk_size))
        self._pending_len = 0
        self._size = 0
        self._cid: str | None = None

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    @property
    def tree(self) -> BalancedTree:
        return self._tree

    def update(self, data: BytesLike) -> None:
        if self._cid is not None:
            raise RuntimeError("update() after finish()")
        view = memoryview(data).cast("B")
        self._size += len(view)
        size = self._chunk_size
        if self._pending_len:
            take = min(size - self._pending_len, len(view))
            self._pending[self._pending_len : self._pending_len + take] = view[:take]
            self._pending_len += take
            view = view[take:]
            if self._pending_len < size:
                return
            self._tree.add(self._leaves.link(self._pending))
            self._pending_len = 0
        whole = len(view) - len(view) % size
        for start in range(0, whole, size):
            self._tree.add(self._leaves.link(view[start : start + size]))
        rest = len(view) - whole
        if rest:
            self._pending[:rest] = view[whole:]
            self._pending_len = rest

    def finish(self) -> str:
        """The CIDv0 of everything fed; further calls return it again."""
        if self._cid is None:
            # A short last chunk; or, for the empty input, the tree adds the empty leaf.
            if self._pending_len:
                self._tree.add(self._leaves.link(self._pending[: self._pending_len]))
                self._pending_len = 0
            self._cid = cid_v0(self._tree.finish().digest)
        return self._cid


def content_id_of_bytes(data: BytesLike, chunk_size: int = CHUNK_SIZE) -> str:
    """The CIDv0 of bytes already in memory (small inputs, tests)."""
    builder = UnixfsFileBuilder(chunk_size)
    builder.update(data)
    return builder.finish()
