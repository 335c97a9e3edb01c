"""The Matrix content stream: locators, message fields and the Trustdesk module's log rows as events.

Content locators are ``matrix://room/<room_id>/message/<event_id>`` for a message and
``matrix://room/<room_id>`` for a room. Cursors are the module log's sequence numbers. A log row carries
what the module saw when the message was sent (chat type and audience from the room's state, the
sender's registration time) and what it recorded at upload (SHA-256, MD5, size, and the PDQ hash and
classifier scores when Trustdesk's match endpoint answered); see `trustdesk.platform.matrix.module`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from trustdesk.platform.protocol import INLINE_MEDIA_LIMIT, ContentEvent, ContentState, require_aware

LOCATOR_PREFIX = "matrix://room/"
_LOCATOR = re.compile(r"matrix://room/(?P<room>![^/\s]+)(?:/message/(?P<event>\$[^/\s]+))?")
MXC = re.compile(r"mxc://(?P<server>[^/]+)/(?P<media>[A-Za-z0-9_\-]+)")
CONTENT_EVENT_DETAILS = frozenset(
    {"chat_type", "audience", "account_created_at", "media_kind", "media_md5", "media_data"}
)
"""What the connector fills from the module's log. Not ``media_pdq``: the PDQ hash is in the log only when
the module is configured with ``trustdesk_url`` (Trustdesk computes it at upload)."""


def message_locator(room_id: str, event_id: str) -> str:
    return f"{LOCATOR_PREFIX}{room_id}/message/{event_id}"


def room_locator(room_id: str) -> str:
    return f"{LOCATOR_PREFIX}{room_id}"


def parse_locator(locator: str) -> tuple[str, str | None] | None:
    """``(room_id, event_id or None)`` of a Matrix locator, None when it is not one."""
    match = _LOCATOR.fullmatch(locator.strip())
    if match is None:
        return None
    return match.group("room"), match.group("event")


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def to_ms(value: datetime) -> int:
    return round(require_aware(value, "timestamp").timestamp() * 1000)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def message_fields(content: Any) -> tuple[str, str | None, str | None]:
    """``(kind, text, mxc url)`` of a message content; media carries text only as a caption."""
    if not isinstance(content, Mapping):
        return "message", None, None
    body = content.get("body")
    text = body if isinstance(body, str) else None
    url = content.get("url")
    if not isinstance(url, str) or not MXC.fullmatch(url):
        return "message", text, None
    filename = content.get("filename")
    caption = text if isinstance(filename, str) and text is not None and text != filename else None
    return "media", caption, url


def inline_media(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(server, media id)`` of a logged image small enough to travel in the event, else None."""
    size = row.get("media_size")
    if row.get("media_kind") != "image" or not row.get("media_id") or not row.get("media_server"):
        return None
    if not isinstance(size, int) or size > INLINE_MEDIA_LIMIT:
        return None
    return str(row["media_server"]), str(row["media_id"])


def event_from_row(row: Mapping[str, Any], *, removed: bool, media_data: bytes | None) -> ContentEvent:
    """The `ContentEvent` of one row of the module's log (older rows lack the detail columns)."""
    room_id, event_id = str(row["room_id"]), str(row["event_id"])
    created = row.get("account_created_ts")
    pdq = row.get("media_pdq")
    is_media = row.get("kind") == "media"
    return ContentEvent(
        cursor=str(row["seq"]),
        event_id=event_id,
        kind=str(row["kind"]),
        account_id=str(row["sender"]),
        chat_id=room_id,
        at=from_ms(int(row["ts"])),
        text=row.get("text"),
        media_sha256=row.get("media_sha256"),
        locator=message_locator(room_id, event_id),
        state=ContentState.REMOVED if removed else ContentState.VISIBLE,
        chat_type=row.get("chat_type"),
        audience=row.get("audience"),
        account_created_at=None if not created else from_ms(int(created)),
        media_kind=(row.get("media_kind") or "file") if is_media else None,
        media_md5=row.get("media_md5") if is_media else None,
        media_pdq=((str(pdq), int(row.get("media_pdq_quality") or 0)),) if is_media and pdq else (),
        media_data=media_data if is_media else None,
    )
