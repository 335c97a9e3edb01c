"""The real signer: an Ed25519 private key held in memory, loaded from (or created as) a PEM file.

The key file is PKCS#8 PEM, unencrypted, mode 0600: whoever reads it can sign as the platform, so a key
file that anyone but its owner may read or write is refused (like ssh refuses a too-open private key).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustdesk import secretfile
from trustdesk.signing.protocol import SignerError, key_id_for

__all__ = ["Ed25519Signer", "KeyFileError", "load_or_create"]

SEED_SIZE = 32
_MAX_KEY_FILE = 64 * 1024


class KeyFileError(SignerError):
    """The key file cannot be used: too open, not a regular file, not an Ed25519 PEM private key."""


class Ed25519Signer:
    """Signs with an Ed25519 private key; satisfies `trustdesk.signing.protocol.Signer`."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._key_id = key_id_for(self._public_key)

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        """The signer of the 32-byte seed (RFC 8032 private key): for tests and the demo only."""
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """A signer with a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key_bytes(self) -> bytes:
        return self._public_key

    def public_key_pem(self) -> bytes:
        """The public key as SubjectPublicKeyInfo PEM, for ``openssl pkeyutl -verify -pubin``."""
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def private_key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (what `load_or_create` stores)."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self._key_id!r})"


def load_or_create(path: Path) -> Ed25519Signer:
    """The signer whose key is stored at ``path``, creating a new key (mode 0600) when there is none.

    Creation is atomic (`trustdesk.secretfile`): a concurrent process either sees no file or the complete
    key, and then both use the key that won. An existing file must be a regular file that neither group
    nor others may access, holding an Ed25519 private key in PEM; otherwise `KeyFileError` says what is
    wrong and how to fix it.
    """

    def new() -> tuple[Ed25519Signer, bytes]:
        signer = Ed25519Signer.generate()
        return signer, signer.private_key_pem()

    return secretfile.load_or_create(path, _load, new)


def _load(path: Path) -> Ed25519Signer:
    data = secretfile.read_private(
        path, "the signing key file", KeyFileError, limit=_MAX_KEY_FILE,
        exposure=", so anyone on this machine could sign as the platform (rotate the key if it may have "
        "been copied)",
    )  # fmt: skip
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(
            f"the signing key file {path} does not hold an unencrypted PEM private key: {error}"
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"the signing key file {path} holds a {type(key).__name__}, not an Ed25519 key")
    return Ed25519Signer(key)
