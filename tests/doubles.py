"""Test doubles of Trustdesk's external systems, shared by the test suites.

Each double satisfies its protocol and passes that protocol's contract suite, and adds what tests need
to look inside (what was called, a switch to make it fail).
"""

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustdesk.platform.protocol import PlatformError
from trustdesk.signing.protocol import SignerError, key_id_for

DEFAULT_SEED = hashlib.sha256(b"trustdesk test signer").digest()


class FakeSigner:
    """A `Signer` with a fixed key that records every message it signs.

    Its signatures are real Ed25519 signatures (from ``seed``), so whatever it signs verifies like the
    production signer's output. Set ``unavailable`` to make `sign` raise `SignerError`, as a remote key
    service that is down would.
    """

    def __init__(self, seed: bytes = DEFAULT_SEED) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id_for(self._public)
        self.messages: list[bytes] = []
        self.unavailable = False

    def public_key_bytes(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        if self.unavailable:
            raise SignerError("the fake signer is unavailable")
        self.messages.append(bytes(message))
        return self._key.sign(message)


class BrokenConnector:
    """A `PlatformConnector` in front of a real one, whose named calls fail with `PlatformError`.

    ``broken`` names the methods that fail (``"place_hold"``, ``"export"``, ...); with ``failures`` set,
    only that many calls fail, then the calls go through again (a platform that comes back). Every call
    of a named method, failed or not, is counted in ``calls``. Everything else is the wrapped connector's.
    """

    def __init__(self, inner: object, *broken: str, failures: int | None = None) -> None:
        self._inner = inner
        self.broken = set(broken)
        self.failures = failures
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> object:
        target = getattr(self._inner, name)
        if name not in self.broken or not callable(target):
            return target

        def call(*args: object, **kwargs: object) -> object:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.failures is None or self.failures > 0:
                if self.failures is not None:
                    self.failures -= 1
                raise PlatformError(f"the platform is down ({name})")
            return target(*args, **kwargs)

        return call
