"""The signer protocol: what Trustdesk needs from whatever holds the platform's signing key.

Signatures are Ed25519 (RFC 8032) over the exact bytes given: 64 raw bytes, verifiable by anyone holding
the raw 32-byte public key (``openssl pkeyutl -verify -rawin``, libsodium, `verify_signature`). A key is
named by its key id: the first 16 hex digits of the SHA-256 of the raw public key (`key_id_for`).
"""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "Signer",
    "SignerError",
    "key_id_for",
    "public_key_from_pem",
    "public_key_pem",
    "verify_signature",
]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class SignerError(Exception):
    """The signer could not sign (a key service unreachable, a key file unusable)."""


@runtime_checkable
class Signer(Protocol):
    """Holds a private Ed25519 key and signs with it; the key never leaves the signer."""

    @property
    def key_id(self) -> str:
        """`key_id_for` of `public_key_bytes`: stable for the life of the key."""
        ...

    def public_key_bytes(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``message``; `SignerError` when the signer is unavailable."""
        ...


def key_id_for(public_key: bytes) -> str:
    """The key id of a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key`` (raw bytes).

    Malformed keys and signatures (wrong length, not a curve point) give False, never an error.
    """
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_pem(public_key: bytes) -> bytes:
    """A raw Ed25519 public key as SubjectPublicKeyInfo PEM, the form Trustdesk publishes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_from_pem(pem: bytes) -> bytes:
    """The raw Ed25519 public key of a SubjectPublicKeyInfo PEM (`public_key_pem`'s inverse); anything
    else raises `SignerError` saying so."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SignerError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignerError(f"not an Ed25519 public key but {type(key).__name__}")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
