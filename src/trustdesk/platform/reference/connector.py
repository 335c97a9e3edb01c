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
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, Row, Table, func, insert, inspect, select, update
from sqlalchemy import text as sql_text

from trustdesk.clock import Clock
from trustdesk.db import make_engine
from trustdesk.platform.protocol import (
    CONTENT_EVENT_DETAILS,
    Account,
    AccountAction,
    AccountStatus,
    ContentEvent,
    ContentNotFound,
    ContentState,
    Export,
    Hold,
    Period,
    RemovalAction,
    RemovalResult,
    RestoreMethod,
    normalise_categories,
    normalise_country_codes,
    normalise_phone,
    parse_cursor,
    require_aware,
)
from trustdesk.platform.reference import build as _build
from trustdesk.platform.reference import generate as _generate
from trustdesk.platform.reference import holds as _holds
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
    members,
    messages,
    metadata,
    notices,
    removals,
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
            return _holds.place_hold(conn, hold_id, account_id, wanted, period, expires_at, now)

    def extend_hold(self, hold_id: str, expires_at: datetime) -> Hold:
        expires_at = require_aware(expires_at, "expires_at")
        now = self.now()
        with self._engine.begin() as conn:
            return _holds.extend_hold(conn, hold_id, expires_at, now)

    def release_hold(self, hold_id: str) -> None:
        with self._engine.begin() as conn:
            _holds.release_hold(conn, hold_id)

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
                    id=_build.next_id(conn, removals),
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
            user_id = _build.require_user(conn, account_id)
            conn.execute(
                update(users).where(users.c.id == user_id).values(status=AccountStatus.after(action).value)
            )
            conn.execute(
                insert(account_actions).values(
                    id=_build.next_id(conn, account_actions),
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
            user_id = _build.require_user(conn, account_id)
            notice_id = _build.next_id(conn, notices)
            conn.execute(insert(notices).values(id=notice_id, user_id=user_id, text=text, sent_at=now))
        return str(notice_id)

    def content_events(self, after: str | None = None, limit: int = 100) -> Sequence[ContentEvent]:
        position = parse_cursor(after, limit)
        with self._engine.connect() as conn:
            return _stream.read_events(conn, position, limit)

    def fetch_content(self, locator: str) -> ContentEvent:
        parsed = parse_locator(locator)
        if parsed is None or parsed[1] is None:
            raise ContentNotFound(locator)
        with self._engine.connect() as conn:
            event = _stream.fetch_event(conn, parsed[0], parsed[1])
        if event is None:
            raise ContentNotFound(locator)
        return event

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
        phone, username = _build.check_user(phone, username, registration_ip)
        at = self.now() if registered_at is None else require_aware(registered_at, "registered_at")
        with self._engine.begin() as conn:
            return _build.add_user(
                conn,
                phone=phone,
                username=username,
                display_name=display_name,
                email=email,
                registered_at=at,
                registration_ip=registration_ip,
            )

    def add_session(
        self, account_id: str, *, ip: str, port: int, at: datetime, device: str | None = None
    ) -> str:
        """Record a login session; returns its id."""
        at = _build.check_session(ip, port, at)
        with self._engine.begin() as conn:
            return _build.add_session(conn, account_id, ip=ip, port=port, at=at, device=device)

    def create_chat(
        self,
        kind: str,
        member_ids: Sequence[str],
        *,
        title: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """Create a private chat (exactly two members), group or channel (first member owns it)."""
        _build.check_chat(kind, member_ids)
        at = self.now() if created_at is None else require_aware(created_at, "created_at")
        with self._engine.begin() as conn:
            return _build.create_chat(conn, kind, member_ids, title=title, created_at=at)

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
        _build.check_message(text, media_sha256, media)
        facts = None if media is None else _media.describe(media, media_type)
        at = self.now() if sent_at is None else require_aware(sent_at, "sent_at")
        with self._engine.begin() as conn:
            return _build.post_message(
                conn,
                chat_id,
                sender_id,
                text=text,
                media_sha256=media_sha256,
                media=None if media is None or facts is None else (media, facts),
                sent_at=at,
            )

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
