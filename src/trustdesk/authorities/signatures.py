"""Verifying an agency's signed request: RFC 9421 HTTP Message Signatures with Ed25519, the body bound by
an RFC 9530 ``Content-Digest`` (SHA-256 or SHA-512). Pure: the message, the time and a key lookup in, the
verified key id and nonce out (or ``Unauthenticated`` with a stable code); no ORM, no web.

The signature base, the Structured Fields and the digest are the library's (``http-message-signatures``);
what Trustdesk requires on top of it is here:

- exactly one signature, algorithm ``ed25519`` (``alg`` may be omitted, never another);
- the parameters ``created`` (within ``window`` of the server's clock, either way), ``keyid`` and
  ``nonce`` (whose replay the caller refuses: ``authorities.keys.remember_nonce``); ``expires``, if
  given, not past;
- the covered components ``@method`` and ``@target-uri`` (or ``@authority`` and ``@path``), and
  ``content-digest`` whenever there is a body, whose digest must match the body received.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    VerifyResult,
    algorithms,
)

from trustdesk.errors import DomainError, Unauthenticated

__all__ = ["SIGNATURE_HEADERS", "SignedMessage", "Verified", "is_signed", "verify"]

SIGNATURE_HEADERS = ("signature-input", "signature")
DEFAULT_WINDOW = timedelta(seconds=300)
_SIGNATURE_PARAMS = '"@signature-params"'


@dataclass(frozen=True)
class SignedMessage:
    """A request as received: the method, the absolute target URI, every header line, the body."""

    method: str
    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Verified:
    key_id: str
    nonce: str
    created: datetime
    covered: tuple[str, ...]


def is_signed(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether the request carries a signature at all (either header: half a signature is refused)."""
    return any(name.lower() in SIGNATURE_HEADERS for name, _ in headers)


class _Refusal(InvalidSignature):
    """A refusal with its own code, passed through the library unchanged (it re-raises InvalidSignature)."""

    def __init__(self, code: str, message: str, field: str = "Signature-Input") -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class _Headers:
    """The header lines in order, as the library reads them (read-only)."""

    def __init__(self, lines: Sequence[tuple[str, str]]) -> None:
        self._lines = list(lines)

    def items(self) -> Iterable[tuple[str, str]]:
        return iter(self._lines)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self._lines)


@dataclass(frozen=True)
class _Message:
    method: str
    url: str
    headers: _Headers


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, resolve: Callable[[str], Ed25519PublicKey]) -> None:
        self._resolve = resolve

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        try:
            return self._resolve(key_id)
        except DomainError as exc:
            raise _Refusal(exc.code, exc.message, exc.field or "Signature-Input") from None

    def resolve_private_key(self, key_id: str) -> Any:  # pragma: no cover - verification only
        raise PermissionError(f"Trustdesk holds no private key ({key_id}): it only verifies signatures")


def _timestamp(value: object, name: str) -> datetime:
    if type(value) is not int:
        raise _Refusal(
            "signature_invalid", f"the signature's {name} parameter must be an integer (Unix time)"
        )
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Refusal(
            "signature_invalid", f"the signature's {name} parameter is not a usable time"
        ) from None


class _Verifier(HTTPMessageVerifier):
    """The library's verifier on the server's injected clock and Trustdesk's window."""

    def __init__(self, keys: _Keys, now: datetime, window: timedelta) -> None:
        super().__init__(signature_algorithm=algorithms.ED25519, key_resolver=keys)
        self._now, self._window = now, window

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:  # noqa: ARG002 - the library's signature; the window stands for max_age
        params = sig_input.params
        if "created" not in params:
            raise _Refusal("signature_invalid", "the signature has no created parameter (when it was made)")
        created = _timestamp(params["created"], "created")
        if abs(created - self._now) > self._window:
            raise _Refusal(
                "signature_expired",
                f"the signature was created at {created:%Y-%m-%d %H:%M:%S} UTC, more than "
                f"{int(self._window.total_seconds())} seconds from the server's time "
                f"({self._now:%Y-%m-%d %H:%M:%S} UTC): sign the request when sending it",
            )
        if "expires" in params and _timestamp(params["expires"], "expires") < self._now:
            raise _Refusal("signature_expired", "the signature's expires time has passed")


def _names(covered: Iterable[str]) -> set[str]:
    names = set()
    for identifier in covered:
        if identifier == _SIGNATURE_PARAMS:
            continue
        parsed = http_sf.parse(identifier.encode(), tltype="item")
        names.add(str(parsed[0] if isinstance(parsed, tuple) else parsed))
    return names


def _check_coverage(result: VerifyResult, has_body: bool) -> None:
    names = _names(result.covered_components)
    missing = []
    if "@method" not in names:
        missing.append('"@method"')
    if "@target-uri" not in names and not {"@authority", "@path"} <= names:
        missing.append('"@target-uri" (or "@authority" and "@path")')
    if has_body and "content-digest" not in names:
        missing.append('"content-digest" (the request has a body)')
    if missing:
        raise _Refusal("signature_invalid", "the signature must cover " + ", ".join(missing))


def verify(
    message: SignedMessage,
    *,
    now: datetime,
    resolve_key: Callable[[str], Ed25519PublicKey],
    window: timedelta = DEFAULT_WINDOW,
) -> Verified:
    """Verify the request's one signature; ``resolve_key`` gives the live key of a ``keyid`` (or raises a
    DomainError, passed on). Every failure is ``Unauthenticated`` with a stable code: ``signature_invalid``,
    ``signature_expired``, or what ``resolve_key`` raised (``signature_key_unknown``, say)."""
    verifier = _Verifier(_Keys(resolve_key), now, window)
    adapted = _Message(message.method.upper(), message.url, _Headers(message.headers))
    try:
        (result,) = verifier.verify(adapted, max_age=None)
        _check_coverage(result, bool(message.body))
        nonce = result.nonce
        if not isinstance(nonce, str) or not nonce:
            raise _Refusal(
                "signature_invalid", "the signature has no nonce parameter (a random value per request)"
            )
        try:
            verifier.verify_body(adapted, [result], message.body)
        except InvalidSignature as exc:
            raise _Refusal(
                "signature_invalid",
                f"the Content-Digest does not match the body received: {exc}",
                "Content-Digest",
            ) from None
    except _Refusal as refusal:
        raise Unauthenticated(refusal.message, code=refusal.code, field=refusal.field) from None
    except (InvalidSignature, HTTPMessageSignaturesException, ValueError) as exc:
        reason = str(exc) or "the Ed25519 signature does not match the request as received"
        if isinstance(exc.__cause__, Exception) and not str(exc.__cause__):
            reason = "the Ed25519 signature does not match the request as received"
        raise Unauthenticated(
            f"the request's signature is refused: {reason}", code="signature_invalid", field="Signature"
        ) from None
    return Verified(
        key_id=str(result.parameters["keyid"]),
        nonce=nonce,
        created=_timestamp(result.parameters["created"], "created"),
        covered=tuple(k for k in result.covered_components if k != _SIGNATURE_PARAMS),
    )
