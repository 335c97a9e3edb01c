"""Secrets people and programs hold: API keys (random, stored as SHA-256) and passwords (Argon2id)."""

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "tdk_"
_hasher = PasswordHasher()  # Argon2id, memory-hard, library defaults (RFC 9106 second recommendation)


def new_api_key() -> str:
    """A 256-bit random key; shown once, never stored."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def derived_api_key(secret: str, label: str) -> str:
    """A key derived from a secret and a label: used for demo accounts so `make run` can show them."""
    digest = hmac.new(secret.encode(), label.encode(), hashlib.sha256).digest()
    return API_KEY_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_api_key(key: str) -> str:
    # A fast hash is right for a 256-bit random key: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(digest: str | None, key: str) -> bool:
    """Whether ``key`` is the one whose SHA-256 is ``digest`` (in constant time)."""
    return digest is not None and hmac.compare_digest(digest, hash_api_key(key.strip()))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
