"""The real signer: an Ed25519 private key held in memory, loaded from (or created as) a PEM file.

The key file is PKCS#8 PEM, unencrypted, mode 0600: whoever reads it can sign as the platform, so a key
file that anyone but its owner may read or write is refused (like ssh refuses a too-open private key).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustdesk.signing.protocol import SignerError, key_id_for

__all__ = ["Ed25519Signer", "KeyFileError", "load_or_create"]

SEED_SIZE = 32
_TOO_OPEN = stat.S_IRWXG | stat.S_IRWXO
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

    Creation is atomic: the key is written to a temporary file in the same directory and linked into
    place, so a concurrent process either sees no file or the complete key (and then both use the key
    that won). An existing file must be a regular file that neither group nor others may access, holding
    an Ed25519 private key in PEM; otherwise `KeyFileError` says what is wrong and how to fix it.
    """
    path = Path(path)
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    signer = Ed25519Signer.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, signer.private_key_pem())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            path.hardlink_to(temporary)
        except FileExistsError:
            return _load(path)  # another process created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return signer


def _load(path: Path) -> Ed25519Signer:
    # Symlinks are followed (Kubernetes mounts secrets as links); the checks apply to the file opened.
    # O_NONBLOCK keeps a FIFO planted at the path from blocking the open; it is refused below.
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise KeyFileError(f"cannot open the signing key file {path}: {error.strerror}") from error
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise KeyFileError(f"the signing key file {path} is not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        mode = stat.S_IMODE(info.st_mode)
        if mode & _TOO_OPEN:
            raise KeyFileError(
                f"the signing key file {path} has mode {mode:04o}: group and others may access it, so "
                f"anyone on this machine could sign as the platform; run `chmod 600 {path}` (and rotate "
                "the key if it may have been copied)"
            )
        data = handle.read(_MAX_KEY_FILE + 1)
    if len(data) > _MAX_KEY_FILE:
        raise KeyFileError(f"the signing key file {path} is too large to be a PEM private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(
            f"the signing key file {path} does not hold an unencrypted PEM private key: {error}"
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"the signing key file {path} holds a {type(key).__name__}, not an Ed25519 key")
    return Ed25519Signer(key)
