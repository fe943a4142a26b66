"""XSalsa20: NaCl known answers, libsodium cross-checks, continuity across chunks."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import random

import nacl.bindings
import pytest

from adapters.libp2p.xsalsa20 import PyCryptodomeXSalsa20, SodiumXSalsa20, hsalsa20

# Both backends: libsodium's (used wherever it is found) and PyCryptodome's (the fallback).
Cipher = type[SodiumXSalsa20] | type[PyCryptodomeXSalsa20]
backends = pytest.mark.parametrize("XSalsa20", [SodiumXSalsa20, PyCryptodomeXSalsa20])

# NaCl tests/core1.c: HSalsa20(shared secret of the box example, 16 zero bytes).
SHARED = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
FIRSTKEY = bytes.fromhex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
# NaCl tests/core2.c: HSalsa20(firstkey, first 16 bytes of the box example's nonce).
NONCE = bytes.fromhex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
SECONDKEY = bytes.fromhex("dc908dda0b9344a953629b733820778880f3ceb421bb61b91cbd4c3e66256ce4")
# NaCl tests/stream3.c: first 32 bytes of XSalsa20(firstkey, nonce).
STREAM_FIRST_32 = bytes.fromhex("eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880")
# NaCl tests/stream.c: SHA-256 of the first 4 MiB of that key stream.
STREAM_4MIB_SHA256 = "662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2"


def test_hsalsa20_nacl_core1() -> None:
    assert hsalsa20(SHARED, bytes(16)) == FIRSTKEY


def test_hsalsa20_nacl_core2() -> None:
    assert hsalsa20(FIRSTKEY, NONCE[:16]) == SECONDKEY


@backends
def test_xsalsa20_nacl_stream_vectors(XSalsa20: Cipher) -> None:
    assert XSalsa20(FIRSTKEY, NONCE).xor(bytes(32)) == STREAM_FIRST_32
    stream = XSalsa20(FIRSTKEY, NONCE).xor(bytes(4 * 1024 * 1024))
    assert hashlib.sha256(stream).hexdigest() == STREAM_4MIB_SHA256


@backends
def test_rejects_wrong_sizes(XSalsa20: Cipher) -> None:
    with pytest.raises(ValueError):
        XSalsa20(bytes(31), bytes(24))
    with pytest.raises(ValueError):
        XSalsa20(bytes(32), bytes(8))
    with pytest.raises(ValueError):
        hsalsa20(bytes(32), bytes(15))


def _random_chunks(rng: random.Random, total: int) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < total:
        # 1-byte chunks and sizes around the 64-byte block boundary are the risky ones.
        sizes.append(rng.choice([1, 1, 2, 7, 63, 64, 65, 127, 128, 129, rng.randint(1, 700)]))
    return sizes


def _xor_in_chunks(cipher: SodiumXSalsa20 | PyCryptodomeXSalsa20, data: bytes,
                   sizes: list[int]) -> bytes:
    out, pos = [], 0
    for size in sizes:
        out.append(cipher.xor(data[pos : pos + size]))
        pos += size
    return b"".join(out)


@backends
def test_chunked_equals_one_shot(XSalsa20: Cipher) -> None:
    rng = random.Random(1)
    for _ in range(50):
        key, nonce = rng.randbytes(32), rng.randbytes(24)
        data = rng.randbytes(rng.randint(0, 3000))
        whole = XSalsa20(key, nonce).xor(data)
        sizes = _random_chunks(rng, len(data))
        assert _xor_in_chunks(XSalsa20(key, nonce), data, sizes) == whole
        assert XSalsa20(key, nonce).xor(whole) == data  # XOR is its own inverse


@backends
def test_matches_pynacl_secretbox(XSalsa20: Cipher) -> None:
    # secretbox = XSalsa20-Poly1305: after a 16-byte tag, the message XOR key stream[32:].
    rng = random.Random(2)
    for _ in range(50):
        key, nonce = os.urandom(32), os.urandom(24)
        msg = os.urandom(rng.randint(1, 2000))
        boxed = nacl.bindings.crypto_secretbox(msg, nonce, key)
        cipher = XSalsa20(key, nonce)
        cipher.xor(bytes(32))
        sizes = _random_chunks(rng, len(msg))
        assert _xor_in_chunks(cipher, msg, sizes) == boxed[16:]


def _libsodium() -> ctypes.CDLL:
    name = ctypes.util.find_library("sodium")
    if name is None:
        pytest.fail("system libsodium not found: run scripts/setup.sh (Debian libsodium23)")
    lib = ctypes.CDLL(name)
    assert lib.sodium_init() >= 0
    return lib


@backends
def test_matches_libsodium_xsalsa20_and_hsalsa20(XSalsa20: Cipher) -> None:
    lib = _libsodium()
    rng = random.Random(3)
    for _ in range(100):
        key, nonce = os.urandom(32), os.urandom(24)
        data = os.urandom(rng.randint(0, 1500))
        expected = ctypes.create_string_buffer(max(len(data), 1))
        rc = lib.crypto_stream_xsalsa20_xor(
            expected, data, ctypes.c_ulonglong(len(data)), nonce, key
        )
        assert rc == 0
        sizes = _random_chunks(rng, len(data))
        assert _xor_in_chunks(XSalsa20(key, nonce), data, sizes) == expected.raw[: len(data)]

        subkey = ctypes.create_string_buffer(32)
        assert lib.crypto_core_hsalsa20(subkey, nonce[:16], key, None) == 0
        assert hsalsa20(key, nonce[:16]) == subkey.raw


@backends
def test_one_byte_chunks_match_libsodium(XSalsa20: Cipher) -> None:
    lib = _libsodium()
    key, nonce = os.urandom(32), os.urandom(24)
    stream = ctypes.create_string_buffer(300)
    assert lib.crypto_stream_xsalsa20(stream, ctypes.c_ulonglong(300), nonce, key) == 0
    cipher = XSalsa20(key, nonce)
    assert b"".join(cipher.xor(b"\0") for _ in range(300)) == stream.raw


@backends
def test_bytearray_and_memoryview_chunks(XSalsa20: Cipher) -> None:
    key, nonce, data = os.urandom(32), os.urandom(24), os.urandom(1000)
    whole = XSalsa20(key, nonce).xor(data)
    cipher = XSalsa20(key, nonce)
    parts = [cipher.xor(bytearray(data[:3])), cipher.xor(memoryview(data)[3:500]),
             cipher.xor(data[500:])]
    assert b"".join(parts) == whole
