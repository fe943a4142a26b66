"""The seam of adapters/libp2p/sodium_stream.py: PyNaCl ships libsodium's XSalsa20 stream."""

from __future__ import annotations

import importlib.util

from adapters.libp2p import sodium_stream, xsalsa20


def test_pynacl_ships_the_xsalsa20_stream_symbol() -> None:
    # Fails if a PyNaCl release stops exporting it: the PSK layer then runs on the
    # system's libsodium or on PyCryptodome (slower, see sodium_stream's docstring).
    spec = importlib.util.find_spec("nacl._sodium")
    assert spec is not None
    assert spec.origin == sodium_stream.LIBRARY_PATH
    assert sodium_stream.XOR_IC is not None


def test_the_psk_layer_uses_libsodium_where_it_is_found() -> None:
    assert xsalsa20.XSalsa20 is xsalsa20.SodiumXSalsa20
