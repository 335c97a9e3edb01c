"""The EU Transparency Database's API for statements of reasons (DSA Art. 24(5)): the protocol and its
HTTP client.

The facts are ``/work/shared/reference/dsa-statement-of-reasons.md`` ("the reference", section API):

- ``POST /api/v1/statements`` with ``{"statements": [...]}`` stores 1 to 100 statements, all or none;
  ``201`` answers ``{"statements": [...]}``, each stored statement echoed with the database's ``uuid``;
- ``POST /api/v1/statement`` stores one (``201``, the statement and its ``uuid``);
- ``GET /api/v1/statement/existing-puid/{puid}`` answers ``302`` (the stored statement) or ``404``;
- ``422`` is a validation error, keyed ``statement_N`` for a batch, or a duplicate ``puid`` (a batch's
  answer lists the puids already stored in ``errors.existing_puids``; a single statement's carries the
  stored one in ``existing``); ``401`` a bad token (``403`` a token whose user may not submit); ``429``
  rate limited (``Retry-After`` and the ``X-RateLimit-*`` headers say for how long). Anything but ``201``
  means "not stored", except that a dropped connection, a timeout or a gateway's 5xx leave it in doubt.

Every call maps the answer to one value or one exception: `TdbRefused` (422), `TdbRateLimited` (429),
`TdbAuthError` (401, 403: a configuration error, not worth a retry), `TdbTransientError` (5xx, the
network, anything unexpected). The token never appears in errors or in ``repr``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable
from urllib.parse import quote

from trustdesk.clock import Clock, system_clock

if TYPE_CHECKING:
    from types import TracebackType

    import httpx2

    from trustdesk.config import Settings

__all__ = [
    "BATCH_ENDPOINT",
    "EXISTING_PUID_ENDPOINT",
    "MAX_BATCH",
    "SINGLE_ENDPOINT",
    "HttpTransparencyDatabase",
    "RateLimits",
    "TdbAuthError",
    "TdbError",
    "TdbRateLimited",
    "TdbRefused",
    "TdbTransientError",
    "TransparencyDatabase",
    "client_from_settings",
    "retry_after_seconds",
]

MAX_BATCH: Final = 100
BATCH_ENDPOINT: Final = "api/v1/statements"
SINGLE_ENDPOINT: Final = "api/v1/statement"
EXISTING_PUID_ENDPOINT: Final = "api/v1/statement/existing-puid/{puid}"
_STATEMENT_KEY: Final = re.compile(r"statement_(\d+)")
_MAX_MESSAGE: Final = 500


class TdbError(Exception):
    """The database did not store what was sent (or could not be asked)."""


class TdbTransientError(TdbError):
    """A failure a later attempt may get past. ``in_doubt``: the request may have reached the database and
    been stored (a dropped connection or a timeout after sending, a gateway's 5xx), so the next attempt
    first asks which puids it holds."""

    def __init__(self, message: str, *, in_doubt: bool) -> None:
        super().__init__(message)
        self.in_doubt = in_doubt


class TdbRateLimited(TdbError):
    """``429``: ``retry_after`` seconds (from ``Retry-After`` or the ``X-RateLimit-Reset`` header; None if the
    server said nothing) before the next request. Nothing was stored."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TdbAuthError(TdbError):
    """``401`` or ``403``: the token is wrong, revoked or not allowed to submit. A configuration error: stop
    and alert, do not retry until an operator fixed it."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class TdbRefused(TdbError):
    """``422``: nothing was stored. ``errors`` maps a statement's index in the batch (0 for a single
    statement) to the database's reasons; ``existing_puids`` are the puids it already holds (a duplicate),
    with their ids in ``existing_ids`` where the answer carried them; ``message`` is the rest."""

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[int, str] | None = None,
        existing_puids: Sequence[str] = (),
        existing_ids: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.errors: Mapping[int, str] = dict(errors or {})
        self.existing_puids: tuple[str, ...] = tuple(existing_puids)
        self.existing_ids: Mapping[str, str] = dict(existing_ids or {})


@dataclass(frozen=True)
class RateLimits:
    """The ``X-RateLimit-*`` headers of the last answer (None where absent); ``reset_after`` in seconds."""

    limit: int | None = None
    remaining: int | None = None
    reset_after: float | None = None


@runtime_checkable
class TransparencyDatabase(Protocol):
    """The Transparency Database's statement API. Statements are dicts in the database's own field names,
    as stored in ``safety_statements.body``. Each method raises the `TdbError` kinds above."""

    @property
    def limits(self) -> RateLimits:
        """The rate-limit headers of the last answer."""
        ...

    def submit_batch(self, statements: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
        """Store 1 to `MAX_BATCH` statements, all or none; the database's id per puid (None where the
        answer did not say)."""
        ...

    def submit_one(self, statement: Mapping[str, Any]) -> str | None:
        """Store one statement; its id in the database (None where the answer did not say)."""
        ...

    def existing(self, puid: str) -> str | None:
        """The database's id of the statement stored under ``puid`` ("" if it did not say), None if none."""
        ...


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3); None if absent or
    unreadable; never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _limits(headers: Mapping[str, str], now: datetime) -> RateLimits:
    reset = _int(headers.get("x-ratelimit-reset"))
    reset_after: float | None = None
    if reset is not None:
        # Laravel sends a Unix time; a small number is read as seconds from now.
        reset_after = float(reset) if reset < 10**9 else max(0.0, reset - now.timestamp())
    return RateLimits(
        limit=_int(headers.get("x-ratelimit-limit")),
        remaining=_int(headers.get("x-ratelimit-remaining")),
        reset_after=reset_after,
    )


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _reasons(value: object) -> str:
    """The database's reasons for one statement (``{field: [messages]}``) as one line."""
    if isinstance(value, Mapping):
        parts = []
        for name, messages in value.items():
            said = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            parts.append(f"{name}: {said}")
        return _short(", ".join(parts) or "refused")
    if isinstance(value, list):
        return _short("; ".join(str(m) for m in value))
    return _short(str(value))


def _refusal(body: object, *, single: bool) -> TdbRefused:
    """A ``422`` answer as `TdbRefused`."""
    if not isinstance(body, Mapping):
        return TdbRefused("HTTP 422 without a JSON object")
    message = str(body.get("message") or "HTTP 422")
    errors = body.get("errors")
    per_statement: dict[int, str] = {}
    existing: list[str] = []
    existing_ids: dict[str, str] = {}
    other: dict[str, object] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if (found := _STATEMENT_KEY.fullmatch(str(key))) is not None:
                per_statement[int(found.group(1))] = _reasons(value)
            elif key == "existing_puids" and isinstance(value, list):
                existing.extend(str(p) for p in value)
            else:
                other[str(key)] = value
    stored = body.get("existing")
    if isinstance(stored, Mapping) and stored.get("puid"):
        puid = str(stored["puid"])
        existing.append(puid)
        if stored.get("uuid"):
            existing_ids[puid] = str(stored["uuid"])
    if single and other and not existing:
        per_statement[0] = _reasons(other)
    elif other and not per_statement and not existing:
        message = f"{message} ({_reasons(other)})"
    return TdbRefused(
        _short(message), errors=per_statement, existing_puids=existing, existing_ids=existing_ids
    )


@dataclass
class _Answer:
    status: int
    body: object
    headers: Mapping[str, str] = field(default_factory=dict)


class HttpTransparencyDatabase:
    """The Transparency Database's API over HTTPS with the platform's bearer token (httpx2).

    ``base_url`` is the site (``https://transparency.dsa.ec.europa.eu``, its sandbox, or a local stand-in);
    the endpoints are below it. ``transport`` lets a test put an ``httpx2.MockTransport`` in place of the
    network. Redirects are never followed: ``302`` is an answer of the existing-puid endpoint. Use as a
    context manager, or call `close`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = 60.0,
        clock: Clock = system_clock,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        import httpx2  # imported here, so that the protocol and the errors import without it

        if not re.fullmatch(r"https?://\S+", base_url):
            raise ValueError(f"the Transparency Database base URL must be http(s)://..., got {base_url!r}")
        if not token:
            raise ValueError("the Transparency Database token is required")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._httpx = httpx2
        self._limits = RateLimits()
        self._client = httpx2.Client(
            base_url=self.base_url + "/",
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "trustdesk-sor",
            },
        )

    def __repr__(self) -> str:
        return f"HttpTransparencyDatabase({self.base_url})"

    def __enter__(self) -> HttpTransparencyDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def _call(self, method: str, path: str, payload: object | None = None) -> _Answer:
        """One request; 401/403/429/5xx and the network raise, every other answer is returned."""
        sent = payload is not None
        try:
            if sent:
                content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
                response = self._client.request(
                    method, path, content=content, headers={"Content-Type": "application/json"}
                )
            else:
                response = self._client.request(method, path)
        except self._httpx.TimeoutException as exc:
            # a connect timeout never sent anything; a read or write timeout may have been stored
            doubt = sent and not isinstance(exc, self._httpx.ConnectTimeout | self._httpx.PoolTimeout)
            raise TdbTransientError(f"{type(exc).__name__}: {exc}", in_doubt=doubt) from None
        except self._httpx.TransportError as exc:
            doubt = sent and not isinstance(exc, self._httpx.ConnectError)
            raise TdbTransientError(f"{type(exc).__name__}: {exc}", in_doubt=doubt) from None
        now = self._clock()
        self._limits = _limits(response.headers, now)
        status = response.status_code
        try:
            body: object = response.json() if response.content else None
        except ValueError:
            body = None
        if status in (401, 403):
            raise TdbAuthError(
                f"HTTP {status}: the Transparency Database refused the token (TRUSTDESK_TDB_TOKEN)",
                status=status,
            )
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"), now)
            if wait is None:
                wait = self._limits.reset_after
            raise TdbRateLimited(f"HTTP 429: rate limited (retry after {wait} s)", retry_after=wait)
        if status >= 500:
            raise TdbTransientError(f"HTTP {status} from the Transparency Database", in_doubt=sent)
        return _Answer(status, body, response.headers)

    def submit_batch(self, statements: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
        if not 1 <= len(statements) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} statements, not {len(statements)}")
        answer = self._call("POST", BATCH_ENDPOINT, {"statements": list(statements)})
        if answer.status == 422:
            raise _refusal(answer.body, single=False)
        if answer.status != 201:
            raise TdbTransientError(f"HTTP {answer.status}: not stored", in_doubt=False)
        ids: dict[str, str | None] = {str(s["puid"]): None for s in statements}
        stored = answer.body.get("statements") if isinstance(answer.body, Mapping) else None
        for item in stored if isinstance(stored, list) else []:
            if isinstance(item, Mapping) and str(item.get("puid")) in ids and item.get("uuid"):
                ids[str(item["puid"])] = str(item["uuid"])
        return ids

    def submit_one(self, statement: Mapping[str, Any]) -> str | None:
        answer = self._call("POST", SINGLE_ENDPOINT, dict(statement))
        if answer.status == 422:
            raise _refusal(answer.body, single=True)
        if answer.status != 201:
            raise TdbTransientError(f"HTTP {answer.status}: not stored", in_doubt=False)
        uuid = answer.body.get("uuid") if isinstance(answer.body, Mapping) else None
        return str(uuid) if uuid else None

    def existing(self, puid: str) -> str | None:
        answer = self._call("GET", EXISTING_PUID_ENDPOINT.format(puid=quote(puid, safe="")))
        if answer.status == 404:
            return None
        if answer.status in (200, 302):
            uuid = answer.body.get("uuid") if isinstance(answer.body, Mapping) else None
            return str(uuid) if uuid else ""
        raise TdbTransientError(f"HTTP {answer.status} asking for puid {puid}", in_doubt=False)


def client_from_settings(
    settings: Settings, *, clock: Clock = system_clock
) -> HttpTransparencyDatabase | None:
    """The database's client when ``TRUSTDESK_TDB_BASE_URL`` and ``TRUSTDESK_TDB_TOKEN`` are set; else None
    (submission is off)."""
    if not (settings.tdb_base_url and settings.tdb_token):
        return None
    return HttpTransparencyDatabase(
        base_url=settings.tdb_base_url, token=settings.tdb_token.get_secret_value(), clock=clock
    )
