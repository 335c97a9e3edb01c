"""The reference platform's content stream: messages in id order, with what detection needs.

Cursors are message ids (decimal strings). Each event carries the chat's type (a channel is public) and
audience (its member count), the author's registration time and, for media, the kind, MD5 and PDQ hash
computed at upload and, for images up to 1 MiB, the bytes. A message that names only a media hash (no
upload stored) is a ``file`` with no other detail: the platform does not know more.

`fetch_event` reads one message the same way, with the bytes of any media up to `FETCH_MEDIA_LIMIT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, case, func, select

from trustdesk.platform.protocol import FETCH_MEDIA_LIMIT, INLINE_MEDIA_LIMIT, ContentEvent
from trustdesk.platform.reference.export import effective_state, message_locator
from trustdesk.platform.reference.media import media_kind
from trustdesk.platform.reference.store import chats, media, members, messages, users

CHAT_TYPES = {"private": "private", "group": "group", "channel": "public"}
"""The `ContentEvent.chat_type` of each chat kind: a channel is public, anyone may find and read it."""


def _query(inline: ColumnElement[Any]) -> Select[Any]:
    """Messages with their chat, author and media details; ``inline`` selects the bytes to carry."""
    return (
        select(
            messages,
            chats.c.state.label("chat_state"),
            chats.c.kind.label("chat_kind"),
            users.c.registered_at,
            media.c.mime,
            media.c.md5,
            media.c.pdq,
            media.c.pdq_quality,
            inline.label("inline"),
        )
        .join(chats, chats.c.id == messages.c.chat_id)
        .join(users, users.c.id == messages.c.sender_id)
        .outerjoin(media, media.c.id == messages.c.media_id)
    )


def _audience(conn: Connection, chat_ids: set[int]) -> dict[int, int]:
    if not chat_ids:
        return {}
    return {
        int(chat): int(count)
        for chat, count in conn.execute(
            select(members.c.chat_id, func.count())
            .where(members.c.chat_id.in_(chat_ids))
            .group_by(members.c.chat_id)
        )
    }


def _event(row: Row[Any], audience: dict[int, int]) -> ContentEvent:
    is_media = bool(row.media_sha256)
    kind = None if not is_media else "file" if row.mime is None else media_kind(row.mime)
    pdq = () if row.pdq is None else ((row.pdq, int(row.pdq_quality)),)
    return ContentEvent(
        cursor=str(row.id),
        event_id=str(row.id),
        kind="media" if is_media else "message",
        account_id=str(row.sender_id),
        chat_id=str(row.chat_id),
        at=row.sent_at,
        text=row.text,
        media_sha256=row.media_sha256,
        locator=message_locator(row.chat_id, row.id),
        state=effective_state(row.state, row.chat_state),
        chat_type=CHAT_TYPES[row.chat_kind],
        audience=audience.get(row.chat_id, 0),
        account_created_at=row.registered_at,
        media_kind=kind,
        media_md5=row.md5,
        media_pdq=pdq,
        media_data=None if row.inline is None else bytes(row.inline),
    )


def read_events(conn: Connection, position: int, limit: int) -> Sequence[ContentEvent]:
    """Up to ``limit`` events of messages with an id above ``position``."""
    inline = case(
        ((media.c.mime.like("image/%")) & (media.c.size <= INLINE_MEDIA_LIMIT), media.c.bytes),
        else_=None,
    )
    query = _query(inline).where(messages.c.id > position).order_by(messages.c.id).limit(limit)
    rows = conn.execute(query).all()
    audience = _audience(conn, {row.chat_id for row in rows})
    return [_event(row, audience) for row in rows]


def fetch_event(conn: Connection, chat_id: int, message_id: int) -> ContentEvent | None:
    """The event of one message as it is now (removed ones too: removal is a flag, nothing is deleted),
    with the bytes of its media up to `FETCH_MEDIA_LIMIT`; None when there is no such message."""
    inline = case((media.c.size <= FETCH_MEDIA_LIMIT, media.c.bytes), else_=None)
    query = _query(inline).where(messages.c.id == message_id, messages.c.chat_id == chat_id)
    row = conn.execute(query).first()
    return None if row is None else _event(row, _audience(conn, {row.chat_id}))
