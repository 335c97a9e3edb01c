"""Signing: the platform's signing key behind the `Signer` protocol.

`protocol` holds the protocol, `verify_signature` and `key_id_for`; `ed25519` the real implementation
(an Ed25519 key kept in a PEM file with mode 0600). Production packages and transparency reports are
signed through a `Signer`; anyone holding the public key verifies with `verify_signature` or any Ed25519
tool. The test double (`FakeSigner`) lives in ``tests/doubles.py``.
"""
