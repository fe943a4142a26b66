"""libsodium's XSalsa20 stream function, from the copy PyNaCl ships, through ctypes.

Why: the PSK layer XORs every byte a connection carries. PyCryptodome's Salsa20
ran at 250-300 MB/s inside a busy daemon (a `/list/0.1` answer of 100 000 records,
38 MB, spent 0.13 s in it on each side); libsodium's, on the same runs, cut the
daemon's CPU for that list from 0.46 to 0.33 s and the client's from 0.32 to 0.19 s
(docs/performance.md, `scale_records.py`).

PyNaCl, already a dependency (py-libp2p's), builds libsodium into
``nacl/_sodium*.so`` with its symbols exported, but its Python API has no
``crypto_stream``. ctypes opens that file (already loaded by then, so nothing new
is mapped) and calls ``crypto_stream_xsalsa20_xor_ic``. Where PyNaCl's build hides
the symbol, the system's libsodium is used; where neither has it, ``XOR_IC`` is None
and adapters/libp2p/xsalsa20.py falls back to PyCryptodome.
tests/unit/test_sodium_stream.py fails if PyNaCl stops shipping the symbol.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
from collections.abc import Iterator
from typing import Protocol


class XorIc(Protocol):
    """crypto_stream_xsalsa20_xor_ic(out, in, in_len, nonce24, first_block, key32)."""

    def __call__(self, out: object, data: bytes, size: int, nonce: bytes, block: int,
                 key: bytes, /) -> int: ...


def _library_paths() -> Iterator[str]:
    spec = importlib.util.find_spec("nacl._sodium")  # found, not imported
    if spec is not None and spec.origin:
        yield spec.origin
    # Only when PyNaCl's has no such symbol: find_library runs `ldconfig -p` (~10 ms).
    system = ctypes.util.find_library("sodium")
    if system:
        yield system


def _load() -> tuple[XorIc | None, str | None]:
    for path in _library_paths():
        try:
            library = ctypes.CDLL(path)
            xor_ic = library.crypto_stream_xsalsa20_xor_ic
        except (OSError, AttributeError):
            continue
        if library.sodium_init() < 0:
            continue
        xor_ic.restype = ctypes.c_int
        xor_ic.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulonglong,
                           ctypes.c_char_p, ctypes.c_uint64, ctypes.c_char_p]
        return xor_ic, path
    return None, None


XOR_IC, LIBRARY_PATH = _load()
