"""Use cases for staff users."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.auth import service as auth
from trustdesk.auth.service import Face, reason_given
from trustdesk.authorities.service import email_domain
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key, hash_password, verify_password
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from trustdesk.staff.models import RoleGrant, StaffToken, StaffUser
from trustdesk.staff.roles import OFFICER_PERMISSIONS, Permission, Role, permissions_of

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


DEFAULT_TOKEN_DAYS = 30
"""The lifetime `trustdesk user token` gives a token unless told otherwise."""
MAX_TOKEN_DAYS = 365
TOKEN_LIFETIME = timedelta(days=90)
"""The lifetime of a token issued without ``days`` by code (the demo, test worlds)."""
ALL = "*"
"""The scope of a token that may use every permission of its user's roles (chosen explicitly)."""
STAFF_TOKEN_PREFIX = "tds_"  # noqa: S105 - a public prefix, not a secret
STAFF_PERMISSIONS = frozenset(Permission) - OFFICER_PERMISSIONS
"""What a staff token's scope may name: the permissions staff roles can grant."""


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


def token_scope(values: list[str]) -> str:
    """The stored scope of a token: ``*`` for ``all``, else the permissions named, validated, sorted."""
    names = [v.strip() for v in values if v.strip()]
    if not names:
        raise InvalidInput(
            "choose the token's scope: --scope PERMISSION (repeatable) or --scope all", field="scope"
        )
    if ALL in names or "all" in names:
        if len(names) > 1:
            raise InvalidInput("the scope is either all or a list of permissions, not both", field="scope")
        return ALL
    allowed = sorted(p.value for p in STAFF_PERMISSIONS)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidInput(
            f"unknown permission {', '.join(unknown)}; a staff token's scope is all or any of "
            f"{', '.join(allowed)}",
            field="scope",
        )
    return " ".join(sorted(set(names)))


def scope_permissions(token: StaffToken) -> frozenset[Permission]:
    """What a token may do: its scope intersected with its user's roles now."""
    granted = permissions_of(token.user.roles) if token.user.active else frozenset()
    if token.scope == ALL:
        return granted
    named = {p.value for p in Permission} & set(token.scope.split())
    return granted & frozenset(Permission(p) for p in named)


def issue_token(
    session: Session,
    clock: Clock,
    actor: Actor,
    user: StaffUser,
    *,
    scope: str = ALL,
    days: int = TOKEN_LIFETIME.days,
    label: str = "",
) -> str:
    """An API token for a staff user (`new_token`); shown once."""
    return new_token(session, clock, actor, user, scope=scope, days=days, label=label)[1]


def new_token(
    session: Session,
    clock: Clock,
    actor: Actor,
    user: StaffUser,
    *,
    scope: str = ALL,
    days: int = TOKEN_LIFETIME.days,
    label: str = "",
) -> tuple[StaffToken, str]:
    """An API token for a staff user, valid ``days`` days for ``scope`` (space-separated, see
    `token_scope`): its record and the token, shown once, stored as SHA-256. A scope may name only
    permissions the user's roles grant now."""
    if not user.active:
        raise Conflict(f"{user.email} is deactivated: no token is issued", code="staff_user_inactive")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lives 1 to {MAX_TOKEN_DAYS} days, not {days}", field="days")
    scope = token_scope(scope.split())
    held = permissions_of(user.roles)
    if scope != ALL:
        missing = sorted(p for p in scope.split() if Permission(p) not in held)
        if missing:
            raise InvalidInput(
                f"{user.email}'s roles ({', '.join(sorted(r.value for r in user.roles))}) do not grant "
                f"{', '.join(missing)}; they grant {', '.join(sorted(p.value for p in held))}",
                field="scope",
            )
    label = label.strip()
    if len(label) > 100:
        raise InvalidInput("a label has at most 100 characters", field="label")
    token = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock()
    record = StaffToken(
        user_id=user.id,
        token_hash=hash_api_key(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
        scope=scope,
        label=label,
    )
    session.add(record)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.STAFF_TOKEN_ISSUE, subject_type="staff_user", subject_id=user.id,
        data={"after": {"token_id": record.id, "scope": scope, "expires_at": record.expires_at.isoformat(),
                        "label": label}},
    )  # fmt: skip
    return record, token


def authenticate_token(session: Session, clock: Clock, token: str) -> StaffToken:
    """The live token: else Unauthenticated, saying whether it is unknown, revoked, expired or its user
    deactivated."""
    found = session.scalar(select(StaffToken).where(StaffToken.token_hash == hash_api_key(token)))
    if found is None:
        raise Unauthenticated("the staff token is unknown", code="token_unknown")
    if found.revoked_at is not None:
        raise Unauthenticated(
            "the staff token was revoked: ask an operator for a new one", code="token_revoked"
        )
    if clock() >= found.expires_at:
        raise Unauthenticated(
            f"the staff token expired at {found.expires_at.isoformat()}: ask an operator for a new one",
            code="token_expired",
        )
    if not found.user.active:
        raise Unauthenticated(f"{found.user.email} is deactivated", code="staff_user_inactive")
    return found


def authorise_token(session: Session, clock: Clock, token: str, permission: Permission) -> StaffUser:
    """The user of a live token whose roles grant ``permission`` and whose scope includes it; else
    Unauthenticated (401) or Forbidden (403: ``permission_denied`` by the roles, ``token_scope`` by the
    token's scope)."""
    found = authenticate_token(session, clock, token)
    require(found.user, permission)
    if permission not in scope_permissions(found):
        raise Forbidden(
            f"this token's scope ({found.scope}) does not include {permission.value}: issue a token with "
            f"--scope {permission.value}",
            code="token_scope",
        )
    return found.user


def list_tokens(session: Session, user: StaffUser) -> list[StaffToken]:
    return list(
        session.scalars(
            select(StaffToken)
            .where(StaffToken.user_id == user.id)
            .order_by(StaffToken.created_at, StaffToken.id)
        )
    )


def revoke_token(session: Session, clock: Clock, actor: Actor, token_id: str, reason: str) -> StaffToken:
    """Revoke a staff token: refused with 401 from its next use. Audited with the reason."""
    reason = reason_given(reason)
    token = session.get(StaffToken, token_id)
    if token is None:
        raise NotFound(f"no staff token {token_id}", code="token_not_found", field="token_id")
    if token.revoked_at is not None:
        raise Conflict(f"staff token {token_id} is already revoked", code="token_revoked")
    token.revoked_at = clock()
    audit.record(
        session, clock, actor, AuditAction.STAFF_TOKEN_REVOKE, subject_type="staff_user",
        subject_id=token.user_id, data={"after": {"token_id": token.id, "reason": reason}},
    )  # fmt: skip
    return token


def get_user(session: Session, id_or_email: str) -> StaffUser:
    """A staff user by id or e-mail."""
    user = session.get(StaffUser, id_or_email.strip()) or find_user(session, id_or_email)
    if user is None:
        raise NotFound(f"no staff user {id_or_email}", code="staff_user_not_found", field="user")
    return user


def deactivate_user(
    session: Session, clock: Clock, actor: Actor, user: StaffUser, reason: str
) -> dict[str, list[str]]:
    """Deactivate a staff user at once: every token revoked, every web session ended, unused enrolment
    links voided. One audit event lists what was revoked. (The entry point releases their case claims.)"""
    from trustdesk.auth import enrolment

    reason = reason_given(reason)
    if not user.active:
        raise Conflict(f"{user.email} is already deactivated", code="staff_user_inactive")
    now = clock()
    user.active = False
    tokens = list(
        session.scalars(
            select(StaffToken).where(StaffToken.user_id == user.id, StaffToken.revoked_at.is_(None))
        )
    )
    for token in tokens:
        token.revoked_at = now
    sessions = auth.revoke_sessions(session, clock, actor, Face.CONSOLE, user.id, reason)
    voided = enrolment.void(session, clock, "staff", user.id)
    revoked = {
        "tokens": [t.id for t in tokens],
        "sessions": sessions,
        "enrolments": voided,
    }
    audit.record(
        session, clock, actor, AuditAction.STAFF_USER_DEACTIVATE, subject_type="staff_user",
        subject_id=user.id,
        data={"before": {"active": True}, "after": {"active": False, "reason": reason, **revoked}},
    )  # fmt: skip
    return revoked
