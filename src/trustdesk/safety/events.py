"""Content events: what the scanner consumes, as it travels on the bus and arrives over HTTP.

One shape everywhere: the platform's connector (polled) and its module (pushing to
``POST /api/v1/content-events``) both produce a `ContentItem`; on the bus it is one JSON document under
the payload key ``"item"``. Media carry their hashes (computed at upload time by Trustdesk's match
endpoint or by the platform) and, for small images, may carry the bytes so that the scanner hashes and
classifies them itself.
"""

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trustdesk.safety.vocabulary import ChatType, ContentKind

HEX32 = r"^[0-9a-f]{32}$"
HEX64 = r"^[0-9a-f]{64}$"
MAX_TEXT = 65_536
MAX_INLINE_MEDIA = 512 * 1024
"""Images travel with the event up to this size: base64 must fit a bus message of 1 MiB."""
PAYLOAD_KEY = "item"


class EventError(ValueError):
    """A content event that cannot be scanned; the message says which field and why."""


class PdqHash(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hash: Annotated[str, Field(pattern=HEX64)]
    quality: Annotated[int, Field(ge=0, le=100)]


class Media(BaseModel):
    """An image, video or file attached to the content, described by its hashes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    md5: Annotated[str | None, Field(pattern=HEX32)] = None
    sha256: Annotated[str | None, Field(pattern=HEX64)] = None
    pdq: tuple[PdqHash, ...] = ()
    """An image's PDQ hash (first) and possibly its dihedral variants; a video's frame hashes."""
    mime_type: Annotated[str | None, Field(max_length=100)] = None
    data_b64: Annotated[str | None, Field(max_length=4 * -(-MAX_INLINE_MEDIA // 3))] = None
    """The bytes themselves, base64, for images up to 512 KiB: the scanner hashes and classifies them."""
    classifier_scores: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    """Scores a classifier gave at upload time, by label (e.g. ``{"nudity": 0.93}``)."""

    @field_validator("data_b64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("not valid base64") from exc
        return value

    @field_validator("md5", "sha256", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def data(self) -> bytes | None:
        """The inline bytes (validated as base64 of at most `MAX_INLINE_MEDIA` bytes on the way in)."""
        return None if self.data_b64 is None else base64.b64decode(self.data_b64)


class ContentItem(BaseModel):
    """One piece of content posted on the platform, with what the detectors' conditions need."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")]
    event_id: Annotated[str, Field(min_length=1, max_length=255)]
    kind: ContentKind
    account_id: Annotated[str, Field(min_length=1, max_length=200)]
    chat_id: Annotated[str, Field(min_length=1, max_length=200)]
    chat_type: ChatType
    audience: Annotated[int, Field(ge=0)] = 0
    at: datetime
    account_created_at: datetime | None = None
    locator: Annotated[str, Field(min_length=1, max_length=500)]
    text: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    media: Media | None = None

    @field_validator("at", "account_created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("timestamps must carry a time zone (UTC)")
        return value

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if self.kind is ContentKind.TEXT and not self.text:
            raise ValueError("a text event needs its text")
        if self.kind is not ContentKind.TEXT and self.media is None:
            raise ValueError(f"a {self.kind.value} event needs its media")
        return self

    @property
    def key(self) -> str:
        """The idempotency key: an event delivered twice has the same key and takes effect once."""
        return f"{self.platform}:{self.event_id}"

    def account_age_days(self) -> int | None:
        """Whole days between the account's registration and the post."""
        if self.account_created_at is None:
            return None
        return (self.at - self.account_created_at).days

    def to_payload(self) -> dict[str, str]:
        return {PAYLOAD_KEY: self.model_dump_json(exclude_none=True)}

    @classmethod
    def from_payload(cls, payload: Mapping[str, str]) -> "ContentItem":
        try:
            return cls.model_validate_json(payload[PAYLOAD_KEY])
        except KeyError as exc:
            raise EventError(f"a content event payload carries its item under {PAYLOAD_KEY!r}") from exc
        except ValidationError as exc:
            raise EventError(describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """One readable line naming each bad field."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}" for err in exc.errors()
    )


def item_from_json(document: Any) -> ContentItem:
    try:
        return ContentItem.model_validate(document)
    except ValidationError as exc:
        raise EventError(describe(exc)) from exc
