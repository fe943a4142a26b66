"""Our CIDv0 against two independent implementations of kubo's `ipfs add` defaults.

- Debian's ``ipfs-cid`` (``ipfs_cid FILE``, Rust, fixed at kubo's defaults);
- npm's ``ipfs-unixfs-importer`` with profile ``unixfs-v0-2015`` (``cid_reference/cid.mjs``),
  whose chunk size and fan-out are parameters: that reaches trees of depth 3 and more
  from megabytes, where kubo's 262144-byte chunks would need gigabytes.

Both are installed by ``scripts/setup-cid-reference.sh``. Inputs are generated here from a
seeded PRNG, so nothing large lives in git.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from adapters.unixfs.dag_builder import UnixfsFileBuilder
from adapters.unixfs.hasher import UnixfsContentHasher

CHUNK = 262_144
LINKS = 174
KNOWN_TEXT = b"Ivan, Michael, Andrew, Henry, and Thomas are pretty cool eh\n"
KNOWN_CID = "QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn"
NPM_DIR = Path(__file__).parent / "cid_reference"
SETUP_HINT = "run scripts/setup-cid-reference.sh"


@pytest.fixture(scope="module")
def ipfs_cid() -> str:
    exe = shutil.which("ipfs_cid")
    if exe is None:
        pytest.fail(f"ipfs_cid (Debian ipfs-cid) is not installed: {SETUP_HINT}")
    return exe


@pytest.fixture(scope="module")
def npm_reference() -> list[str]:
    node = shutil.which("node")
    if node is None or not (NPM_DIR / "node_modules" / "ipfs-unixfs-importer").is_dir():
        pytest.fail(f"node or ipfs-unixfs-importer is missing: {SETUP_HINT}")
    return [node, str(NPM_DIR / "cid.mjs")]


def debian_cid(exe: str, path: Path) -> str:
    # ipfs_cid prints {"CIDv0": ..., "CIDv1": ...} on stdout and timings on stderr.
    done = subprocess.run([exe, str(path)], capture_output=True, text=True, check=True)
    return str(json.loads(done.stdout)["CIDv0"])


def npm_cid(cmd: list[str], path: Path, chunk: int = CHUNK, links: int = LINKS) -> str:
    done = subprocess.run(
        [*cmd, str(path), str(chunk), str(links)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def write_input(tmp_path: Path, size: int, seed: int = 1) -> Path:
    path = tmp_path / f"input-{size}-{seed}.bin"
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def ours(path: Path, chunk: int = CHUNK, links: int = LINKS) -> str:
    if links == LINKS:
        return UnixfsContentHasher(chunk).content_id_of_file(path)
    builder = UnixfsFileBuilder(chunk, links)
    builder.update(path.read_bytes())
    return builder.finish()


def test_known_vector(tmp_path: Path, ipfs_cid: str, npm_reference: list[str]) -> None:
    path = tmp_path / "known.txt"
    path.write_bytes(KNOWN_TEXT)
    assert ours(path) == debian_cid(ipfs_cid, path) == npm_cid(npm_reference, path) == KNOWN_CID


# Every boundary of kubo's own layout: empty, one byte, one chunk and either side of it,
# a full one-level node (174 chunks) and one leaf past it (175 chunks: two levels).
DEFAULT_SIZES = [
    0,
    1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    3 * CHUNK + 1000,
    LINKS * CHUNK,
    LINKS * CHUNK + 1,
    (LINKS + 1) * CHUNK,
    (LINKS + 1) * CHUNK + 12345,
]


@pytest.mark.parametrize("size", DEFAULT_SIZES)
def test_kubo_defaults_match_both_references(
    tmp_path: Path, ipfs_cid: str, npm_reference: list[str], size: int
) -> None:
    path = write_input(tmp_path, size)
    mine = ours(path)
    assert mine == debian_cid(ipfs_cid, path), size
    assert mine == npm_cid(npm_reference, path), size


def test_stdin_path_matches(tmp_path: Path, ipfs_cid: str) -> None:
    path = write_input(tmp_path, 5 * CHUNK + 7)
    with path.open("rb") as f:
        piped = subprocess.run(
            ["cat"], stdin=f, stdout=subprocess.PIPE, check=True
        ).stdout  # a pipe's worth of bytes, hashed through the streaming path
    assert UnixfsContentHasher().content_id([piped]) == debian_cid(ipfs_cid, path)


# Depth 3+ with kubo's fan-out of 174: with 1-byte chunks, 174**2 + 1 bytes already need
# three levels; 16-byte chunks do the same with realistic multi-byte leaves.
SMALL_CHUNK_CASES = [
    (1, LINKS * LINKS),  # largest depth-2 tree
    (1, LINKS * LINKS + 1),  # smallest depth-3 tree
    (1, LINKS * LINKS + LINKS + 1),
    (16, 16 * LINKS * LINKS + 1),
    (16, 16 * (2 * LINKS * LINKS + 5) + 9),
    (1000, 1000 * (LINKS * LINKS + 1) - 1),
]


@pytest.mark.parametrize(("chunk", "size"), SMALL_CHUNK_CASES)
def test_depth_three_trees_match_npm(
    tmp_path: Path, npm_reference: list[str], chunk: int, size: int
) -> None:
    path = write_input(tmp_path, size, seed=chunk)
    assert ours(path, chunk) == npm_cid(npm_reference, path, chunk)


@pytest.mark.parametrize("links", [3, 7])
def test_deeper_trees_with_small_fan_out_match_npm(
    tmp_path: Path, npm_reference: list[str], links: int
) -> None:
    # Depth 6 (fan-out 3) from a few kilobytes; every level boundary and one past it.
    full = 1
    while full * links <= 1000:
        full *= links
        for leaves in (full, full + 1):
            path = write_input(tmp_path, leaves * 4 + 1, seed=leaves)
            assert ours(path, 4, links) == npm_cid(npm_reference, path, 4, links), leaves
