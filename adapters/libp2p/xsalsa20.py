"""XSalsa20 stream cipher: libsodium's where it is found, else PyCryptodome's Salsa20.

``XSalsa20`` is libsodium's ``crypto_stream_xsalsa20_xor_ic`` (adapters/libp2p/
sodium_stream.py says why and where it comes from), continued across calls of any
size. Without libsodium it is HSalsa20 (pure Python) + PyCryptodome's Salsa20 (C):
XSalsa20(key, nonce24) = Salsa20(HSalsa20(key, nonce24[:16]), nonce24[16:]), with the
Salsa20 block counter starting at 0 (Bernstein, "Extending the Salsa20 nonce").
HSalsa20 runs once per stream, so pure Python costs only tens of microseconds.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Protocol

from Crypto.Cipher import Salsa20

from adapters.libp2p.sodium_stream import XOR_IC

BLOCK_SIZE = 64
KEY_SIZE = 32
NONCE_SIZE = 24
HSALSA20_INPUT_SIZE = 16

_MASK = 0xFFFFFFFF
# "expand 32-byte k" as four little-endian words.
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _rotl(v: int, c: int) -> int:
    return ((v << c) & _MASK) | (v >> (32 - c))


def _quarter(x: list[int], a: int, b: int, c: int, d: int) -> None:
    x[b] ^= _rotl((x[a] + x[d]) & _MASK, 7)
    x[c] ^= _rotl((x[b] + x[a]) & _MASK, 9)
    x[d] ^= _rotl((x[c] + x[b]) & _MASK, 13)
    x[a] ^= _rotl((x[d] + x[c]) & _MASK, 18)


def hsalsa20(key: bytes, inp: bytes) -> bytes:
    """HSalsa20: the Salsa20/20 core without the final addition, 32-byte output."""
    if len(key) != KEY_SIZE:
        raise ValueError(f"HSalsa20 key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(inp) != HSALSA20_INPUT_SIZE:
        raise ValueError(f"HSalsa20 input must be {HSALSA20_INPUT_SIZE} bytes, got {len(inp)}")
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", inp)
    x = [
        _SIGMA[0], k[0], k[1], k[2],
        k[3], _SIGMA[1], n[0], n[1],
        n[2], n[3], _SIGMA[2], k[4],
        k[5], k[6], k[7], _SIGMA[3],
    ]  # fmt: skip
    for _ in range(10):
        # Column round, then row round.
        _quarter(x, 0, 4, 8, 12)
        _quarter(x, 5, 9, 13, 1)
        _quarter(x, 10, 14, 2, 6)
        _quarter(x, 15, 3, 7, 11)
        _quarter(x, 0, 1, 2, 3)
        _quarter(x, 5, 6, 7, 4)
        _quarter(x, 10, 11, 8, 9)
        _quarter(x, 15, 12, 13, 14)
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def _check_sizes(key: bytes, nonce: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"XSalsa20 key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"XSalsa20 nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")


class SodiumXSalsa20:
    """An XSalsa20 key stream from libsodium; ``xor`` continues it across calls."""

    __slots__ = ("_key", "_nonce", "_position", "_xor_ic")

    def __init__(self, key: bytes, nonce: bytes) -> None:
        _check_sizes(key, nonce)
        if XOR_IC is None:
            raise RuntimeError("libsodium's crypto_stream_xsalsa20_xor_ic was not found")
        self._xor_ic = XOR_IC
        self._key, self._nonce, self._position = bytes(key), bytes(nonce), 0

    def xor(self, data: bytes | bytearray | memoryview) -> bytes:
        """XOR ``data`` with the next ``len(data)`` key-stream bytes (encrypt = decrypt)."""
        size = len(data)
        if not size:
            return b""
        block, skip = divmod(self._position, BLOCK_SIZE)
        # libsodium starts at a block boundary: lead with the bytes of this block used up.
        source = bytes(skip) + data if skip else bytes(data)
        out = ctypes.create_string_buffer(len(source))
        self._xor_ic(out, source, len(source), self._nonce, block, self._key)
        self._position += size
        return ctypes.string_at(ctypes.addressof(out) + skip, size)


class PyCryptodomeXSalsa20:
    """An XSalsa20 key stream; ``xor`` continues it across calls of any size."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes, nonce: bytes) -> None:
        _check_sizes(key, nonce)
        subkey = hsalsa20(bytes(key), bytes(nonce[:HSALSA20_INPUT_SIZE]))
        self._cipher = Salsa20.new(key=subkey, nonce=bytes(nonce[HSALSA20_INPUT_SIZE:]))

    def xor(self, data: bytes | bytearray | memoryview) -> bytes:
        """XOR ``data`` with the next ``len(data)`` key-stream bytes (encrypt = decrypt)."""
        return self._cipher.encrypt(data)


class KeyStream(Protocol):
    def xor(self, data: bytes | bytearray | memoryview) -> bytes: ...


XSalsa20: Callable[[bytes, bytes], KeyStream] = (
    PyCryptodomeXSalsa20 if XOR_IC is None else SodiumXSalsa20
)
