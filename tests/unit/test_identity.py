import base64
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


def test_hosts_offer_noise_as_their_only_security_transport():
    # plaintext or secio would let a peer skip authentication, and with it the
    # peer id the writers list checks
    from adapters.libp2p.node import NodeSettings, build_host

    host = build_host(NodeSettings(key_pair=ephemeral_identity(), psk=b"k" * 32))
    upgrader = host.get_network().upgrader  # type: ignore[attr-defined]
    assert list(upgrader.security_multistream.transports) == ["/noise"]
