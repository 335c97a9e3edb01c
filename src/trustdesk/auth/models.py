"""Browser sessions and login attempts."""

from datetime import datetime

from sqlalchemy import Boolean, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    principal_kind: Mapped[str] = mapped_column(String(16))  # officer | staff
    principal_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginAttempt(Base):
    """Every login attempt, for the delays per account and address and for the audit of access."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_client_at", "email", "client", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), index=True)
    face: Mapped[str] = mapped_column(String(16))  # portal | console
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    throttled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Refused unchecked because the address had to wait: not counted as a failure of its own."""


class Enrolment(Base):
    """A one-time link that lets a new account (created from the CLI) choose its password and enrol its
    TOTP authenticator itself; only the SHA-256 of the link's token is stored."""

    __tablename__ = "enrolments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_kind: Mapped[str] = mapped_column(String(16))  # officer | staff
    principal_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
