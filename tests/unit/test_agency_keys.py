"""An agency's signing key as staff register it, and the pure verification of a signed request."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from hypothesis import given
from hypothesis import strategies as st

from tests.signing import BASE, AgencySigner
from trustdesk.authorities.keys import _check_key_id, parse_public_key
from trustdesk.authorities.signatures import SignedMessage, is_signed, verify
from trustdesk.errors import InvalidInput, Unauthenticated

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PRIVATE = Ed25519PrivateKey.generate()
RAW = PRIVATE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
B64URL = base64.urlsafe_b64encode(RAW).rstrip(b"=").decode()
PEM = PRIVATE.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def test_a_pem_key_and_its_raw_base64url_form_are_the_same_stored_key() -> None:
    assert parse_public_key(PEM) == B64URL
    assert parse_public_key(B64URL) == B64URL
    assert parse_public_key(f"  {B64URL}=\n") == B64URL  # padding and whitespace tolerated
    assert len(B64URL) == 43
    assert "=" not in parse_public_key(PEM)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "give the agency's Ed25519 public key"),
        (
            PRIVATE.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode(),
            "this is a private key",
        ),
        (
            generate_private_key(SECP256R1())
            .public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            "agencies sign with Ed25519 keys only",
        ),
        ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", "not a readable public key"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "SubjectPublicKeyInfo"),
        (base64.urlsafe_b64encode(RAW[:31]).decode(), "this one is 31"),
        (base64.urlsafe_b64encode(RAW + b"\0").decode(), "this one is 33"),
        (base64.b64encode(b"\xfb" * 32).decode(), "not base64url"),  # standard base64's '+' and '/'
        ("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq", "this one is"),
    ],
)
def test_a_bad_key_is_refused_saying_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as refused:
        parse_public_key(value)
    assert refused.value.field == "public_key"


@given(st.binary(min_size=32, max_size=32))
def test_any_32_bytes_in_base64url_round_trip(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert base64.urlsafe_b64decode(parse_public_key(text) + "=") == raw


@pytest.mark.parametrize("key_id", ["fr-justice-2026-01", "bka.bund.de/2026", "k1", "a" * 100])
def test_usable_key_ids(key_id: str) -> None:
    assert _check_key_id(f" {key_id} ") == key_id


@pytest.mark.parametrize("key_id", ["", " ", "-leading-dash", 'quo"te', "spa ce", "a" * 101, "clé"])
def test_unusable_key_ids(key_id: str) -> None:
    with pytest.raises(InvalidInput, match="not a usable key id"):
        _check_key_id(key_id)


# --- the pure verification --------------------------------------------------------------------------------

SIGNER = AgencySigner("k1", PRIVATE)


def message(body: bytes = b'{"a": 1}', **options: object) -> SignedMessage:
    created = options.pop("created", NOW)
    headers = SIGNER.headers(
        "POST", "/api/v1/requests", body, created=created, headers={"Content-Type": "application/json"},
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
    return SignedMessage("POST", BASE + "/api/v1/requests", list(headers.items()), body)


def keys_known(key_id: str) -> Ed25519PublicKey:
    if key_id != "k1":
        raise Unauthenticated("unknown", code="signature_key_unknown")
    return PRIVATE.public_key()


def test_a_good_signature_gives_its_key_id_nonce_and_time() -> None:
    verified = verify(message(nonce="n-12345678"), now=NOW + timedelta(seconds=30), resolve_key=keys_known)
    assert (verified.key_id, verified.nonce, verified.created) == ("k1", "n-12345678", NOW)
    assert {'"@method"', '"@target-uri"', '"content-digest"'} <= set(verified.covered)


@pytest.mark.parametrize(("skew", "ok"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)])
def test_the_window_is_300_seconds_either_way_of_the_injected_clock(skew: int, ok: bool) -> None:
    signed = message()
    now = NOW + timedelta(seconds=skew)
    if ok:
        assert verify(signed, now=now, resolve_key=keys_known).key_id == "k1"
    else:
        with pytest.raises(Unauthenticated) as refused:
            verify(signed, now=now, resolve_key=keys_known)
        assert refused.value.code == "signature_expired"


def test_each_changed_part_of_the_request_is_refused() -> None:
    signed = message()
    changes = {
        "method": SignedMessage("PUT", signed.url, signed.headers, signed.body),
        "target": SignedMessage(signed.method, signed.url + "?x=1", signed.headers, signed.body),
        "covered header": SignedMessage(
            signed.method,
            signed.url,
            [(k, "text/plain" if k == "Content-Type" else v) for k, v in signed.headers],
            signed.body,
        ),
        "body": SignedMessage(signed.method, signed.url, signed.headers, signed.body + b" "),
    }
    for what, changed in changes.items():
        with pytest.raises(Unauthenticated) as refused:
            verify(changed, now=NOW, resolve_key=keys_known)
        assert refused.value.code == "signature_invalid", what
    assert verify(signed, now=NOW, resolve_key=keys_known).key_id == "k1"  # the original still verifies


def test_the_key_lookup_refusal_is_passed_on_with_its_code() -> None:
    other = AgencySigner("k2")
    headers = other.headers("GET", "/api/v1/requests", None, created=NOW, covered=("@method", "@target-uri"))
    with pytest.raises(Unauthenticated) as refused:
        verify(
            SignedMessage("GET", BASE + "/api/v1/requests", list(headers.items()), b""),
            now=NOW,
            resolve_key=keys_known,
        )
    assert refused.value.code == "signature_key_unknown"


def test_only_the_signature_headers_make_a_request_signed() -> None:
    assert is_signed([("Signature-Input", "x")])
    assert is_signed([("signature", "x")])
    assert not is_signed([("Authorization", "Bearer x"), ("Content-Digest", "sha-256=:x:")])
