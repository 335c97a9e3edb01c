"""Use cases for staff users."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.service import email_domain
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key, hash_password, verify_password
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from trustdesk.staff.models import RoleGrant, StaffToken, StaffUser
from trustdesk.staff.roles import Permission, Role, permissions_of

MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class NewStaffUser:
    user: StaffUser
    password: str  # shown once


def add_user(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    email: str,
    roles: list[Role | str],
    name: str | None = None,
    password: str | None = None,
) -> NewStaffUser:
    email_domain(email)
    address = email.strip().lower()
    try:
        granted = sorted({Role(r) for r in roles})
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role in {list(roles)}; roles are {allowed}", field="role") from None
    if not granted:
        raise InvalidInput("a staff user needs at least one role", field="role")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == address)):
        raise Conflict(f"a staff user {address} already exists", field="email")
    plaintext = password or secrets.token_urlsafe(18)
    user = StaffUser(
        email=address,
        name=(name or address.split("@")[0]).strip(),
        password_hash=hash_password(plaintext),
        active=True,
        created_at=clock(),
        grants=[RoleGrant(role=r) for r in granted],
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.STAFF_USER_CREATE,
        subject_type="staff_user",
        subject_id=user.id,
        data={"after": {"email": address, "roles": [r.value for r in granted]}},
    )
    return NewStaffUser(user, plaintext)


def find_user(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))


def check_password(session: Session, email: str, password: str) -> StaffUser:
    user = find_user(session, email)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise Unauthenticated("unknown e-mail or wrong password")
    return user


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


TOKEN_LIFETIME = timedelta(days=90)
STAFF_TOKEN_PREFIX = "tds_"  # noqa: S105 - a public prefix, not a secret


def require(user: StaffUser, permission: Permission) -> None:
    """Refuse a staff user who lacks the permission (or is deactivated)."""
    if not user.active or permission not in permissions_of(user.roles):
        raise Forbidden(
            f"{user.email} may not do this: it needs {permission.value}, which none of their roles "
            f"({', '.join(sorted(r.value for r in user.roles))}) grants",
            code="permission_denied",
        )


def acting_user(session: Session, email: str) -> StaffUser:
    """The staff user a CLI command acts as (``--as EMAIL``)."""
    user = find_user(session, email)
    if user is None or not user.active:
        raise NotFound(f"no active staff user {email}", code="staff_user_not_found", field="as")
    return user


def issue_token(session: Session, clock: Clock, actor: Actor, user: StaffUser) -> str:
    """An API token for a staff user; shown once, stored as SHA-256."""
    token = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock()
    session.add(
        StaffToken(
            user_id=user.id,
            token_hash=hash_api_key(token),
            created_at=now,
            expires_at=now + TOKEN_LIFETIME,
            scope="*",
        )
    )
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.STAFF_TOKEN_ISSUE, subject_type="staff_user", subject_id=user.id
    )
    return token


def authenticate_token(session: Session, token: str) -> StaffUser:
    found = session.scalar(
        select(StaffToken).where(
            StaffToken.token_hash == hash_api_key(token), StaffToken.revoked_at.is_(None)
        )
    )
    if found is None or not found.user.active:
        raise Unauthenticated("the staff token is unknown or revoked")
    return found.user
