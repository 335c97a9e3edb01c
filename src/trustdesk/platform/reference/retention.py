"""The reference platform's retention job: old sessions and messages go, unless a hold keeps them.

A session is kept while an unexpired hold on its account covers its time and asks for identification or
traffic data (the session's IP, port and device). A message is kept while an unexpired hold covering its
time asks for its author's traffic or content data, or for the traffic data of a member of the private
chat it was sent in (the recipient's "who talked to whom"). This mirrors what `export` reads, so nothing
a hold promised to preserve can be deleted under it. An upload is deleted with the last message that
carried it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, func, or_, select

from trustdesk.platform.protocol import require_aware
from trustdesk.platform.reference.store import (
    chats,
    hold_categories,
    holds,
    media,
    members,
    messages,
    sessions,
)
from trustdesk.vocabulary import DataCategory

_SESSION_CATEGORIES = (DataCategory.IDENTIFICATION.value, DataCategory.TRAFFIC.value)
_AUTHOR_CATEGORIES = (DataCategory.TRAFFIC.value, DataCategory.CONTENT.value)


@dataclass(frozen=True)
class RetentionReport:
    """What one run did: rows deleted, and rows past the cutoff kept because of a hold."""

    cutoff: datetime
    sessions_deleted: int
    messages_deleted: int
    sessions_held: int
    messages_held: int


def run_retention(connection: Connection, now: datetime, max_age: timedelta) -> RetentionReport:
    """Delete sessions and messages older than ``now - max_age`` that no unexpired hold covers.

    Runs inside the caller's transaction on ``connection``.
    """
    now = require_aware(now, "now")
    if max_age <= timedelta(0):
        raise ValueError(f"max_age must be positive, got {max_age}")
    cutoff = now - max_age

    def active_hold_covering(at_column: ColumnElement[datetime]) -> list[ColumnElement[bool]]:
        return [
            holds.c.hold_id == hold_categories.c.hold_id,
            holds.c.expires_at > now,
            holds.c.period_start <= at_column,
            holds.c.period_end > at_column,
        ]

    session_held = exists().where(
        *active_hold_covering(sessions.c.at),
        holds.c.account_id == sessions.c.user_id,
        hold_categories.c.category.in_(_SESSION_CATEGORIES),
    )
    private_chat_member = (
        select(members.c.user_id)
        .join(chats, chats.c.id == members.c.chat_id)
        .where(members.c.chat_id == messages.c.chat_id, chats.c.kind == "private")
        .correlate(messages)
    )
    message_held = exists().where(
        *active_hold_covering(messages.c.sent_at),
        or_(
            and_(
                holds.c.account_id == messages.c.sender_id,
                hold_categories.c.category.in_(_AUTHOR_CATEGORIES),
            ),
            and_(
                hold_categories.c.category == DataCategory.TRAFFIC.value,
                holds.c.account_id.in_(private_chat_member),
            ),
        ),
    )

    old_sessions = connection.execute(
        select(func.count()).select_from(sessions).where(sessions.c.at < cutoff)
    ).scalar_one()
    old_messages = connection.execute(
        select(func.count()).select_from(messages).where(messages.c.sent_at < cutoff)
    ).scalar_one()
    sessions_deleted = connection.execute(
        delete(sessions).where(sessions.c.at < cutoff, ~session_held)
    ).rowcount
    messages_deleted = connection.execute(
        delete(messages).where(messages.c.sent_at < cutoff, ~message_held)
    ).rowcount
    # uploads go with the last message that posted them (a kept message keeps its media)
    connection.execute(
        delete(media).where(~exists().where(messages.c.media_id == media.c.id).correlate(media))
    )
    return RetentionReport(
        cutoff=cutoff,
        sessions_deleted=sessions_deleted,
        messages_deleted=messages_deleted,
        sessions_held=old_sessions - sessions_deleted,
        messages_held=old_messages - messages_deleted,
    )
