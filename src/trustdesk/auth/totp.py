"""TOTP secrets at rest and the codes made from them.

A secret is stored as ``v1:`` + base64url(nonce || AES-256-GCM ciphertext), with the account's id as the
associated data, so that a ciphertext copied onto another account does not decrypt. The key lives in a
file outside the database (setting ``totp_key_path``, created mode 0600 on first use, like the signing
key): a copy of the database alone gives no one the secrets.

A value without the prefix is a legacy plaintext secret (written before migration 0010, which cannot read
the key file). It is accepted once and re-encrypted at the next successful login.

A code is valid for the time step it was made in and the steps either side (clock drift); the step it
matched is returned, so that the caller can refuse any code of a step not newer than the last accepted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trustdesk import secretfile

__all__ = [
    "PREFIX",
    "TotpKey",
    "TotpKeyError",
    "key_at",
    "load_or_create_key",
    "matching_step",
]

PREFIX = "v1:"
KEY_SIZE = 32
NONCE_SIZE = 12
DRIFT_STEPS = 1
_MAX_KEY_FILE = 1024


class TotpKeyError(Exception):
    """The TOTP key file cannot be used, or a stored secret does not decrypt with it."""


@dataclass(frozen=True)
class Opened:
    """A stored secret, decrypted; ``legacy`` when it was stored in plaintext and should be re-encrypted."""

    secret: str
    legacy: bool


class TotpKey:
    """The AES-256-GCM key that encrypts TOTP secrets at rest."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a TOTP key is {KEY_SIZE} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def generate(cls) -> TotpKey:
        return cls(AESGCM.generate_key(bit_length=256))

    def seal(self, account_id: str, secret: str) -> str:
        """The stored form of ``secret`` for this account."""
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, secret.encode(), account_id.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, account_id: str, stored: str) -> Opened:
        """The secret behind a stored value; a value without the prefix is a legacy plaintext secret."""
        if not stored.startswith(PREFIX):
            return Opened(stored, legacy=True)
        body = stored.removeprefix(PREFIX)
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], account_id.encode())
        except (binascii.Error, ValueError, InvalidTag) as error:
            raise TotpKeyError(
                f"the TOTP secret of account {account_id} does not decrypt with this key (wrong key file?)"
            ) from error
        return Opened(plain.decode(), legacy=False)

    def __repr__(self) -> str:
        return "TotpKey(...)"


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code ``code`` is (the step at ``at`` or one either side), else None.

    Every candidate is compared, in constant time, whether or not an earlier one matched.
    """
    totp = pyotp.TOTP(secret)
    code = code.strip()
    now = totp.timecode(at)
    found: int | None = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def load_or_create_key(path: Path) -> TotpKey:
    """The key stored at ``path`` (base64url of 32 bytes), creating one (mode 0600) when there is none
    (`trustdesk.secretfile`: created atomically, so concurrent processes agree on one key; an existing
    file must be a regular file neither group nor others may access)."""

    def new() -> tuple[TotpKey, bytes]:
        raw = AESGCM.generate_key(bit_length=256)
        return TotpKey(raw), base64.urlsafe_b64encode(raw) + b"\n"

    return secretfile.load_or_create(path, _load, new)


def _load(path: Path) -> TotpKey:
    data = secretfile.read_private(path, "the TOTP key file", TotpKeyError, limit=_MAX_KEY_FILE)
    try:
        raw = base64.urlsafe_b64decode(data.strip())
    except (binascii.Error, ValueError) as error:
        raise TotpKeyError(f"the TOTP key file {path} does not hold a base64url key") from error
    if len(raw) != KEY_SIZE:
        raise TotpKeyError(f"the TOTP key file {path} does not hold a {KEY_SIZE}-byte key")
    return TotpKey(raw)


_keys: dict[Path, TotpKey] = {}
_keys_lock = threading.Lock()


def key_at(path: Path) -> TotpKey:
    """`load_or_create_key`, once per process and absolute path."""
    absolute = Path(path).absolute()
    with _keys_lock:
        found = _keys.get(absolute)
        if found is None:
            found = _keys[absolute] = load_or_create_key(absolute)
        return found
