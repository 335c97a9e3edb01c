"""The reference platform: a small demo messenger that implements `PlatformConnector` over SQL.

Users with phones, usernames and registration IPs; login sessions; private chats, groups and channels;
messages with optional media hashes; account statuses, notices, removal flags and preservation holds.
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
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, Row, Table, and_, delete, func, insert, select, update

from trustdesk.clock import Clock
from trustdesk.db import make_engine
from trustdesk.platform.protocol import (
    Account,
    AccountAction,
    AccountNotFound,
    AccountStatus,
    ContentEvent,
    ContentNotFound,
    ContentState,
    Export,
    ExportRecord,
    FieldValue,
    Hold,
    HoldConflict,
    HoldExpired,
    HoldNotFound,
    Period,
    RemovalAction,
    RemovalResult,
    canonical_export,
    normalise_categories,
    normalise_country_codes,
    normalise_phone,
    record_order,
    require_aware,
    sha256_hex,
)
from trustdesk.platform.reference import generate as _generate
from trustdesk.platform.reference import retention as _retention
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

LOCATOR_PREFIX = "ref://chat/"
_LOCATOR = re.compile(r"ref://chat/(?P<chat>[1-9][0-9]{0,17})(?:/message/(?P<msg>[1-9][0-9]{0,17}))?")
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,31}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DECIMAL_ID = re.compile(r"[1-9][0-9]{0,17}")
_CURSOR = re.compile(r"[0-9]{1,18}")
_MAX_EVENTS = 1000
_MAX_HOLD_ID = 128


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


def _parse_id(value: str) -> int | None:
    value = value.strip()
    return int(value) if _DECIMAL_ID.fullmatch(value) else None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _join_scope(scope: frozenset[str] | None) -> str | None:
    return ",".join(sorted(scope)) if scope else None


def _split_scope(scope: str | None) -> frozenset[str]:
    return frozenset(scope.split(",")) if scope else frozenset()


def _effective_state(own: str, chat: str) -> ContentState:
    states = {ContentState(own), ContentState(chat)}
    if ContentState.REMOVED in states:
        return ContentState.REMOVED
    if ContentState.RESTRICTED in states:
        return ContentState.RESTRICTED
    return ContentState.VISIBLE


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

    def __init__(self, url: str = "sqlite://", *, clock: Clock) -> None:
        self._engine = make_engine(url)
        self._clock = clock

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def engine(self) -> Engine:
        return self._engine

    def create_schema(self) -> None:
        metadata.create_all(self._engine)

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
                user_id = _parse_id(value)
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
            state, result_scope = self._next_removal_state(
                ContentState(row.state), _split_scope(row.scope), action, countries
            )
            conn.execute(
                update(table)
                .where(table.c.id == key)
                .values(state=state.value, scope=_join_scope(result_scope))
            )
            conn.execute(
                insert(removals).values(
                    id=self._next_id(conn, removals),
                    locator=canonical,
                    action=action.value,
                    scope=_join_scope(countries),
                    at=now,
                )
            )
        return RemovalResult(locator=canonical, action=action, scope=result_scope, effective_at=now)

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
        if isinstance(limit, bool) or not 1 <= limit <= _MAX_EVENTS:
            raise ValueError(f"limit must be between 1 and {_MAX_EVENTS}, got {limit!r}")
        if after is None:
            position = 0
        elif _CURSOR.fullmatch(after):
            position = int(after)
        else:
            raise ValueError(f"not a cursor of this platform: {after!r}")
        query = (
            select(messages, chats.c.state.label("chat_state"))
            .join(chats, chats.c.id == messages.c.chat_id)
            .where(messages.c.id > position)
            .order_by(messages.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            ContentEvent(
                cursor=str(row.id),
                event_id=str(row.id),
                kind="media" if row.media_sha256 else "message",
                account_id=str(row.sender_id),
                chat_id=str(row.chat_id),
                at=row.sent_at,
                text=row.text,
                media_sha256=row.media_sha256,
                locator=message_locator(row.chat_id, row.id),
                state=_effective_state(row.state, row.chat_state),
            )
            for row in rows
        ]

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
        sent_at: datetime | None = None,
    ) -> str:
        """Post a message; returns its locator. The sender must be a member (of a channel: owner)."""
        if text is None and media_sha256 is None:
            raise ValueError("a message needs a text or a media hash")
        if media_sha256 is not None and not _SHA256.fullmatch(media_sha256):
            raise ValueError(f"not a lower-case hex SHA-256: {media_sha256!r}")
        at = self.now() if sent_at is None else require_aware(sent_at, "sent_at")
        chat = _parse_id(chat_id)
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
            message_id = self._next_id(conn, messages)
            conn.execute(
                insert(messages).values(
                    id=message_id,
                    chat_id=chat,
                    sender_id=user_id,
                    sent_at=at,
                    text=text,
                    media_sha256=media_sha256,
                    state="visible",
                )
            )
        return message_locator(chat, message_id)

    def notices(self, account_id: str) -> list[Notice]:
        """Notices delivered to the account, oldest first."""
        user_id = _parse_id(account_id)
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
        user_id = _parse_id(account_id)
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
    def _next_removal_state(
        state: ContentState,
        scope: frozenset[str],
        action: RemovalAction,
        countries: frozenset[str] | None,
    ) -> tuple[ContentState, frozenset[str] | None]:
        if action is RemovalAction.REMOVE:
            return ContentState.REMOVED, None
        if action is RemovalAction.RESTORE:
            return ContentState.VISIBLE, None
        if state is ContentState.REMOVED:  # already gone worldwide, which covers any country
            return ContentState.REMOVED, None
        return ContentState.RESTRICTED, scope | (countries or frozenset())

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
        if not isinstance(period, Period):
            raise TypeError("period must be a Period")
        user_id = _parse_id(account_id)
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


# ---------------------------------------------------------------------------------- export parts


def _account(row: Row[Any]) -> Account:
    return Account(
        platform_id=str(row.id),
        username=row.username,
        phone=row.phone,
        display_name=row.display_name,
        created_at=row.registered_at,
        status=AccountStatus(row.status),
    )


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
        registered_at=_iso(user.registered_at),
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
                at=_iso(user.registered_at),
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
            at=_iso(row.at),
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
            joined_at=_iso(row.joined_at),
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
            at=_iso(device.at),
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
                at=_iso(row.sent_at),
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
            sent_at=_iso(row.sent_at),
            text=row.text,
            media_sha256=row.media_sha256,
            locator=message_locator(row.chat_id, row.id),
        )
        for row in rows
        if _effective_state(row.state, row.chat_state) is not ContentState.REMOVED
    ]


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


def _digest_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"unexpected value in the store: {type(value).__name__}")
