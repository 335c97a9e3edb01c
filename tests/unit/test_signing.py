"""The signer contract, run over the real Ed25519 signer and the test double; then the key file."""

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.doubles import FakeSigner
from trustdesk.signing.ed25519 import Ed25519Signer, KeyFileError, load_or_create
from trustdesk.signing.protocol import Signer, SignerError, key_id_for, verify_signature

SEED_A = bytes(range(32))
SEED_B = bytes(range(1, 33))

FACTORIES: dict[str, Callable[[bytes], Signer]] = {
    "ed25519": Ed25519Signer.from_seed,
    "fake": FakeSigner,
}
"""Each implementation of `Signer`, built from a 32-byte seed."""

implementations = pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys())
messages = st.binary(max_size=2048)


# ------------------------------------------------------------------------------------------- contract


@implementations
def test_satisfies_the_protocol(make: Callable[[bytes], Signer]) -> None:
    signer = make(SEED_A)
    assert isinstance(signer, Signer)
    assert len(signer.public_key_bytes()) == 32


@implementations
@given(message=messages)
@settings(max_examples=50)
def test_a_signature_verifies(make: Callable[[bytes], Signer], message: bytes) -> None:
    signer = make(SEED_A)
    signature = signer.sign(message)
    assert len(signature) == 64
    assert verify_signature(signer.public_key_bytes(), message, signature)


@implementations
@given(message=messages.filter(bool), data=st.data())
@settings(max_examples=50)
def test_any_change_of_the_message_fails(
    make: Callable[[bytes], Signer], message: bytes, data: st.DataObject
) -> None:
    signer = make(SEED_A)
    signature = signer.sign(message)
    index = data.draw(st.integers(0, len(message) - 1), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    changed = bytearray(message)
    changed[index] ^= 1 << bit
    assert not verify_signature(signer.public_key_bytes(), bytes(changed), signature)
    assert not verify_signature(signer.public_key_bytes(), message + b"\x00", signature)
    assert not verify_signature(signer.public_key_bytes(), message[:-1], signature)


@implementations
@given(message=messages, data=st.data())
@settings(max_examples=50)
def test_any_change_of_the_signature_fails(
    make: Callable[[bytes], Signer], message: bytes, data: st.DataObject
) -> None:
    signer = make(SEED_A)
    signature = signer.sign(message)
    index = data.draw(st.integers(0, 63), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    changed = bytearray(signature)
    changed[index] ^= 1 << bit
    assert not verify_signature(signer.public_key_bytes(), message, bytes(changed))
    assert not verify_signature(signer.public_key_bytes(), message, signature[:-1])
    assert not verify_signature(signer.public_key_bytes(), message, signature + b"\x00")


@implementations
def test_another_key_does_not_verify(make: Callable[[bytes], Signer]) -> None:
    signer, other = make(SEED_A), make(SEED_B)
    assert not verify_signature(other.public_key_bytes(), b"manifest", signer.sign(b"manifest"))
    assert signer.key_id != other.key_id


@implementations
def test_key_id_is_stable_and_derived_from_the_public_key(make: Callable[[bytes], Signer]) -> None:
    signer = make(SEED_A)
    first = signer.key_id
    signer.sign(b"anything")
    assert signer.key_id == first == make(SEED_A).key_id
    assert first == key_id_for(signer.public_key_bytes())
    assert len(first) == 16
    assert all(char in "0123456789abcdef" for char in first)


def test_both_implementations_agree_on_the_same_seed() -> None:
    real, fake = Ed25519Signer.from_seed(SEED_A), FakeSigner(SEED_A)
    assert real.public_key_bytes() == fake.public_key_bytes()
    assert real.key_id == fake.key_id
    assert real.sign(b"m") == fake.sign(b"m")  # Ed25519 is deterministic


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [(b"", b""), (b"\x00" * 31, b"\x00" * 64), (b"\x00" * 32, b"\x00" * 63), (b"\xff" * 32, b"\x00" * 64)],
)
def test_malformed_keys_and_signatures_do_not_verify(public_key: bytes, signature: bytes) -> None:
    assert verify_signature(public_key, b"message", signature) is False


# ---------------------------------------------------------------------------------------- the double


def test_the_double_records_every_message_and_can_fail() -> None:
    signer = FakeSigner()
    signer.sign(b"one")
    signer.sign(b"two")
    assert signer.messages == [b"one", b"two"]
    signer.unavailable = True
    with pytest.raises(SignerError):
        signer.sign(b"three")
    assert signer.messages == [b"one", b"two"]


# ---------------------------------------------------------------------------------- the real signer


def test_from_seed_is_deterministic_and_needs_32_bytes() -> None:
    assert Ed25519Signer.from_seed(SEED_A).key_id == Ed25519Signer.from_seed(SEED_A).key_id
    with pytest.raises(ValueError, match="32 bytes"):
        Ed25519Signer.from_seed(b"short")


def test_repr_shows_the_key_id_only() -> None:
    signer = Ed25519Signer.from_seed(SEED_A)
    assert repr(signer) == f"Ed25519Signer(key_id={signer.key_id!r})"


def test_public_key_pem_is_the_same_key() -> None:
    signer = Ed25519Signer.from_seed(SEED_A)
    loaded = serialization.load_pem_public_key(signer.public_key_pem())
    assert loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == (
        signer.public_key_bytes()
    )


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_load_or_create_creates_a_0600_pkcs8_pem(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    signer = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert signer.private_key_pem() == data
    assert [entry.name for entry in path.parent.iterdir()] == ["signing.pem"]  # no temporary left


def test_load_or_create_reloads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    first = load_or_create(path)
    second = load_or_create(path)
    assert second.key_id == first.key_id
    assert verify_signature(first.public_key_bytes(), b"m", second.sign(b"m"))


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o640, 0o660, 0o666])
def test_load_or_create_refuses_a_key_file_others_may_read(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "signing.pem"
    load_or_create(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=rf"mode {mode:04o}.*chmod 600"):
        load_or_create(path)


def test_load_or_create_accepts_a_read_only_key_file(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    key_id = load_or_create(path).key_id
    path.chmod(0o400)
    assert load_or_create(path).key_id == key_id


def test_load_or_create_follows_a_symlink_to_a_private_key(tmp_path: Path) -> None:
    target = tmp_path / "data" / "signing.pem"
    key_id = load_or_create(target).key_id
    link = tmp_path / "signing.pem"
    link.symlink_to(target)
    assert load_or_create(link).key_id == key_id


def test_load_or_create_refuses_a_file_that_is_not_a_pem_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="PEM private key"):
        load_or_create(path)
    assert path.read_bytes() == b"not a key"  # never overwritten


def test_load_or_create_refuses_a_key_of_another_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    key = generate_private_key(SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_or_create(path)


def test_load_or_create_refuses_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    path.mkdir(mode=0o700)
    with pytest.raises(KeyFileError):
        load_or_create(path)


def test_a_key_file_error_is_a_signer_error() -> None:
    assert issubclass(KeyFileError, SignerError)


def test_load_or_create_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    os.mkfifo(path, 0o600)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_or_create(path)


def test_load_or_create_uses_the_key_of_a_concurrent_creator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "signing.pem"
    winner = Ed25519Signer.from_seed(SEED_B)
    generate = Ed25519Signer.generate

    def generate_while_another_process_creates_the_file() -> Ed25519Signer:
        path.write_bytes(winner.private_key_pem())
        path.chmod(0o600)
        return generate()

    monkeypatch.setattr(Ed25519Signer, "generate", generate_while_another_process_creates_the_file)
    assert load_or_create(path).key_id == winner.key_id
    assert [entry.name for entry in tmp_path.iterdir()] == ["signing.pem"]
