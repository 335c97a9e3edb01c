"""Known data in the reference platform: users, login sessions, chats and messages (with uploads), one
at a time and checked as the messenger itself would check them.

`ReferencePlatform.add_user`, ``add_session``, ``create_chat`` and ``post_message`` open the transaction
and call these; `trustdesk.platform.reference.generate` fills the store in bulk instead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Table, func, insert, select

from trustdesk.platform.protocol import AccountNotFound, AccountStatus, normalise_phone, require_aware
from trustdesk.platform.reference import media as _media
from trustdesk.platform.reference.export import message_locator, parse_id
from trustdesk.platform.reference.store import chats, members, messages, sessions, users

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,31}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def next_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def require_user(conn: Connection, account_id: str) -> int:
    """The row id of the account; unknown: `AccountNotFound`."""
    user_id = parse_id(account_id)
    if user_id is None or conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
        raise AccountNotFound(account_id)
    return user_id


def check_user(
    phone: str | None, username: str | None, registration_ip: str
) -> tuple[str | None, str | None]:
    """``(normalised phone, username without @)``; a malformed value raises `ValueError`."""
    normalised_phone = None
    if phone is not None:
        normalised_phone = normalise_phone(phone)
        if normalised_phone is None:
            raise ValueError(f"not an E.164 phone number: {phone!r}")
    if username is not None:
        username = username.removeprefix("@")
        if not _USERNAME.fullmatch(username):
            raise ValueError(f"not a valid username: {username!r}")
    ipaddress.ip_address(registration_ip)
    return normalised_phone, username


def add_user(
    conn: Connection,
    *,
    phone: str | None,
    username: str | None,
    display_name: str | None,
    email: str | None,
    registered_at: datetime,
    registration_ip: str,
) -> str:
    """Register a user (``phone`` and ``username`` as `check_user` returns them); a taken phone or
    username raises `ValueError`."""
    if phone is not None and conn.execute(select(users.c.id).where(users.c.phone == phone)).first():
        raise ValueError(f"phone {phone} is taken")
    key = None if username is None else username.lower()
    if key is not None and conn.execute(select(users.c.id).where(users.c.username_key == key)).first():
        raise ValueError(f"username {username} is taken")
    user_id = next_id(conn, users)
    conn.execute(
        insert(users).values(
            id=user_id,
            username=username,
            username_key=key,
            phone=phone,
            email=email,
            display_name=display_name,
            registered_at=registered_at,
            registration_ip=registration_ip,
            status=AccountStatus.ACTIVE.value,
        )
    )
    return str(user_id)


def check_session(ip: str, port: int, at: datetime) -> datetime:
    ipaddress.ip_address(ip)
    if not 0 <= port <= 65535:
        raise ValueError(f"not a port: {port}")
    return require_aware(at, "at")


def add_session(
    conn: Connection, account_id: str, *, ip: str, port: int, at: datetime, device: str | None
) -> str:
    user_id = require_user(conn, account_id)
    session_id = next_id(conn, sessions)
    conn.execute(
        insert(sessions).values(id=session_id, user_id=user_id, ip=ip, port=port, device=device, at=at)
    )
    return str(session_id)


def check_chat(kind: str, member_ids: Sequence[str]) -> None:
    if kind not in ("private", "group", "channel"):
        raise ValueError(f"unknown chat kind: {kind!r}")
    if len(set(member_ids)) != len(member_ids) or not member_ids:
        raise ValueError("members must be distinct and at least one")
    if kind == "private" and len(member_ids) != 2:
        raise ValueError("a private chat has exactly two members")


def create_chat(
    conn: Connection, kind: str, member_ids: Sequence[str], *, title: str | None, created_at: datetime
) -> str:
    """A chat of ``kind`` (checked with `check_chat`); the first member owns a group or channel."""
    user_ids = [require_user(conn, member) for member in member_ids]
    chat_id = next_id(conn, chats)
    conn.execute(
        insert(chats).values(id=chat_id, kind=kind, title=title, created_at=created_at, state="visible")
    )
    conn.execute(
        insert(members),
        [
            {
                "chat_id": chat_id,
                "user_id": user_id,
                "role": "owner" if index == 0 and kind != "private" else "member",
                "joined_at": created_at,
            }
            for index, user_id in enumerate(user_ids)
        ],
    )
    return str(chat_id)


def check_message(text: str | None, media_sha256: str | None, media: bytes | None) -> None:
    """A message without text or media, or with both bytes and a hash: `ValueError`."""
    if media is not None and media_sha256 is not None:
        raise ValueError("give the media bytes or a media hash, not both")
    if text is None and media_sha256 is None and media is None:
        raise ValueError("a message needs a text or a media hash")
    if media_sha256 is not None and not _SHA256.fullmatch(media_sha256):
        raise ValueError(f"not a lower-case hex SHA-256: {media_sha256!r}")


def post_message(
    conn: Connection,
    chat_id: str,
    sender_id: str,
    *,
    text: str | None,
    media_sha256: str | None,
    media: tuple[bytes, _media.MediaFacts] | None,
    sent_at: datetime,
) -> str:
    """Post a message (checked with `check_message`; ``media`` is the bytes with their facts); returns its
    locator. The sender must be a member (of a channel: owner)."""
    chat = parse_id(chat_id)
    if chat is None:
        raise ValueError(f"not a chat id of this platform: {chat_id!r}")
    user_id = require_user(conn, sender_id)
    membership = conn.execute(
        select(members.c.role, chats.c.kind)
        .join(chats, chats.c.id == members.c.chat_id)
        .where(members.c.chat_id == chat, members.c.user_id == user_id)
    ).first()
    if membership is None:
        raise ValueError(f"user {sender_id} is not a member of chat {chat_id}")
    if membership.kind == "channel" and membership.role == "member":
        raise ValueError("only the owner or an admin posts in a channel")
    media_id = None
    if media is not None:
        data, facts = media
        media_id, _ = _media.store_media(conn, data, facts.mime)
        media_sha256 = facts.sha256
    message_id = next_id(conn, messages)
    conn.execute(
        insert(messages).values(
            id=message_id,
            chat_id=chat,
            sender_id=user_id,
            sent_at=sent_at,
            text=text,
            media_sha256=media_sha256,
            media_id=media_id,
            state="visible",
        )
    )
    return message_locator(chat, message_id)
