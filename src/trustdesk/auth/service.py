"""Logging in with password and mandatory TOTP, browser sessions, CSRF tokens and lockout."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import pyotp
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.auth.models import LoginAttempt, WebSession
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.credentials import hash_password, verify_password
from trustdesk.errors import InvalidInput
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import OFFICER_PERMISSIONS, Permission, permissions_of

SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=10)
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12


class Face(StrEnum):
    PORTAL = "portal"  # officers of authorities
    CONSOLE = "console"  # staff of the platform


@dataclass(frozen=True)
class Principal:
    """Who a browser session belongs to, as the web layer needs it."""

    kind: Face
    id: str
    email: str
    name: str
    agency_id: str | None
    agency_name: str | None
    permissions: frozenset[Permission]
    roles: tuple[str, ...]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    token: str | None = None
    csrf: str | None = None
    message: str = ""


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Trustdesk")


def set_credentials(
    session: Session,
    clock: Clock,
    actor: Actor,
    account: Officer | StaffUser,
    password: str,
    totp_secret: str,
) -> None:
    """Give an officer or staff user a password and a TOTP secret (both required to log in)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    account.password_hash = hash_password(password)
    account.totp_secret = totp_secret
    kind = "officer" if isinstance(account, Officer) else "staff_user"
    audit.record(session, clock, actor, AuditAction.CREDENTIALS_SET, subject_type=kind, subject_id=account.id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account(session: Session, face: Face, email: str) -> Officer | StaffUser | None:
    address = email.strip().lower()
    if face is Face.PORTAL:
        return session.scalar(select(Officer).where(Officer.email == address))
    return session.scalar(select(StaffUser).where(StaffUser.email == address))


def locked_out(session: Session, clock: Clock, email: str) -> bool:
    since = clock() - LOCKOUT_WINDOW
    failures = session.scalar(
        select(func.count()).where(
            LoginAttempt.email == email.strip().lower(),
            LoginAttempt.at >= since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    return (failures or 0) >= LOCKOUT_FAILURES


def login(
    session: Session, clock: Clock, face: Face, email: str, password: str, code: str, client: str | None
) -> LoginResult:
    """Check password and TOTP code; every attempt is recorded, and too many failures lock the account.

    Failures return a result instead of raising, so that the entry point still commits the attempt.
    """
    address = email.strip().lower()[:320]
    if locked_out(session, clock, address):
        return LoginResult(False, message="Too many failed attempts: try again in 15 minutes.")
    account = _account(session, face, address)
    valid = (
        account is not None
        and account.active
        and account.password_hash is not None
        and verify_password(account.password_hash, password)
        and account.totp_secret is not None
        and pyotp.TOTP(account.totp_secret).verify(code.strip(), for_time=clock(), valid_window=1)
    )
    session.add(LoginAttempt(email=address, face=face.value, succeeded=valid, at=clock(), client=client))
    session.flush()
    if not valid or account is None:
        return LoginResult(False, message="Wrong e-mail, password or code.")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = clock()
    web_session = WebSession(
        token_hash=_hash(token),
        csrf_token=csrf,
        principal_kind=face.value,
        principal_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_MAX,
        revoked=False,
    )
    session.add(web_session)
    session.flush()
    actor = Actor(ActorKind.OFFICER if face is Face.PORTAL else ActorKind.STAFF, account.id)
    audit.record(
        session,
        clock,
        actor,
        AuditAction.SESSION_LOGIN,
        subject_type="web_session",
        subject_id=web_session.id,
        data={"after": {"face": face.value, "client": client}},
    )
    return LoginResult(True, token=token, csrf=csrf)


def resolve(session: Session, clock: Clock, face: Face, token: str) -> tuple[WebSession, Principal] | None:
    """The live session of a cookie token for this face, or None (unknown, revoked, idle or expired)."""
    now = clock()
    found = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if (
        found is None
        or found.revoked
        or found.principal_kind != face.value
        or now >= found.expires_at
        or now - found.last_seen_at > SESSION_IDLE
    ):
        return None
    principal = _principal(session, face, found.principal_id)
    if principal is None:
        return None
    if now - found.last_seen_at > timedelta(minutes=1):
        found.last_seen_at = now
    return found, principal


def _principal(session: Session, face: Face, principal_id: str) -> Principal | None:
    if face is Face.PORTAL:
        officer = session.get(Officer, principal_id)
        if officer is None or not officer.active:
            return None
        return Principal(
            face,
            officer.id,
            officer.email,
            officer.name,
            officer.agency_id,
            officer.agency.name,
            OFFICER_PERMISSIONS,
            (),
        )
    user = session.get(StaffUser, principal_id)
    if user is None or not user.active:
        return None
    return Principal(
        face,
        user.id,
        user.email,
        user.name,
        None,
        None,
        permissions_of(user.roles),
        tuple(sorted(r.value for r in user.roles)),
    )


def logout(session: Session, clock: Clock, web_session: WebSession) -> None:
    session.execute(update(WebSession).where(WebSession.id == web_session.id).values(revoked=True))
    actor = Actor(
        ActorKind.OFFICER if web_session.principal_kind == Face.PORTAL else ActorKind.STAFF,
        web_session.principal_id,
    )
    audit.record(
        session,
        clock,
        actor,
        AuditAction.SESSION_LOGOUT,
        subject_type="web_session",
        subject_id=web_session.id,
    )
