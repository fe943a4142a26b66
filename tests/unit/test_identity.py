import base64
import os
import stat

import pytest

from adapters.libp2p.identity import (
    IdentityError,
    KeyAlgorithm,
    decode_key_file,
    encode_key_file,
    generate_private_key,
    load_or_create_identity,
)


@pytest.mark.parametrize("algo", [KeyAlgorithm.ED25519, KeyAlgorithm.SECP256K1])
def test_key_file_round_trip(algo):
    key = generate_private_key(algo)
    text = encode_key_file(key)
    assert text.split()[0] == str(algo.value)
    assert decode_key_file(text).to_bytes() == key.to_bytes()


def test_ed25519_key_file_holds_go_raw_form_seed_and_public_key():
    key = generate_private_key(KeyAlgorithm.ED25519)
    raw = base64.b64decode(encode_key_file(key).split()[1])
    assert raw == key.to_bytes() + key.get_public_key().to_bytes()


def test_key_file_created_0600_and_reused(tmp_path):
    path = tmp_path / "sub" / "key"
    first = load_or_create_identity(str(path), KeyAlgorithm.ED25519, 2048)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_or_create_identity(str(path), KeyAlgorithm.RSA, 2048)
    assert again.public_key.to_bytes() == first.public_key.to_bytes()


@pytest.mark.parametrize("text", ["", "1", "x abc", "1 !!notbase64", "7 AAAA", "1 AAAA"])
def test_unreadable_key_files(text):
    with pytest.raises(IdentityError):
        decode_key_file(text)


def test_weak_rsa_and_ecdsa_are_refused_clearly():
    with pytest.raises(IdentityError, match="2048"):
        generate_private_key(KeyAlgorithm.RSA, 1024)
    with pytest.raises(IdentityError, match="ECDSA"):
        generate_private_key(KeyAlgorithm.ECDSA)
    assert KeyAlgorithm.parse("ed25519") is KeyAlgorithm.ED25519
