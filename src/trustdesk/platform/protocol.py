"""The connector protocol between Trustdesk and a messaging platform.

Trustdesk never reaches into a platform's storage: it looks accounts up, exports their data by category
and period, preserves (holds) it, removes content, acts on accounts, notifies users and reads the stream
of new content through this protocol only. It is transport-neutral on purpose: the built-in reference
platform implements it over SQL, a Matrix Synapse connector implements it over the homeserver's admin API
(user lookup by third-party id, whois with sessions and IPs, joined rooms, room messages, redaction,
media quarantine, room blocking, suspension, deactivation, shadow-ban, server notices).

Every implementation runs the same contract suite (``tests/contract``); what that suite checks is the
contract, and the docstrings below say it in words.

Conventions every implementation keeps:

* Time is aware UTC. `Period` is half-open, ``start <= at < end``.
* An export contains records of the requested categories only (see `DataCategory` and
  ``reference/legal-instruments.md``): subscriber facts are timeless (``at`` is None); every other record
  carries the instant it describes in ``at`` and lies inside the period, except chat memberships, which
  are states (``at`` is None) reported when they began before the end of the period.
* Removed content is flagged, never deleted, so that a later `RemovalAction.RESTORE` works and the
  removed material stays available for the legally required preservation time. A platform that cannot
  undo a removal (a Matrix redaction is final) keeps the content itself before removing and restores by
  republishing it, marked as restored; `RemovalResult.restored_by` and ``visible_at`` say so.
* The content stream (`PlatformConnector.content_events`) carries what detection needs besides the text
  and the media hash: the chat's type and audience, the author's registration time, the media's kind,
  MD5 and PDQ hashes and, for small images, the bytes (`ContentEvent`). These details are optional: a
  connector declares the ones it fills with ``content_event_details`` (a subset of
  `CONTENT_EVENT_DETAILS`; absent means none), and the contract suite checks exactly those.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from trustdesk.vocabulary import DataCategory, TargetType

__all__ = [
    "CHAT_TYPES",
    "CONTENT_EVENT_DETAILS",
    "FETCH_MEDIA_LIMIT",
    "INLINE_MEDIA_LIMIT",
    "MAX_EVENTS",
    "MEDIA_KINDS",
    "Account",
    "AccountAction",
    "AccountNotFound",
    "AccountStatus",
    "ContentEvent",
    "ContentNotFound",
    "ContentState",
    "Export",
    "ExportRecord",
    "FieldValue",
    "Hold",
    "HoldConflict",
    "HoldExpired",
    "HoldNotFound",
    "Period",
    "PlatformConnector",
    "PlatformError",
    "RemovalAction",
    "RemovalResult",
    "RestoreMethod",
    "canonical_export",
    "normalise_categories",
    "normalise_country_codes",
    "normalise_phone",
    "parse_cursor",
    "record_order",
    "require_aware",
    "sha256_hex",
]

FieldValue = str | int | None
"""What an export record's field may hold: JSON scalars only, timestamps as ISO 8601 strings."""


# --------------------------------------------------------------------------------------------------
# Closed vocabularies


class AccountAction(StrEnum):
    """What Trustdesk may do to an account (Synapse: shadow-ban, suspend, deactivate, undo)."""

    RESTRICT = "restrict"
    SUSPEND = "suspend"
    TERMINATE = "terminate"
    REINSTATE = "reinstate"


class AccountStatus(StrEnum):
    """The state an account is in; each `AccountAction` leads to exactly one status."""

    ACTIVE = "active"
    RESTRICTED = "restricted"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"

    @classmethod
    def after(cls, action: AccountAction) -> AccountStatus:
        """The status an account has after ``action`` (every action is allowed from every status)."""
        return _STATUS_AFTER[action]


_STATUS_AFTER: Mapping[AccountAction, AccountStatus] = MappingProxyType(
    {
        AccountAction.RESTRICT: AccountStatus.RESTRICTED,
        AccountAction.SUSPEND: AccountStatus.SUSPENDED,
        AccountAction.TERMINATE: AccountStatus.TERMINATED,
        AccountAction.REINSTATE: AccountStatus.ACTIVE,
    }
)


class RemovalAction(StrEnum):
    """What Trustdesk may do to a piece of content or a whole chat."""

    REMOVE = "remove"
    GEO_RESTRICT = "geo_restrict"
    RESTORE = "restore"


class RestoreMethod(StrEnum):
    """How a `RemovalAction.RESTORE` brought content back.

    UNDONE: the platform lifted its own flag; the content is visible again at its locator.
    REPUBLISHED: the platform cannot undo the removal (a Matrix redaction is final), so the connector
    published the preserved content again on the author's behalf, marked as restored, at a new locator.
    """

    UNDONE = "undone"
    REPUBLISHED = "republished"


class ContentState(StrEnum):
    """The visibility of content after removal actions (its own and its chat's)."""

    VISIBLE = "visible"
    RESTRICTED = "restricted"
    REMOVED = "removed"


# --------------------------------------------------------------------------------------------------
# Errors


class PlatformError(Exception):
    """The platform refused or could not carry out a call."""


class AccountNotFound(PlatformError):
    """No account with that platform id."""


class ContentNotFound(PlatformError):
    """No content at that locator (including locators of another platform or malformed ones)."""


class HoldNotFound(PlatformError):
    """No hold with that id (never placed, or released)."""


class HoldConflict(PlatformError):
    """A hold id was reused for a different account, category set or period."""


class HoldExpired(PlatformError):
    """The hold has lapsed; it can no longer be extended (place a new one)."""


# --------------------------------------------------------------------------------------------------
# Helpers shared by implementations (pure)


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` converted to UTC; a naive datetime raises `ValueError`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_NOISE = re.compile(r"[\s().\-/]")


def normalise_phone(value: str) -> str | None:
    """E.164 form of ``value`` (tolerating spaces, dots, dashes, parentheses, ``00``), else None."""
    compact = _PHONE_NOISE.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.fullmatch(compact) else None


def normalise_categories(categories: Iterable[DataCategory | str]) -> frozenset[DataCategory]:
    """The requested categories as a set; empty or unknown raises `ValueError`."""
    result = frozenset(DataCategory(category) for category in categories)
    if not result:
        raise ValueError("at least one data category is required")
    return result


def normalise_country_codes(scope: Iterable[str]) -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, upper-cased; empty or malformed raises `ValueError`."""
    if isinstance(scope, str):
        raise ValueError("scope is a collection of country codes, not a single string")
    codes = frozenset(code.strip().upper() for code in scope)
    if not codes:
        raise ValueError("a geo restriction needs at least one country code")
    for code in codes:
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {code!r}")
    return codes


# --------------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Period:
    """A half-open interval of time ``[start, end)``, aware and normalised to UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "Period.start")
        end = require_aware(self.end, "Period.end")
        if not start < end:
            raise ValueError(f"Period.start must be before Period.end, got {start} .. {end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def contains(self, at: datetime) -> bool:
        return self.start <= require_aware(at, "at") < self.end


@dataclass(frozen=True)
class Account:
    """An account as the platform knows it. Carries subscriber data: never put it into an export."""

    platform_id: str
    username: str | None
    phone: str | None
    display_name: str | None
    created_at: datetime
    status: AccountStatus

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", require_aware(self.created_at, "created_at"))
        object.__setattr__(self, "status", AccountStatus(self.status))


@dataclass(frozen=True)
class ExportRecord:
    """One fact of an export.

    ``kind`` names the shape of ``fields`` (reference platform: ``account``; ``registration``,
    ``session``; ``membership``, ``device``, ``communication``; ``message``). ``at`` is the instant the
    record describes, None for timeless facts and states. ``fields`` is read-only and holds JSON scalars,
    timestamps as ISO 8601 strings.
    """

    category: DataCategory
    kind: str
    fields: Mapping[str, FieldValue] = field(hash=False)
    at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", DataCategory(self.category))
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        if self.at is not None:
            object.__setattr__(self, "at", require_aware(self.at, "ExportRecord.at"))


@dataclass(frozen=True)
class Export:
    """The data of one account: records of the requested categories only, inside the period."""

    account_id: str
    period: Period
    categories: frozenset[DataCategory]
    records: tuple[ExportRecord, ...]

    def of(self, category: DataCategory) -> tuple[ExportRecord, ...]:
        return tuple(record for record in self.records if record.category is category)


@dataclass(frozen=True)
class Hold:
    """A preservation hold: the sealed snapshot is `canonical_export` of the export at placement."""

    hold_id: str
    account_id: str
    categories: frozenset[DataCategory]
    period: Period
    placed_at: datetime
    expires_at: datetime
    snapshot: bytes
    snapshot_sha256: str

    def snapshot_intact(self) -> bool:
        return sha256_hex(self.snapshot) == self.snapshot_sha256


@dataclass(frozen=True)
class RemovalResult:
    """The effect of a removal action: ``scope`` None means worldwide, else the countries concerned.

    ``scope`` is the effective state after the action: geo restrictions of the same content accumulate,
    a worldwide removal covers them, a restore lifts everything (scope None).

    ``locator`` is the content the action applied to. For a RESTORE only, ``restored_by`` says how the
    content came back (`RestoreMethod`) and ``visible_at`` where it is visible now: ``locator`` itself
    when the removal was undone, a new locator when it was republished (the original stays removed).
    Both are None for REMOVE and GEO_RESTRICT.
    """

    locator: str
    action: RemovalAction
    scope: frozenset[str] | None
    effective_at: datetime
    restored_by: RestoreMethod | None = None
    visible_at: str | None = None

    def __post_init__(self) -> None:
        restoring = self.action is RemovalAction.RESTORE
        if restoring != (self.restored_by is not None) or restoring != (self.visible_at is not None):
            raise ValueError("restored_by and visible_at are set for a RESTORE, and only for it")
        if self.restored_by is RestoreMethod.UNDONE and self.visible_at != self.locator:
            raise ValueError("content restored by undoing its removal is visible at its own locator")


CHAT_TYPES = ("public", "group", "private")
"""`ContentEvent.chat_type` values: a public channel or room anyone can find and read, a private group,
a one-to-one chat."""
MEDIA_KINDS = ("image", "video", "file")
"""`ContentEvent.media_kind` values."""
CONTENT_EVENT_DETAILS = frozenset(
    {"chat_type", "audience", "account_created_at", "media_kind", "media_md5", "media_pdq", "media_data"}
)
"""The optional detail fields of `ContentEvent`. A connector names the ones it always fills (where they
apply) in ``content_event_details``; the contract suite checks those."""
INLINE_MEDIA_LIMIT = 1_048_576
"""In the stream (`PlatformConnector.content_events`), `ContentEvent.media_data` carries the bytes of
images up to this size (1 MiB), never more."""
FETCH_MEDIA_LIMIT = 20 * 1_048_576
"""`PlatformConnector.fetch_content` carries the bytes of media of any kind up to this size (20 MiB) in
`ContentEvent.media_data`; larger media comes without its bytes (None)."""


@dataclass(frozen=True)
class ContentEvent:
    """One piece of content in the platform's stream, as it is now.

    ``kind`` is ``"message"`` (text only) or ``"media"`` (carries ``media_sha256``, maybe a caption).
    Removed content stays in the stream with its text and hash preserved and ``state`` REMOVED.

    The detail fields feed detection (conditions on chat type, audience and account age; media hashes
    and, for small images, the bytes to hash and classify). Each is optional: None (or empty) means the
    platform does not know it. A connector lists the ones it fills in ``content_event_details``.

    * ``chat_type``: one of `CHAT_TYPES`; ``audience``: how many members or subscribers can see it.
    * ``account_created_at``: when the author's account was registered (aware UTC).
    * ``media_kind``: one of `MEDIA_KINDS`, for ``kind == "media"`` only; ``media_md5``: 32 hex.
    * ``media_pdq``: an image's PDQ hashes as ``(64 hex, quality 0-100)``, the image's own first.
    * ``media_data``: in the stream, the bytes of an image of at most `INLINE_MEDIA_LIMIT` bytes; from
      `PlatformConnector.fetch_content`, the bytes of any media of at most `FETCH_MEDIA_LIMIT` bytes.

    ``cursor`` is the content's position in the stream; an event from ``fetch_content`` carries it where
    the connector knows it (else it is empty).
    """

    cursor: str
    event_id: str
    kind: str
    account_id: str
    chat_id: str
    at: datetime
    text: str | None
    media_sha256: str | None
    locator: str
    state: ContentState = ContentState.VISIBLE
    chat_type: str | None = None
    audience: int | None = None
    account_created_at: datetime | None = None
    media_kind: str | None = None
    media_md5: str | None = None
    media_pdq: tuple[tuple[str, int], ...] = ()
    media_data: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.chat_type is not None and self.chat_type not in CHAT_TYPES:
            raise ValueError(f"chat_type must be one of {CHAT_TYPES}, got {self.chat_type!r}")
        if self.media_kind is not None and self.media_kind not in MEDIA_KINDS:
            raise ValueError(f"media_kind must be one of {MEDIA_KINDS}, got {self.media_kind!r}")
        if self.audience is not None and self.audience < 0:
            raise ValueError(f"audience must not be negative, got {self.audience}")
        if self.account_created_at is not None:
            object.__setattr__(
                self, "account_created_at", require_aware(self.account_created_at, "account_created_at")
            )
        object.__setattr__(self, "media_pdq", tuple((str(h), int(q)) for h, q in self.media_pdq))


MAX_EVENTS = 1000
"""The most content events one `PlatformConnector.content_events` call returns."""
_NUMERIC_CURSOR = re.compile(r"[0-9]{1,18}")


def parse_cursor(after: str | None, limit: int) -> int:
    """The stream position after a numeric cursor (None: 0); a bad cursor or a limit outside 1..1000
    raises `ValueError`. For connectors whose cursors are positions in a log."""
    if isinstance(limit, bool) or not 1 <= limit <= MAX_EVENTS:
        raise ValueError(f"limit must be between 1 and {MAX_EVENTS}, got {limit!r}")
    if after is None:
        return 0
    if _NUMERIC_CURSOR.fullmatch(after):
        return int(after)
    raise ValueError(f"not a cursor of this platform: {after!r}")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return require_aware(value, "timestamp").isoformat()
    raise TypeError(f"not serialisable in an export: {type(value).__name__}")


_CATEGORY_ORDER = {category: index for index, category in enumerate(DataCategory)}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def record_order(record: ExportRecord) -> tuple[int, bool, datetime, str, str]:
    """The one order of export records: by category, timeless facts first, then by time, kind and fields."""
    return (
        _CATEGORY_ORDER[record.category],
        record.at is not None,
        record.at or _EARLIEST,
        record.kind,
        json.dumps(dict(record.fields), sort_keys=True),
    )


def canonical_export(export: Export) -> bytes:
    """The canonical JSON bytes of an export: sorted keys, no spaces, UTF-8, UTC ISO 8601 times.

    The same export gives the same bytes on every implementation, so a hold's sha256 can be verified by
    anyone holding the snapshot.
    """
    document: dict[str, Any] = {
        "account_id": export.account_id,
        "period": {"start": export.period.start, "end": export.period.end},
        "categories": sorted(category.value for category in export.categories),
        "records": [
            {
                "category": record.category.value,
                "kind": record.kind,
                "at": record.at,
                "fields": dict(record.fields),
            }
            for record in export.records
        ],
    }
    return json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    ).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class PlatformConnector(Protocol):
    """What Trustdesk needs from a messaging platform.

    Each call is atomic on the platform side. Errors are `PlatformError` subclasses for facts about the
    platform (not found, conflict) and `ValueError` for malformed arguments.
    """

    name: str
    """A short stable name of the implementation, e.g. ``"reference"`` or ``"synapse"``."""

    def lookup_account(self, target_type: TargetType, value: str) -> Account | None:
        """The account designated by ``value``, or None when there is none.

        PHONE: E.164, spaces, dots, dashes, parentheses and a ``00`` international prefix are tolerated.
        USERNAME: with or without leading ``@``, case-insensitive. USER_ID: the platform id.
        CONTENT_URL: a content locator; the account of its author. Values that cannot designate anything
        on this platform (a malformed phone, another platform's URL) give None, never an error.
        """
        ...

    def export(self, account_id: str, categories: Iterable[DataCategory], period: Period) -> Export:
        """The account's data of ``categories`` in ``period``; unknown account: `AccountNotFound`.

        Worldwide-removed content is not exported as content (it stays preserved on the platform);
        traffic data about it is. Empty categories: `ValueError`.
        """
        ...

    def place_hold(
        self,
        hold_id: str,
        account_id: str,
        categories: Iterable[DataCategory],
        period: Period,
        expires_at: datetime,
    ) -> Hold:
        """Preserve the account's data of ``categories`` in ``period`` until ``expires_at``.

        Seals a snapshot (`canonical_export` of the export at placement) and keeps the underlying data
        from the platform's retention while the hold is unexpired. Idempotent per ``hold_id``: a repeat
        returns the hold as first placed (use `extend_hold` to move the expiry); the same id with another
        account, category set or period raises `HoldConflict`. ``expires_at`` not after now: `ValueError`.
        """
        ...

    def extend_hold(self, hold_id: str, expires_at: datetime) -> Hold:
        """Move the expiry later; unknown: `HoldNotFound`, lapsed: `HoldExpired`, not later: `ValueError`."""
        ...

    def release_hold(self, hold_id: str) -> None:
        """Drop the hold (its snapshot too); retention applies again. Unknown: `HoldNotFound`."""
        ...

    def remove_content(
        self, locator: str, action: RemovalAction, scope: Iterable[str] | None = None
    ) -> RemovalResult:
        """Remove, geo-restrict or restore a message or a whole chat; unknown: `ContentNotFound`.

        REMOVE is worldwide (``scope`` must be None); GEO_RESTRICT needs ISO 3166-1 alpha-2 codes and
        adds them to any earlier restriction; RESTORE lifts every restriction and removal of that locator.
        Content is flagged, not deleted. RESTORE is reversible on every connector: where the platform
        cannot undo a removal, the connector republishes the content it preserved before removing it
        (`RestoreMethod.REPUBLISHED`, the new locator in ``visible_at``); a repeated RESTORE returns the
        same result and publishes nothing again.
        """
        ...

    def act_on_account(self, account_id: str, action: AccountAction, reason: str) -> Account:
        """Apply ``action`` and return the account after it; unknown: `AccountNotFound`.

        The status becomes `AccountStatus.after(action)`; repeating an action is harmless. ``reason`` is
        recorded by the platform and must not be empty.
        """
        ...

    def send_notice(self, account_id: str, text: str) -> str:
        """Deliver a notice from the platform to the account; returns the notice id."""
        ...

    def content_events(self, after: str | None = None, limit: int = 100) -> Sequence[ContentEvent]:
        """Up to ``limit`` content events after the cursor ``after`` (None: from the beginning).

        Ordered; cursors are opaque strings and ``events[-1].cursor`` resumes after the last event seen.
        Delivery is at least once: a consumer must tolerate seeing an event again. A malformed cursor or
        a ``limit`` outside 1..1000 raises `ValueError`. The detail fields named in the connector's
        ``content_event_details`` are filled wherever they apply (see `ContentEvent`).
        """
        ...

    def fetch_content(self, locator: str) -> ContentEvent:
        """The message at ``locator`` as it is now, with every detail field the connector knows.

        For media, ``media_data`` holds the bytes when they are at most `FETCH_MEDIA_LIMIT` bytes (else
        None): the limit differs from the stream's `INLINE_MEDIA_LIMIT`, and applies to every media kind.
        Removed content is still returned, from what the platform preserved when it was removed: ``state``
        REMOVED, its text and media as preserved (a report to an authority, or a reviewer reading a notice
        that carries only a locator, needs it after the removal). One lookup, never a scan of the stream.
        An unknown locator, another platform's locator or a chat's locator: `ContentNotFound`.
        """
        ...
