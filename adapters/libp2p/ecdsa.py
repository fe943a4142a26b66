"""ECDSA (P-256) host keys, which py-libp2p 0.8.1 lacks.

Its ECC key cannot sign and it has no deserializer for key type ECDSA (3), so
a py-libp2p node can neither use an ECDSA identity nor complete a Noise
handshake with a Go peer that has one (go-libp2p's `-algo ECDSA`). Encodings
follow go-libp2p: public key = PKIX DER, private key = SEC1 DER, signature =
ASN.1 DER of (r, s) over SHA-256.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from libp2p.crypto import serialization as libp2p_serialization
from libp2p.crypto.keys import KeyType, PrivateKey, PublicKey

_SIGNATURE = ec.ECDSA(hashes.SHA256())


class EcdsaPublicKey(PublicKey):
    def __init__(self, impl: ec.EllipticCurvePublicKey) -> None:
        self.impl = impl

    def to_bytes(self) -> bytes:
        return self.impl.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EcdsaPublicKey:
        key = serialization.load_der_public_key(data)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("not an ECDSA public key")
        return cls(key)

    def get_type(self) -> KeyType:
        return KeyType.ECDSA

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self.impl.verify(signature, data, _SIGNATURE)
        except InvalidSignature:
            return False
        return True


class EcdsaPrivateKey(PrivateKey):
    def __init__(self, impl: ec.EllipticCurvePrivateKey) -> None:
        self.impl = impl

    @classmethod
    def new(cls) -> EcdsaPrivateKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def to_bytes(self) -> bytes:
        return self.impl.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,  # SEC1, Go's MarshalECPrivateKey
            serialization.NoEncryption(),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EcdsaPrivateKey:
        key = serialization.load_der_private_key(data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("not an ECDSA private key")
        return cls(key)

    def get_type(self) -> KeyType:
        return KeyType.ECDSA

    def sign(self, data: bytes) -> bytes:
        return self.impl.sign(data, _SIGNATURE)

    def get_public_key(self) -> PublicKey:
        return EcdsaPublicKey(self.impl.public_key())


def register_ecdsa_keys() -> None:
    """Teach py-libp2p to read ECDSA keys of peers (idempotent)."""
    ecdsa = KeyType.ECDSA.value
    libp2p_serialization.key_type_to_public_key_deserializer[ecdsa] = EcdsaPublicKey.from_bytes
    libp2p_serialization.key_type_to_private_key_deserializer[ecdsa] = EcdsaPrivateKey.from_bytes


register_ecdsa_keys()
