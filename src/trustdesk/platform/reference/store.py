"""Storage of the reference platform: SQLAlchemy Core tables with their own `MetaData`.

This is the demo messenger's own database, a separate system from Trustdesk's (which is built by
Alembic migrations): here `create_schema` with ``metadata.create_all`` is right.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from trustdesk.db import UTCDateTime

metadata = MetaData()


CHAT_KINDS = ("private", "group", "channel")
MEMBER_ROLES = ("member", "admin", "owner")
STATES = ("visible", "restricted", "removed")
ACCOUNT_STATUSES = ("active", "restricted", "suspended", "terminated")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"ck_{column}_known")


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(64)),
    Column("username_key", String(64), unique=True),
    Column("phone", String(20), unique=True),
    Column("email", String(254)),
    Column("display_name", String(128)),
    Column("registered_at", UTCDateTime, nullable=False),
    Column("registration_ip", String(45), nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    _one_of("status", ACCOUNT_STATUSES),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("port", Integer, nullable=False),
    Column("device", String(64)),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sessions_user_at", "user_id", "at"),
    Index("ix_sessions_at", "at"),
)

chats = Table(
    "chats",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("title", String(128)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False, default="visible"),
    Column("scope", String(1024)),
    _one_of("kind", CHAT_KINDS),
    _one_of("state", STATES),
)

members = Table(
    "members",
    metadata,
    Column("chat_id", Integer, ForeignKey("chats.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("role", String(16), nullable=False, default="member"),
    Column("joined_at", UTCDateTime, nullable=False),
    Index("ix_members_user", "user_id"),
    _one_of("role", MEMBER_ROLES),
)

media = Table(
    "media",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("md5", String(32), nullable=False),
    Column("mime", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("bytes", LargeBinary, nullable=False),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chat_id", Integer, ForeignKey("chats.id"), nullable=False),
    Column("sender_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("text", Text),
    Column("media_sha256", String(64)),
    Column("media_id", Integer, ForeignKey("media.id")),
    Column("state", String(16), nullable=False, default="visible"),
    Column("scope", String(1024)),
    Index("ix_messages_sender_at", "sender_id", "sent_at"),
    Index("ix_messages_chat", "chat_id"),
    Index("ix_messages_sent_at", "sent_at"),
    _one_of("state", STATES),
)

removals = Table(
    "removals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("locator", String(256), nullable=False),
    Column("action", String(16), nullable=False),
    Column("scope", String(1024)),
    Column("at", UTCDateTime, nullable=False),
)

account_actions = Table(
    "account_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
)

holds = Table(
    "holds",
    metadata,
    Column("hold_id", String(128), primary_key=True),
    Column("account_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("snapshot", LargeBinary, nullable=False),
    Column("snapshot_sha256", String(64), nullable=False),
)

hold_categories = Table(
    "hold_categories",
    metadata,
    Column("hold_id", String(128), ForeignKey("holds.hold_id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(16), primary_key=True),
)

ALL_TABLES = (
    users,
    sessions,
    chats,
    members,
    media,
    messages,
    removals,
    account_actions,
    notices,
    holds,
    hold_categories,
)
