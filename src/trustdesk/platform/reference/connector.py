"""The reference platform: a small demo messenger that implements `PlatformConnector` over SQL.

Users with phones, usernames and registration IPs; login sessions; private chats, groups and channels;
messages with optional media (uploads stored with their hashes, `reference.media`, or a bare hash); the
content stream with chat type, audience and media details (`reference.stream`); account statuses,
notices, removal flags and preservation holds.
Besides the protocol it has helpers to build known data (`add_user`, `add_session`, `create_chat`,
`post_message`), to read notices back, to fill itself deterministically (`generate`) and to run its
retention job (`run_retention`).

Platform ids, chat ids and message ids are decimal strings; content locators are
``ref://chat/<chat_id>/message/<message_id>`` for a message and ``ref://chat/<chat_id>`` for a chat.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, Row, Table, delete, func, insert, inspect, select, update
from sqlalchemy import text as sql_text

from trustdesk.clock import Clock
from trustdesk.db import make_engine
from trustdesk.platform.protocol import (
    CONTENT_EVENT_DETAILS,
    Account,
    AccountAction,
    AccountNotFound,
    AccountStatus,
    ContentEvent,
    ContentNotFound,
    ContentState,
    Export,
    Hold,
    HoldConflict,
    HoldExpired,
    HoldNotFound,
    Period,
    RemovalAction,
    RemovalResult,
    RestoreMethod,
    canonical_export,
    normalise_categories,
    normalise_country_codes,
    normalise_phone,
    parse_cursor,
    require_aware,
    sha256_hex,
)
from trustdesk.platform.reference import generate as _generate
from trustdesk.platform.reference import media as _media
from trustdesk.platform.reference import retention as _retention
from trustdesk.platform.reference import stream as _stream
from trustdesk.platform.reference.export import (
    LOCATOR_PREFIX,
    build_export,
    chat_locator,
    join_scope,
    message_locator,
    next_removal_state,
    parse_id,
    parse_locator,
    split_scope,
)
from trustdesk.platform.reference.store import (
    ALL_TABLES,
    account_actions,
    chats,
    hold_categories,
    holds,
    members,
    messages,
    metadata,
    notices,
    removals,
    sessions,
    users,
)
from trustdesk.vocabulary import DataCategory, TargetType

__all__ = [
    "LOCATOR_PREFIX",
    "Notice",
    "ReferencePlatform",
    "chat_locator",
    "message_locator",
    "parse_locator",
]

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,31}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_HOLD_ID = 128


@dataclass(frozen=True)
class Notice:
    """A notice the platform delivered to a user (readable back for tests and the demo)."""

    notice_id: str
    account_id: str
    text: str
    sent_at: datetime


class ReferencePlatform:
    """The built-in demo messenger, on any SQLAlchemy URL (default: a private in-memory SQLite)."""

    name: str = "reference"
    content_event_details: frozenset[str] = CONTENT_EVENT_DETAILS
    """Every detail of `ContentEvent` is filled (media details for stored uploads)."""

    def __init__(self, url: str = "sqlite://", *, clock: Clock) -> None:
        self._engine = make_engine(url)
        self._clock = clock

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def engine(self) -> Engine:
        return self._engine

    def create_schema(self) -> None:
        """Create the tables; a store made before uploads existed gains ``messages.media_id``."""
        metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            if "media_id" not in {column["name"] for column in inspect(conn).get_columns("messages")}:
                conn.execute(
                    sql_text("ALTER TABLE messages ADD COLUMN media_id INTEGER REFERENCES media (id)")
                )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def now(self) -> datetime:
        return require_aware(self._clock(), "clock()")

    # ------------------------------------------------------------------------------ protocol

    def lookup_account(self, target_type: TargetType, value: str) -> Account | None:
        target_type = TargetType(target_type)
        with self._engine.connect() as conn:
            if target_type is TargetType.PHONE:
                phone = normalise_phone(value)
                if phone is None:
                    return None
                row = conn.execute(select(users).where(users.c.phone == phone)).first()
            elif target_type is TargetType.USERNAME:
                key = value.strip().removeprefix("@").lower()
                if not key:
                    return None
                row = conn.execute(select(users).where(users.c.username_key == key)).first()
            elif target_type is TargetType.USER_ID:
                user_id = parse_id(value)
                if user_id is None:
                    return None
                row = conn.execute(select(users).where(users.c.id == user_id)).first()
            else:
                author_id = self._author_of(conn, value)
                if author_id is None:
                    return None
                row = conn.execute(select(users).where(users.c.id == author_id)).first()
            return None if row is None else _account(row)

    def export(self, account_id: str, categories: Iterable[DataCategory], period: Period) -> Export:
        wanted = normalise_categories(categories)
        with self._engine.connect() as conn:
            return self._export(conn, account_id, wanted, period)

    def place_hold(
        self,
        hold_id: str,
        account_id: str,
        categories: Iterable[DataCategory],
        period: Period,
        expires_at: datetime,
    ) -> Hold:
        if not hold_id or len(hold_id) > _MAX_HOLD_ID:
            raise ValueError(f"hold_id must be a non-empty string of at most {_MAX_HOLD_ID} characters")
        wanted = normalise_categories(categories)
        expires_at = require_aware(expires_at, "expires_at")
        now = self.now()
        with self._engine.begin() as conn:
            existing = self._load_hold(conn, hold_id)
            if existing is not None:
                if (existing.account_id, existing.categories, existing.period) != (
                    account_id.strip(),
                    wanted,
                    period,
                ):
                    raise HoldConflict(f"hold {hold_id!r} exists for another account, category set or period")
                return existing
            if expires_at <= now:
                raise ValueError(f"expires_at {expires_at} is not after now ({now})")
            export = self._export(conn, account_id, wanted, period)
            snapshot = canonical_export(export)
            conn.execute(
                insert(holds).values(
                    hold_id=hold_id,
                    account_id=int(export.account_id),
                    period_start=period.start,
                    period_end=period.end,
                    placed_at=now,
                    expires_at=expires_at,
                    snapshot=snapshot,
                    snapshot_sha256=sha256_hex(snapshot),
                )
            )
            conn.execute(
                insert(hold_categories),
                [{"hold_id": hold_id, "category": category.value} for category in sorted(wanted)],
            )
            hold = self._load_hold(conn, hold_id)
        if hold is None:  # pragma: no cover - just inserted in the same transaction
            raise HoldNotFound(hold_id)
        return hold

    def extend_hold(self, hold_id: str, expires_at: datetime) -> Hold:
        expires_at = require_aware(expires_at, "expires_at")
        now = self.now()
        with self._engine.begin() as conn:
            hold = self._load_hold(conn, hold_id)
            if hold is None:
                raise HoldNotFound(hold_id)
            if hold.expires_at <= now:
                raise HoldExpired(f"hold {hold_id!r} lapsed at {hold.expires_at}")
            if expires_at <= hold.expires_at:
                raise ValueError(
                    f"an extension must move the expiry later than {hold.expires_at}, got {expires_at}"
                )
            conn.execute(update(holds).where(holds.c.hold_id == hold_id).values(expires_at=expires_at))
            extended = self._load_hold(conn, hold_id)
        if extended is None:  # pragma: no cover - updated in the same transaction
            raise HoldNotFound(hold_id)
        return extended

    def release_hold(self, hold_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(hold_categories).where(hold_categories.c.hold_id == hold_id))
            deleted = conn.execute(delete(holds).where(holds.c.hold_id == hold_id)).rowcount
            if deleted == 0:
                raise HoldNotFound(hold_id)

    def remove_content(
        self, locator: str, action: RemovalAction, scope: Iterable[str] | None = None
    ) -> RemovalResult:
        action = RemovalAction(action)
        if action is RemovalAction.GEO_RESTRICT:
            if scope is None:
                raise ValueError("a geo restriction needs a scope of country codes")
            countries: frozenset[str] | None = normalise_country_codes(scope)
        elif scope is not None:
            raise ValueError(f"{action.value} applies worldwide; scope must be None")
        else:
            countries = None
        parsed = parse_locator(locator)
        if parsed is None:
            raise ContentNotFound(locator)
        chat_id, message_id = parsed
        canonical = chat_locator(chat_id) if message_id is None else message_locator(chat_id, message_id)
        table: Table = chats if message_id is None else messages
        key = chat_id if message_id is None else message_id
        now = self.now()
        with self._engine.begin() as conn:
            query = select(table.c.state, table.c.scope).where(table.c.id == key)
            if message_id is not None:
                query = query.where(messages.c.chat_id == chat_id)
            row = conn.execute(query).first()
            if row is None:
                raise ContentNotFound(locator)
            state, result_scope = next_removal_state(
                ContentState(row.state), split_scope(row.scope), action, countries
            )
            conn.execute(
                update(table)
                .where(table.c.id == key)
                .values(state=state.value, scope=join_scope(result_scope))
            )
            conn.execute(
                insert(removals).values(
                    id=self._next_id(conn, removals),
                    locator=canonical,
                    action=action.value,
                    scope=join_scope(countries),
                    at=now,
                )
            )
        restoring = action is RemovalAction.RESTORE
        return RemovalResult(
            locator=canonical,
            action=action,
            scope=result_scope,
            effective_at=now,
            restored_by=RestoreMethod.UNDONE if restoring else None,
            visible_at=canonical if restoring else None,
        )

    def act_on_account(self, account_id: str, action: AccountAction, reason: str) -> Account:
        action = AccountAction(action)
        if not reason.strip():
            raise ValueError("an account action needs a reason")
        now = self.now()
        with self._engine.begin() as conn:
            user_id = self._require_user(conn, account_id)
            conn.execute(
                update(users).where(users.c.id == user_id).values(status=AccountStatus.after(action).value)
            )
            conn.execute(
                insert(account_actions).values(
                    id=self._next_id(conn, account_actions),
                    user_id=user_id,
                    action=action.value,
                    reason=reason,
                    at=now,
                )
            )
            row = conn.execute(select(users).where(users.c.id == user_id)).one()
        return _account(row)

    def send_notice(self, account_id: str, text: str) -> str:
        if not text.strip():
            raise ValueError("a notice needs a text")
        now = self.now()
        with self._engine.begin() as conn:
            user_id = self._require_user(conn, account_id)
            notice_id = self._next_id(conn, notices)
            conn.execute(insert(notices).values(id=notice_id, user_id=user_id, text=text, sent_at=now))
        return str(notice_id)

    def content_events(self, after: str | None = None, limit: int = 100) -> Sequence[ContentEvent]:
        position = parse_cursor(after, limit)
        with self._engine.connect() as conn:
            return _stream.read_events(conn, position, limit)

    # ------------------------------------------------------------------------------ demo and tests

    def add_user(
        self,
        *,
        phone: str | None = None,
        username: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        registered_at: datetime | None = None,
        registration_ip: str = "192.0.2.1",
    ) -> str:
        """Register a user; returns the platform id. A taken phone or username raises `ValueError`."""
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
        at = self.now() if registered_at is None else require_aware(registered_at, "registered_at")
        with self._engine.begin() as conn:
            if (
                normalised_phone is not None
                and conn.execute(select(users.c.id).where(users.c.phone == normalised_phone)).first()
            ):
                raise ValueError(f"phone {normalised_phone} is taken")
            key = None if username is None else username.lower()
            if (
                key is not None
                and conn.execute(select(users.c.id).where(users.c.username_key == key)).first()
            ):
                raise ValueError(f"username {username} is taken")
            user_id = self._next_id(conn, users)
            conn.execute(
                insert(users).values(
                    id=user_id,
                    username=username,
                    username_key=key,
                    phone=normalised_phone,
                    email=email,
                    display_name=display_name,
                    registered_at=at,
                    registration_ip=registration_ip,
                    status=AccountStatus.ACTIVE.value,
                )
            )
        return str(user_id)

    def add_session(
        self, account_id: str, *, ip: str, port: int, at: datetime, device: str | None = None
    ) -> str:
        """Record a login session; returns its id."""
        ipaddress.ip_address(ip)
        if not 0 <= port <= 65535:
            raise ValueError(f"not a port: {port}")
        at = require_aware(at, "at")
        with self._engine.begin() as conn:
            user_id = self._require_user(conn, account_id)
            session_id = self._next_id(conn, sessions)
            conn.execute(
                insert(sessions).values(
                    id=session_id, user_id=user_id, ip=ip, port=port, device=device, at=at
                )
            )
        return str(session_id)

    def create_chat(
        self,
        kind: str,
        member_ids: Sequence[str],
        *,
        title: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """Create a private chat (exactly two members), group or channel (first member owns it)."""
        if kind not in ("private", "group", "channel"):
            raise ValueError(f"unknown chat kind: {kind!r}")
        if len(set(member_ids)) != len(member_ids) or not member_ids:
            raise ValueError("members must be distinct and at least one")
        if kind == "private" and len(member_ids) != 2:
            raise ValueError("a private chat has exactly two members")
        at = self.now() if created_at is None else require_aware(created_at, "created_at")
        with self._engine.begin() as conn:
            user_ids = [self._require_user(conn, member) for member in member_ids]
            chat_id = self._next_id(conn, chats)
            conn.execute(
                insert(chats).values(id=chat_id, kind=kind, title=title, created_at=at, state="visible")
            )
            conn.execute(
                insert(members),
                [
                    {
                        "chat_id": chat_id,
                        "user_id": user_id,
                        "role": "owner" if index == 0 and kind != "private" else "member",
                        "joined_at": at,
                    }
                    for index, user_id in enumerate(user_ids)
                ],
            )
        return str(chat_id)

    def post_message(
        self,
        chat_id: str,
        sender_id: str,
        *,
        text: str | None = None,
        media_sha256: str | None = None,
        media: bytes | None = None,
        media_type: str | None = None,
        sent_at: datetime | None = None,
    ) -> str:
        """Post a message; returns its locator. The sender must be a member (of a channel: owner).

        ``media`` uploads bytes (stored once per SHA-256 with MD5, MIME type — ``media_type`` or sniffed
        — and, for an image, its PDQ hash); ``media_sha256`` names media by hash alone (nothing stored).
        """
        if media is not None and media_sha256 is not None:
            raise ValueError("give the media bytes or a media hash, not both")
        if text is None and media_sha256 is None and media is None:
            raise ValueError("a message needs a text or a media hash")
        if media_sha256 is not None and not _SHA256.fullmatch(media_sha256):
            raise ValueError(f"not a lower-case hex SHA-256: {media_sha256!r}")
        facts = None if media is None else _media.describe(media, media_type)
        at = self.now() if sent_at is None else require_aware(sent_at, "sent_at")
        chat = parse_id(chat_id)
        if chat is None:
            raise ValueError(f"not a chat id of this platform: {chat_id!r}")
        with self._engine.begin() as conn:
            user_id = self._require_user(conn, sender_id)
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
            if media is not None and facts is not None:
                media_id, _ = _media.store_media(conn, media, facts.mime)
                media_sha256 = facts.sha256
            message_id = self._next_id(conn, messages)
            conn.execute(
                insert(messages).values(
                    id=message_id,
                    chat_id=chat,
                    sender_id=user_id,
                    sent_at=at,
                    text=text,
                    media_sha256=media_sha256,
                    media_id=media_id,
                    state="visible",
                )
            )
        return message_locator(chat, message_id)

    def notices(self, account_id: str) -> list[Notice]:
        """Notices delivered to the account, oldest first."""
        user_id = parse_id(account_id)
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(notices).where(notices.c.user_id == user_id).order_by(notices.c.id)
            ).all()
        return [Notice(str(row.id), str(row.user_id), row.text, row.sent_at) for row in rows]

    def generate(self, users: int, seed: int, start: datetime, end: datetime) -> _generate.GenerationSummary:
        """Fill the store with ``users`` synthetic users and their data, deterministically per seed."""
        with self._engine.begin() as conn:
            return _generate.generate(conn, users=users, seed=seed, start=start, end=end)

    def run_retention(self, now: datetime, max_age: timedelta) -> _retention.RetentionReport:
        """Delete sessions and messages older than ``max_age`` unless an unexpired hold keeps them."""
        with self._engine.begin() as conn:
            return _retention.run_retention(conn, now, max_age)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        with self._engine.connect() as conn:
            return {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in ALL_TABLES
            }

    def digest(self) -> str:
        """SHA-256 over every row of every table in key order: equal digests, equal data."""
        digest = hashlib.sha256()
        with self._engine.connect() as conn:
            for table in ALL_TABLES:
                digest.update(table.name.encode())
                order = list(table.primary_key.columns)
                for row in conn.execute(select(table).order_by(*order)):
                    digest.update(json.dumps(list(row), default=_digest_default, sort_keys=True).encode())
        return digest.hexdigest()

    # ------------------------------------------------------------------------------ internals

    @staticmethod
    def _next_id(conn: Connection, table: Table) -> int:
        return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1

    @staticmethod
    def _require_user(conn: Connection, account_id: str) -> int:
        user_id = parse_id(account_id)
        if user_id is None or conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
            raise AccountNotFound(account_id)
        return user_id

    @staticmethod
    def _author_of(conn: Connection, locator: str) -> int | None:
        parsed = parse_locator(locator)
        if parsed is None:
            return None
        chat_id, message_id = parsed
        if message_id is not None:
            return conn.execute(
                select(messages.c.sender_id).where(messages.c.id == message_id, messages.c.chat_id == chat_id)
            ).scalar_one_or_none()
        return conn.execute(
            select(members.c.user_id).where(members.c.chat_id == chat_id, members.c.role == "owner")
        ).scalar_one_or_none()

    @staticmethod
    def _load_hold(conn: Connection, hold_id: str) -> Hold | None:
        row = conn.execute(select(holds).where(holds.c.hold_id == hold_id)).first()
        if row is None:
            return None
        categories = conn.execute(
            select(hold_categories.c.category).where(hold_categories.c.hold_id == hold_id)
        ).scalars()
        return Hold(
            hold_id=row.hold_id,
            account_id=str(row.account_id),
            categories=frozenset(DataCategory(category) for category in categories),
            period=Period(row.period_start, row.period_end),
            placed_at=row.placed_at,
            expires_at=row.expires_at,
            snapshot=bytes(row.snapshot),
            snapshot_sha256=row.snapshot_sha256,
        )

    def _export(
        self, conn: Connection, account_id: str, wanted: frozenset[DataCategory], period: Period
    ) -> Export:
        return build_export(conn, account_id, wanted, period)


# ---------------------------------------------------------------------------------- helpers


def _account(row: Row[Any]) -> Account:
    return Account(
        platform_id=str(row.id),
        username=row.username,
        phone=row.phone,
        display_name=row.display_name,
        created_at=row.registered_at,
        status=AccountStatus(row.status),
    )


def _digest_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"unexpected value in the store: {type(value).__name__}")
