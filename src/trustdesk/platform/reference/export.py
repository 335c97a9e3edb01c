"""Locators, visibility (states and removal scopes) and the export of one account, for the reference
platform.

Platform ids, chat ids and message ids are decimal strings; content locators are
``ref://chat/<chat_id>/message/<message_id>`` for a message and ``ref://chat/<chat_id>`` for a chat.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, select

from trustdesk.platform.protocol import (
    AccountNotFound,
    ContentState,
    Export,
    ExportRecord,
    FieldValue,
    Period,
    RemovalAction,
    record_order,
)
from trustdesk.platform.reference.store import chats, members, messages, sessions, users
from trustdesk.vocabulary import DataCategory

LOCATOR_PREFIX = "ref://chat/"
_LOCATOR = re.compile(r"ref://chat/(?P<chat>[1-9][0-9]{0,17})(?:/message/(?P<msg>[1-9][0-9]{0,17}))?")
_DECIMAL_ID = re.compile(r"[1-9][0-9]{0,17}")


def message_locator(chat_id: str | int, message_id: str | int) -> str:
    return f"{LOCATOR_PREFIX}{chat_id}/message/{message_id}"


def chat_locator(chat_id: str | int) -> str:
    return f"{LOCATOR_PREFIX}{chat_id}"


def parse_locator(locator: str) -> tuple[int, int | None] | None:
    """``(chat_id, message_id or None)`` of a reference locator, None when it is not one."""
    match = _LOCATOR.fullmatch(locator.strip())
    if match is None:
        return None
    message = match.group("msg")
    return int(match.group("chat")), int(message) if message is not None else None


def parse_id(value: str) -> int | None:
    value = value.strip()
    return int(value) if _DECIMAL_ID.fullmatch(value) else None


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def effective_state(own: str, chat: str) -> ContentState:
    """A message's visibility from its own state and its chat's."""
    states = {ContentState(own), ContentState(chat)}
    if ContentState.REMOVED in states:
        return ContentState.REMOVED
    if ContentState.RESTRICTED in states:
        return ContentState.RESTRICTED
    return ContentState.VISIBLE


def join_scope(scope: frozenset[str] | None) -> str | None:
    return ",".join(sorted(scope)) if scope else None


def split_scope(scope: str | None) -> frozenset[str]:
    return frozenset(scope.split(",")) if scope else frozenset()


def next_removal_state(
    state: ContentState,
    scope: frozenset[str],
    action: RemovalAction,
    countries: frozenset[str] | None,
) -> tuple[ContentState, frozenset[str] | None]:
    """The state and country scope of content after a removal action (see `remove_content`)."""
    if action is RemovalAction.REMOVE:
        return ContentState.REMOVED, None
    if action is RemovalAction.RESTORE:
        return ContentState.VISIBLE, None
    if state is ContentState.REMOVED:  # already gone worldwide, which covers any country
        return ContentState.REMOVED, None
    return ContentState.RESTRICTED, scope | (countries or frozenset())


def build_export(
    conn: Connection, account_id: str, wanted: frozenset[DataCategory], period: Period
) -> Export:
    """The account's records of ``wanted`` in ``period``; an unknown account raises `AccountNotFound`."""
    if not isinstance(period, Period):
        raise TypeError("period must be a Period")
    user_id = parse_id(account_id)
    user = None if user_id is None else conn.execute(select(users).where(users.c.id == user_id)).first()
    if user_id is None or user is None:
        raise AccountNotFound(account_id)
    records: list[ExportRecord] = []
    if DataCategory.SUBSCRIBER in wanted:
        records.append(_subscriber_record(user))
    if DataCategory.IDENTIFICATION in wanted:
        records.extend(_identification_records(conn, user, period))
    if DataCategory.TRAFFIC in wanted:
        records.extend(_traffic_records(conn, user_id, period))
    if DataCategory.CONTENT in wanted:
        records.extend(_content_records(conn, user_id, period))
    records.sort(key=record_order)
    return Export(account_id=str(user_id), period=period, categories=wanted, records=tuple(records))


def _record(
    category: DataCategory, kind: str, moment: datetime | None, /, **fields: FieldValue
) -> ExportRecord:
    return ExportRecord(category=category, kind=kind, fields=fields, at=moment)


def _subscriber_record(user: Row[Any]) -> ExportRecord:
    return _record(
        DataCategory.SUBSCRIBER,
        "account",
        None,
        platform_id=str(user.id),
        username=user.username,
        phone=user.phone,
        email=user.email,
        display_name=user.display_name,
        registered_at=iso(user.registered_at),
        status=user.status,
    )


def _identification_records(conn: Connection, user: Row[Any], period: Period) -> list[ExportRecord]:
    records: list[ExportRecord] = []
    if period.contains(user.registered_at):
        records.append(
            _record(
                DataCategory.IDENTIFICATION,
                "registration",
                user.registered_at,
                ip=user.registration_ip,
                at=iso(user.registered_at),
            )
        )
    rows = conn.execute(
        select(sessions).where(
            sessions.c.user_id == user.id,
            sessions.c.at >= period.start,
            sessions.c.at < period.end,
        )
    )
    records.extend(
        _record(
            DataCategory.IDENTIFICATION,
            "session",
            row.at,
            session_id=str(row.id),
            ip=row.ip,
            port=row.port,
            at=iso(row.at),
        )
        for row in rows
    )
    return records


def _traffic_records(conn: Connection, user_id: int, period: Period) -> list[ExportRecord]:
    records: list[ExportRecord] = []
    counterparts: dict[int, int] = {}
    memberships = conn.execute(
        select(members.c.chat_id, members.c.role, members.c.joined_at, chats.c.kind)
        .join(chats, chats.c.id == members.c.chat_id)
        .where(members.c.user_id == user_id, members.c.joined_at < period.end)
    ).all()
    private = [row.chat_id for row in memberships if row.kind == "private"]
    if private:
        other = members.alias("other")
        counterparts = {
            row.chat_id: row.user_id
            for row in conn.execute(
                select(other.c.chat_id, other.c.user_id).where(
                    other.c.chat_id.in_(private), other.c.user_id != user_id
                )
            )
        }
    records.extend(
        _record(
            DataCategory.TRAFFIC,
            "membership",
            None,
            chat_id=str(row.chat_id),
            chat_kind=row.kind,
            role=row.role,
            counterpart_id=_str_or_none(counterparts.get(row.chat_id)),
            joined_at=iso(row.joined_at),
        )
        for row in memberships
    )
    devices = conn.execute(
        select(sessions.c.id, sessions.c.device, sessions.c.at).where(
            sessions.c.user_id == user_id,
            sessions.c.device.is_not(None),
            sessions.c.at >= period.start,
            sessions.c.at < period.end,
        )
    )
    records.extend(
        _record(
            DataCategory.TRAFFIC,
            "device",
            device.at,
            session_id=str(device.id),
            device=device.device,
            at=iso(device.at),
        )
        for device in devices
    )
    in_period = and_(messages.c.sent_at >= period.start, messages.c.sent_at < period.end)
    communications = conn.execute(
        select(messages.c.id, messages.c.chat_id, messages.c.sender_id, messages.c.sent_at)
        .where(
            in_period,
            (messages.c.sender_id == user_id)
            | (messages.c.chat_id.in_(private) & (messages.c.sender_id != user_id)),
        )
        .order_by(messages.c.id)
    )
    kinds = {row.chat_id: row.kind for row in memberships}
    for row in communications:
        sent = row.sender_id == user_id
        records.append(
            _record(
                DataCategory.TRAFFIC,
                "communication",
                row.sent_at,
                message_id=str(row.id),
                chat_id=str(row.chat_id),
                chat_kind=kinds.get(row.chat_id),
                direction="sent" if sent else "received",
                counterpart_id=_str_or_none(counterparts.get(row.chat_id) if sent else row.sender_id),
                at=iso(row.sent_at),
            )
        )
    return records


def _content_records(conn: Connection, user_id: int, period: Period) -> list[ExportRecord]:
    rows = conn.execute(
        select(messages, chats.c.state.label("chat_state"))
        .join(chats, chats.c.id == messages.c.chat_id)
        .where(
            messages.c.sender_id == user_id,
            messages.c.sent_at >= period.start,
            messages.c.sent_at < period.end,
        )
        .order_by(messages.c.id)
    )
    return [
        _record(
            DataCategory.CONTENT,
            "message",
            row.sent_at,
            message_id=str(row.id),
            chat_id=str(row.chat_id),
            sent_at=iso(row.sent_at),
            text=row.text,
            media_sha256=row.media_sha256,
            locator=message_locator(row.chat_id, row.id),
        )
        for row in rows
        if effective_state(row.state, row.chat_state) is not ContentState.REMOVED
    ]


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)
