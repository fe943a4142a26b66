"""The UnixFS CIDv0 builder and hasher, against a slow reference written independently here.

The reference builds every leaf node in memory with a generic protobuf writer, groups the
level lists by ``max_links`` until one node is left, and base58-encodes by long division:
none of it shares code with the streaming implementation. The real implementations (kubo's
algorithm as ipfs-cid and ipfs-unixfs-importer run it) are compared in the integration
tests; this checks the same boundaries in milliseconds.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from adapters.unixfs.balanced import BalancedTree, LeafHasher
from adapters.unixfs.dag_builder import UnixfsFileBuilder, content_id_of_bytes
from adapters.unixfs.dag_pb import cid_v0, varint
from adapters.unixfs.hasher import UnixfsContentHasher
from adapters.unixfs.prefetch import prefetch

KNOWN_TEXT = b"Ivan, Michael, Andrew, Henry, and Thomas are pretty cool eh\n"
KNOWN_CID = "QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn"
EMPTY_CID = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


# --- slow reference -------------------------------------------------------------------


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return _uvarint(number << 3) + _uvarint(value)
    return _uvarint(number << 3 | 2) + _uvarint(len(value)) + value


def _uvarint(n: int) -> bytes:
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        out += bytes([low | (0x80 if n else 0)])
        if not n:
            return out


def _unixfs_file(data: bytes, blocksizes: list[int]) -> bytes:
    msg = _field(1, 2)
    if data:
        msg += _field(2, data)
    msg += _field(3, len(data) + sum(blocksizes))
    return msg + b"".join(_field(4, size) for size in blocksizes)


def _base58(raw: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    digits = [0]
    for byte in raw:
        carry = byte
        for i in range(len(digits)):
            carry += digits[i] << 8
            digits[i], carry = carry % 58, carry // 58
        while carry:
            digits.append(carry % 58)
            carry //= 58
    return "".join(alphabet[d] for d in reversed(digits))


def reference_cid(data: bytes, chunk_size: int, max_links: int = 174) -> str:
    # (serialized node, file bytes below, cumulative size) per node of the current level
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    level = []
    for chunk in chunks:
        node = _field(1, _unixfs_file(chunk, []))
        level.append((node, len(chunk), len(node)))
    while len(level) > 1:
        parents = []
        for i in range(0, len(level), max_links):
            group = level[i : i + max_links]
            links = b"".join(
                _field(
                    2,
                    _field(1, b"\x12\x20" + hashlib.sha256(n).digest())
                    + _field(2, b"")
                    + _field(3, tsize),
                )
                for n, _, tsize in group
            )
            sizes = [size for _, size, _ in group]
            node = links + _field(1, _unixfs_file(b"", sizes))
            parents.append((node, sum(sizes), len(node) + sum(t for _, _, t in group)))
        level = parents
    return _base58(b"\x12\x20" + hashlib.sha256(level[0][0]).digest())


def stream(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


# --- known values and the encoding pieces ----------------------------------------------


def test_known_vector_from_the_reference_doc() -> None:
    assert content_id_of_bytes(KNOWN_TEXT) == KNOWN_CID
    assert UnixfsContentHasher().content_id([KNOWN_TEXT]) == KNOWN_CID


def test_empty_input_is_kubos_empty_file() -> None:
    assert content_id_of_bytes(b"") == EMPTY_CID
    assert UnixfsContentHasher().content_id([]) == EMPTY_CID
    assert UnixfsContentHasher().content_id([b"", b""]) == EMPTY_CID
    assert cid_v0(BalancedTree().finish().digest) == EMPTY_CID


def test_reference_agrees_on_the_known_values() -> None:
    assert reference_cid(KNOWN_TEXT, 262144) == KNOWN_CID
    assert reference_cid(b"", 262144) == EMPTY_CID


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 16383, 16384, 2**32, 2**63])
def test_varint_matches_reference(n: int) -> None:
    assert varint(n) == _uvarint(n)


def test_cid_v0_rejects_other_digest_lengths() -> None:
    with pytest.raises(ValueError):
        cid_v0(b"\x00" * 31)


# --- tree shapes at every boundary, with chunks small enough to reach them cheaply ----

_LINKS = 174
_BOUNDARIES = [
    0,
    1,
    2,
    _LINKS - 1,
    _LINKS,
    _LINKS + 1,
    2 * _LINKS,
    2 * _LINKS + 1,
    _LINKS * _LINKS,  # largest depth-2 tree
    _LINKS * _LINKS + 1,  # smallest depth-3 tree: a one-link chain on its right
    _LINKS * _LINKS + _LINKS + 1,
    2 * _LINKS * _LINKS + 3,
]


@pytest.mark.parametrize("chunks", _BOUNDARIES)
@pytest.mark.parametrize("tail", [0, 1])
def test_boundaries_with_one_byte_chunks(chunks: int, tail: int) -> None:
    # chunk_size 2 with a 1-byte tail makes the last chunk short, as in real files.
    chunk_size = 2 if tail else 1
    data = stream(chunks * chunk_size + tail)
    assert content_id_of_bytes(data, chunk_size) == reference_cid(data, chunk_size)


@pytest.mark.parametrize("max_links", [2, 3, 8])
def test_deep_trees_with_small_fan_out(max_links: int) -> None:
    full = 1
    while full <= 1024:  # up to depth 11 for a fan-out of 2, 4 for 8
        full *= max_links
        for n in (full - 1, full, full + 1, full + max_links + 1):
            data = stream(n)
            builder = UnixfsFileBuilder(chunk_size=1, max_links=max_links)
            builder.update(data)
            assert builder.finish() == reference_cid(data, 1, max_links), (max_links, n)


@pytest.mark.parametrize("size", [0, 1, 262143, 262144, 262145, 3 * 262144 + 17])
def test_default_chunk_size_around_one_chunk(size: int) -> None:
    data = stream(size)
    assert content_id_of_bytes(data) == reference_cid(data, 262144)


def test_piece_sizes_do_not_matter() -> None:
    data = stream(50_000)
    expected = content_id_of_bytes(data, 64)
    rng = random.Random(3)
    for _ in range(20):
        builder = UnixfsFileBuilder(64, max_links=5)
        at = 0
        while at < len(data):
            step = rng.choice([0, 1, 63, 64, 65, 200, 1000])
            builder.update(data[at : at + step])
            at += step
        assert builder.finish() == reference_cid(data, 64, 5)
    builder = UnixfsFileBuilder(64)
    builder.update(bytearray(data[:100]))
    builder.update(memoryview(data)[100:])
    assert builder.finish() == expected


def test_deterministic_and_finish_is_final() -> None:
    data = stream(10_000)
    builder = UnixfsFileBuilder(100)
    builder.update(data)
    first = builder.finish()
    assert builder.finish() == first == content_id_of_bytes(data, 100)
    assert builder.size == len(data)
    with pytest.raises(RuntimeError):
        builder.update(b"x")


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        UnixfsFileBuilder(0)
    with pytest.raises(ValueError):
        UnixfsFileBuilder(16, max_links=1)
    with pytest.raises(ValueError):
        LeafHasher(4).link(b"12345")


# --- bounded memory -------------------------------------------------------------------


def test_live_links_stay_within_one_node_per_level() -> None:
    builder = UnixfsFileBuilder(chunk_size=1)
    piece = stream(_LINKS)
    for _ in range(2 * _LINKS + 1):  # ~ 61k leaves: three levels
        builder.update(piece)
        tree = builder.tree
        assert tree.live_links <= _LINKS * tree.depth
    assert builder.tree.depth == 3
    assert builder.tree.live_links <= 3 * _LINKS


def _repeat(piece: bytes, times: int) -> Iterator[bytes]:
    for _ in range(times):
        yield piece


@pytest.mark.parametrize("threaded", [False, True])
def test_memory_does_not_grow_with_input_size(threaded: bool) -> None:
    piece = stream(1 << 20)  # allocated before tracing: the source, not the hasher
    hasher = UnixfsContentHasher(threaded=threaded)
    tracemalloc.start()
    try:
        hasher.content_id(_repeat(piece, 64))  # 64 MiB, 256 leaves
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one chunk of carry-over buffer plus links and bookkeeping; 64 MiB if it accumulated
    assert peak < 1 << 20


# --- the adapter's read paths give the same id ----------------------------------------


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 4096 * 7, 4096 * 7 + 5])
@pytest.mark.parametrize(("workers", "block_chunks"), [(1, 1), (2, 1), (2, 3), (3, 2)])
def test_file_paths_match_streaming(
    tmp_path: os.PathLike[str], size: int, workers: int, block_chunks: int
) -> None:
    data = stream(size)
    path = os.path.join(tmp_path, "f.bin")
    with open(path, "wb") as out:
        out.write(data)
    expected = reference_cid(data, 1024)
    hasher = UnixfsContentHasher(1024, workers=workers, block_chunks=block_chunks)
    assert hasher.content_id_of_file(path) == expected
    assert UnixfsContentHasher(1024, threaded=False).content_id_of_file(path) == expected


def test_open_file_is_read_from_its_position_to_the_end(tmp_path: os.PathLike[str]) -> None:
    data = stream(10_000)
    path = os.path.join(tmp_path, "f.bin")
    with open(path, "wb") as out:
        out.write(data)
    for buffering in (0, -1):
        with open(path, "rb", buffering=buffering) as f:
            f.read(123)
            assert UnixfsContentHasher(256).content_id_of_file(f) == reference_cid(data[123:], 256)
            assert f.read() == b""


def test_pipe_and_read_only_streams(tmp_path: os.PathLike[str]) -> None:
    data = stream(300_000)
    expected = content_id_of_bytes(data, 4096)
    read_end, write_end = os.pipe()

    def write() -> None:
        with open(write_end, "wb") as w:
            for at in range(0, len(data), 1000):  # odd writes: short reads on the pipe
                w.write(data[at : at + 1000])

    writer = threading.Thread(target=write)
    writer.start()
    with open(read_end, "rb", buffering=0) as r:
        assert UnixfsContentHasher(4096).content_id_of_file(r) == expected
    writer.join()

    class ReadOnly:
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def read(self, n: int) -> bytes:
            return self._inner.read(n)

    assert UnixfsContentHasher(4096).content_id_of_file(ReadOnly()) == expected  # type: ignore[arg-type]
    assert UnixfsContentHasher(4096).content_id_of_file(io.BytesIO(data)) == expected


def test_missing_file_raises_oserror(tmp_path: os.PathLike[str]) -> None:
    with pytest.raises(FileNotFoundError):
        UnixfsContentHasher().content_id_of_file(os.path.join(tmp_path, "absent"))


# --- prefetch -------------------------------------------------------------------------


def test_prefetch_keeps_order_and_reraises() -> None:
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))

    def failing() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1]


def test_prefetch_worker_stops_when_consumer_leaves() -> None:
    produced = []
    before = threading.active_count()

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    items = prefetch(endless())
    assert next(items) == 0
    items.close()
    for _ in range(100):
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.02)
    assert threading.active_count() <= before
    assert len(produced) < 10  # bounded read-ahead, not the whole source


def test_hasher_stops_its_reader_when_hashing_fails() -> None:
    before = threading.active_count()

    def bad_pieces() -> Iterator[object]:
        yield b"fine"
        while True:
            yield 42  # not bytes: the builder raises TypeError

    with pytest.raises(TypeError):
        UnixfsContentHasher().content_id(bad_pieces())  # type: ignore[arg-type]
    for _ in range(100):
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.02)
    assert threading.active_count() <= before
