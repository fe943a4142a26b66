import base64
import hashlib
import os
import stat

import pytest

from adapters.libp2p.identity import (
    IdentityError,
    KeyAlgorithm,
    decode_key_file,
    encode_key_file,
    ephemeral_identity,
    generate_private_key,
    load_or_create_identity,
)


@pytest.mark.parametrize(
    "algo", [KeyAlgorithm.ED25519, KeyAlgorithm.SECP256K1, KeyAlgorithm.ECDSA]
)
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


def test_weak_rsa_is_refused_clearly():
    with pytest.raises(IdentityError, match="2048"):
        generate_private_key(KeyAlgorithm.RSA, 1024)
    with pytest.raises(IdentityError, match="ECDSA"):
        KeyAlgorithm.parse("DSA")
    assert KeyAlgorithm.parse("ed25519") is KeyAlgorithm.ED25519


def test_ecdsa_keys_sign_verify_and_deserialize_as_go_encodes_them():
    from cryptography.hazmat.primitives import serialization
    from libp2p.crypto.serialization import deserialize_public_key
    from libp2p.peer.id import ID

    key = generate_private_key(KeyAlgorithm.ECDSA)
    public = key.get_public_key()
    signature = key.sign(b"noise payload")
    assert public.verify(b"noise payload", signature)
    assert not public.verify(b"tampered", signature)
    # PKIX DER, as go-libp2p's ECDSA MarshalPublicKey
    assert serialization.load_der_public_key(public.to_bytes()) is not None
    again = deserialize_public_key(public.serialize())  # what a peer's handshake does
    assert again.verify(b"noise payload", signature)
    assert str(ID.from_pubkey(public)).startswith("Qm")  # > 42 bytes: sha2-256 peer id


async def test_hosts_with_ecdsa_and_ed25519_identities_complete_a_noise_handshake():
    import trio
    from libp2p.custom_types import TProtocol

    from adapters.libp2p.identity import ephemeral_identity
    from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
    from adapters.libp2p.stream_io import read_to_end
    from domain import parse_bootstrap

    server_settings = NodeSettings(key_pair=ephemeral_identity(KeyAlgorithm.ECDSA),
                                   listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(server_settings) as server:

        async def echo(stream):  # type: ignore[no-untyped-def]
            await stream.write(await read_to_end(stream, 1024))
            await stream.close()

        server.host.set_stream_handler(TProtocol("/echo/1"), echo)
        client_settings = NodeSettings(key_pair=ephemeral_identity(), dht_server=False)
        async with running_node(client_settings) as client:
            boot = parse_bootstrap(server.full_addrs()[0])
            with trio.fail_after(10):
                assert not await connect_bootstraps(client, [boot], 5)
                stream = await client.host.new_stream(server.peer_id, [TProtocol("/echo/1")])
                await stream.write(b"hello")
                await stream.close_write()
                assert await read_to_end(stream, 1024) == b"hello"


def _go_ecdsa_vectors() -> list[dict[str, str]]:
    import json
    from pathlib import Path

    # go-libp2p's vectors (not Go JSON of the original: those live in golden/).
    vectors = Path(__file__).parent / "vectors" / "go_libp2p_ecdsa.json"
    return list(json.loads(vectors.read_text())["vectors"])


@pytest.mark.parametrize("vector", _go_ecdsa_vectors(), ids=lambda v: v["peer_id"])
def test_go_libp2p_ecdsa_keys_and_signatures_read_and_verify(vector: dict[str, str]) -> None:
    # What a Noise handshake with a Go peer that has an ECDSA identity needs: its public
    # key decodes from Go's bytes, its signature verifies, and its peer id matches Go's.
    import base58
    from libp2p.crypto.serialization import deserialize_private_key, deserialize_public_key
    from libp2p.peer.id import ID

    go_public = bytes.fromhex(vector["public_key"])
    go_private = bytes.fromhex(vector["private_key"])
    message, signature = bytes.fromhex(vector["message"]), bytes.fromhex(vector["signature"])
    public = deserialize_public_key(go_public)
    assert public.verify(message, signature)
    assert not public.verify(message + b"!", signature)
    assert public.serialize() == go_public  # re-encoded byte for byte as Go does
    assert str(ID.from_pubkey(public)) == vector["peer_id"]
    multihash = b"\x12\x20" + hashlib.sha256(go_public).digest()  # sha2-256, > 42 bytes
    assert base58.b58encode(multihash).decode() == vector["peer_id"]
    # A Go key file's private key loads, and what it signs Go's public key verifies.
    private = deserialize_private_key(go_private)
    assert private.serialize() == go_private
    assert private.get_public_key().serialize() == go_public
    assert public.verify(b"from python", private.sign(b"from python"))


def test_hosts_offer_noise_as_their_only_security_transport():
    # plaintext or secio would let a peer skip authentication, and with it the
    # peer id the writers list checks
    from adapters.libp2p.node import NodeSettings, build_host

    host = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=b"k" * 32))
    upgrader = host.get_network().upgrader  # type: ignore[attr-defined]
    assert list(upgrader.security_multistream.transports) == ["/noise"]
