"""kubo's balanced file layout, built bottom-up from leaf digests in bounded memory.

The balanced layout puts every leaf at the same depth and fills subtrees left to right:
what grouping the leaves by ``max_links``, then those parents by ``max_links``, and so on
up to a single root, gives. Built streaming, that needs only the not-yet-closed children
of each level: a stack with one list of at most ``max_links`` links per level.

A level is closed lazily, when a (max_links + 1)-th child arrives, because a full node
that turns out to be the only one of its level must become the root itself, not get a
one-link parent. Below the top, a level never closes with one child but at the very end,
and there a one-link parent *is* what kubo writes (every leaf sits at the same depth).
"""

from __future__ import annotations

import hashlib

from adapters.unixfs.dag_pb import Link, internal_node, leaf_envelope

CHUNK_SIZE = 262_144
MAX_LINKS = 174

BytesLike = bytes | bytearray | memoryview


class LeafHasher:
    """Link to a leaf node: ``PBNode{Data: UnixFS{File, Data: chunk, filesize}}``.

    The chunk is hashed where it lies, between the precomputed envelope bytes, so no leaf
    node is ever assembled in memory. Safe to share between threads (no mutable state).
    """

    def __init__(self, chunk_size: int = CHUNK_SIZE) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.chunk_size = chunk_size
        self._full_head, self._full_tail = leaf_envelope(chunk_size)
        self._full_tsize = len(self._full_head) + chunk_size + len(self._full_tail)

    def link(self, chunk: BytesLike) -> Link:
        size = len(chunk)
        if size == self.chunk_size:
            head, tail, tsize = self._full_head, self._full_tail, self._full_tsize
        elif size > self.chunk_size:
            raise ValueError(f"chunk of {size} bytes exceeds chunk_size {self.chunk_size}")
        else:
            head, tail = leaf_envelope(size)
            tsize = len(head) + size + len(tail)
        # hashlib drops the GIL for buffers this big, so other threads run meanwhile.
        digest = hashlib.sha256(head)
        digest.update(chunk)
        digest.update(tail)
        return Link(digest.digest(), tsize, size)


class BalancedTree:
    """Add the leaves' links in file order with :meth:`add`, then :meth:`finish`.

    Every leaf but the last must hold a full chunk; the caller's chunking ensures it.
    """

    def __init__(self, max_links: int = MAX_LINKS) -> None:
        if max_links < 2:
            raise ValueError(f"max_links must be at least 2, got {max_links}")
        self._max_links = max_links
        self._levels: list[list[Link]] = []

    @property
    def depth(self) -> int:
        """Levels opened so far, the leaves' own level included (0 before any leaf)."""
        return len(self._levels)

    @property
    def live_links(self) -> int:
        """Links held in memory: at most ``max_links`` per level, whatever the file size."""
        return sum(len(level) for level in self._levels)

    def add(self, leaf: Link) -> None:
        self._push(0, leaf)

    def finish(self) -> Link:
        """The root's link. The tree is empty afterwards; with no leaf, the empty file's."""
        if not self._levels:
            self._push(0, LeafHasher(1).link(b""))
        # Close every level below the top, bottom-up; a close may overflow the level above
        # it, which can open one more level, hence no precomputed range.
        level = 0
        while level < len(self._levels) - 1:
            self._push(level + 1, _close(self._levels[level]))
            self._levels[level] = []
            level += 1
        top = self._levels[-1]
        self._levels = []
        # Only a one-leaf file ends with a single link on top: kubo makes that leaf the root.
        return top[0] if len(top) == 1 else _close(top)

    def _push(self, level: int, link: Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        children = self._levels[level]
        if len(children) == self._max_links:
            self._levels[level] = [link]
            self._push(level + 1, _close(children))
            return
        children.append(link)


def _close(children: list[Link]) -> Link:
    node = internal_node(children)
    return Link(
        hashlib.sha256(node).digest(),
        len(node) + sum(c.tsize for c in children),
        sum(c.filesize for c in children),
    )
