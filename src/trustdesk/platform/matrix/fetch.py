"""One Matrix message as it is now (`PlatformConnector.fetch_content`), removed ones included.

The message's row in the Trustdesk module's log is the first source: one indexed lookup that gives what
the stream gives (text, media hashes, PDQ, chat type, audience, the author's registration), and the
module keeps a redacted message's text. Without the module, or for a message it never logged, the event
is read through the admin API; a redacted event has lost its content there, so its text and media come
from what the connector preserved before redacting it (`trustdesk.platform.matrix.restore`), and the
media hashes from the module's upload record where there is one.

Media bytes are downloaded from the media repository as the admin, bypassing the quarantine that a
removal puts on them, up to `FETCH_MEDIA_LIMIT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trustdesk.platform.matrix.api import SynapseApi, redacted
from trustdesk.platform.matrix.eventlog import media_kind
from trustdesk.platform.matrix.restore import Preservation
from trustdesk.platform.matrix.stream import MXC, event_from_row, from_ms, message_fields, message_locator
from trustdesk.platform.protocol import (
    FETCH_MEDIA_LIMIT,
    ContentEvent,
    ContentNotFound,
    ContentState,
    PlatformError,
)


def fetch_message(api: SynapseApi, kept: Preservation, room_id: str, event_id: str) -> ContentEvent:
    """The message ``event_id`` of ``room_id``; not there (or not a message): `ContentNotFound`."""
    row = api.logged_event(event_id)
    if row is not None and str(row.get("room_id")) == room_id:
        removed = bool(row.get("redacted")) or api.room_blocked(room_id)
        data = None
        if row.get("kind") == "media" and row.get("media_server") and row.get("media_id"):
            data = _media_bytes(api, str(row["media_server"]), str(row["media_id"]), row.get("media_size"))
        return event_from_row(row, removed=removed, media_data=data)
    return _from_event(api, kept, room_id, event_id)


def _from_event(api: SynapseApi, kept: Preservation, room_id: str, event_id: str) -> ContentEvent:
    locator = message_locator(room_id, event_id)
    event = api.event(room_id, event_id)
    if event is None or event.get("type") != "m.room.message":
        raise ContentNotFound(locator)
    content: Mapping[str, Any] = event.get("content") or {}
    if redacted(event):
        preserved = kept.get(locator)
        content = {} if preserved is None else preserved.content
    removed = redacted(event) or api.room_blocked(room_id)
    kind, text, mxc = message_fields(content)
    match = None if mxc is None else MXC.fullmatch(mxc)
    record = None if mxc is None else api.media_record(mxc)
    pdq = None if record is None else record.get("pdq")
    data = None
    if match is not None:
        size = None if record is None else record.get("size")
        data = _media_bytes(api, match.group("server"), match.group("media"), size)
    return ContentEvent(
        cursor="",
        event_id=event_id,
        kind=kind,
        account_id=str(event["sender"]),
        chat_id=room_id,
        at=from_ms(int(event.get("origin_server_ts") or 0)),
        text=text,
        media_sha256=None if record is None else str(record["sha256"]),
        locator=locator,
        state=ContentState.REMOVED if removed else ContentState.VISIBLE,
        media_kind=media_kind(content) if kind == "media" else None,
        media_md5=None if record is None or not record.get("md5") else str(record["md5"]),
        media_pdq=((str(pdq), int(record.get("pdq_quality") or 0)),) if record is not None and pdq else (),
        media_data=data,
    )


def _media_bytes(api: SynapseApi, server: str, media_id: str, size: object) -> bytes | None:
    """The media's bytes when there are at most `FETCH_MEDIA_LIMIT` of them, else (or gone) None."""
    if isinstance(size, int) and size > FETCH_MEDIA_LIMIT:
        return None
    try:
        data = api.download(server, media_id, bypass_quarantine=True)
    except PlatformError:  # purged from the media repository
        return None
    return data if len(data) <= FETCH_MEDIA_LIMIT else None
