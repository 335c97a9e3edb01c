"""Logging in with password and mandatory TOTP, browser sessions, CSRF tokens and login delays.

Hardening (issue 11): a TOTP code is accepted once (the last accepted time step is kept per account and
moved forward by one conditional UPDATE, so two concurrent uses of a code cannot both succeed); TOTP
secrets are stored encrypted (`trustdesk.auth.totp`); an unknown e-mail costs the same Argon2
verification as a known one; and failures are counted per account *and* client address, so that an
outsider who fails from their own address makes only that address wait, never the account's owner.
"""

import functools
import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import pyotp
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.auth.addresses import MAX_LENGTH, UNKNOWN
from trustdesk.auth.models import LoginAttempt, WebSession
from trustdesk.auth.totp import TotpKey, TotpKeyError, matching_step
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.credentials import hash_password, verify_password
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import OFFICER_PERMISSIONS, Permission, permissions_of

log = logging.getLogger(__name__)

SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=10)
FREE_FAILURES = 5
"""Failures of one account from one address before that address has to wait between attempts."""
MAX_DELAY = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(hours=24)
"""Failures older than this (or older than the pair's last success) no longer count."""
MIN_PASSWORD_LENGTH = 12
WRONG = "Wrong e-mail, password or code."


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
    retry_after: int | None = None
    """Seconds this address waits before its next attempt at this account counts (when refused so)."""


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
    *,
    key: TotpKey,
) -> None:
    """Give an officer or staff user a password and a TOTP secret (both required to log in).

    The secret is stored encrypted with ``key`` (the key file of setting ``totp_key_path``).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if account in session.new:
        session.flush()  # gives the account its id: the associated data of the ciphertext
    account.password_hash = hash_password(password)
    account.totp_secret = key.seal(account.id, totp_secret)
    kind = "officer" if isinstance(account, Officer) else "staff_user"
    audit.record(session, clock, actor, AuditAction.CREDENTIALS_SET, subject_type=kind, subject_id=account.id)


def has_totp_secret(account: Officer | StaffUser, totp_secret: str, key: TotpKey) -> bool:
    """Whether ``account`` holds this TOTP secret (stored encrypted, or as a legacy plaintext)."""
    if account.totp_secret is None:
        return False
    try:
        return key.open(account.id, account.totp_secret).secret == totp_secret
    except TotpKeyError:
        return False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    """An Argon2 hash of a random password, made once per process: what an unknown e-mail is checked
    against, so that it costs the same time as a known one (no account enumeration by timing)."""
    return hash_password(secrets.token_urlsafe(24))


def _account(session: Session, face: Face, email: str) -> Officer | StaffUser | None:
    address = email.strip().lower()
    if face is Face.PORTAL:
        return session.scalar(select(Officer).where(Officer.email == address))
    return session.scalar(select(StaffUser).where(StaffUser.email == address))


def delay_after(failures: int) -> timedelta:
    """How long an address waits after its ``failures``-th failure at one account: nothing for the
    first `FREE_FAILURES` - 1, then 2, 4, 8, ... seconds, at most `MAX_DELAY`."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    exponent = failures - FREE_FAILURES + 1
    if exponent >= math.log2(MAX_DELAY.total_seconds()):
        return MAX_DELAY
    return min(timedelta(seconds=2**exponent), MAX_DELAY)


def wait_for(session: Session, clock: Clock, email: str, client: str) -> timedelta:
    """How long ``client`` must still wait before trying ``email`` again (zero: it may try now).

    Only this address's failures at this account count, since its last success there: failures from
    elsewhere never make it wait, so an outsider cannot lock a reviewer out.
    """
    now = clock()
    pair = (LoginAttempt.email == email, LoginAttempt.client == client)
    last_success = session.scalar(select(func.max(LoginAttempt.at)).where(*pair, LoginAttempt.succeeded))
    since = now - FAILURE_MEMORY
    if last_success is not None and last_success > since:
        since = last_success
    failures, last_failure = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            *pair,
            LoginAttempt.at >= since,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.throttled.is_(False),
        )
    ).one()
    if not failures or last_failure is None:
        return timedelta(0)
    return max(timedelta(0), last_failure + delay_after(failures) - now)


def _accept_code(
    session: Session, account: Officer | StaffUser, code: str, at: datetime, key: TotpKey
) -> bool:
    """Whether ``code`` is a fresh code of the account's secret; if so, its step becomes the last one.

    The step only moves forward, in one conditional UPDATE: of two concurrent logins with the same code
    one changes the row and the other changes nothing (its UPDATE waits for the first and then no longer
    matches), so a code is accepted once. A legacy plaintext secret is stored encrypted on the way.
    """
    if account.totp_secret is None:
        return False
    try:
        opened = key.open(account.id, account.totp_secret)
    except TotpKeyError:
        log.exception("refused a login: the TOTP secret does not decrypt")
        return False
    step = matching_step(opened.secret, code, at)
    if step is None:
        return False
    model = type(account)
    values: dict[str, Any] = {"totp_last_step": step}
    if opened.legacy:
        values["totp_secret"] = key.seal(account.id, opened.secret)
    moved = cast(
        "CursorResult[Any]",
        session.execute(
            update(model)
            .where(model.id == account.id, or_(model.totp_last_step.is_(None), model.totp_last_step < step))
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if moved.rowcount != 1:
        return False
    session.expire(account, ["totp_last_step", "totp_secret"])
    return True


def login(
    session: Session,
    clock: Clock,
    face: Face,
    email: str,
    password: str,
    code: str,
    client: str | None,
    *,
    key: TotpKey,
) -> LoginResult:
    """Check password and TOTP code; every attempt is recorded, and an address that failed too often at
    an account waits (progressively longer) before its next attempt there is checked.

    Failures return a result instead of raising, so that the entry point still commits the attempt.
    """
    address = email.strip().lower()[:320]
    origin = (client or UNKNOWN)[:MAX_LENGTH]
    now = clock()
    wait = wait_for(session, clock, address, origin)
    if wait > timedelta(0):
        session.add(
            LoginAttempt(
                email=address, face=face.value, succeeded=False, throttled=True, at=now, client=origin
            )
        )
        session.flush()
        seconds = math.ceil(wait.total_seconds())
        return LoginResult(
            False,
            message=f"Too many failed attempts from your address: try again in {seconds} seconds.",
            retry_after=seconds,
        )
    account = _account(session, face, address)
    if account is None or account.password_hash is None:
        verify_password(_dummy_hash(), password)  # the same work as for a known account
        password_ok = False
    else:
        password_ok = verify_password(account.password_hash, password)
    valid = (
        account is not None
        and password_ok
        and account.active
        and _accept_code(session, account, code, now, key)
    )
    session.add(
        LoginAttempt(email=address, face=face.value, succeeded=valid, throttled=False, at=now, client=origin)
    )
    session.flush()
    if not valid or account is None:
        return LoginResult(False, message=WRONG)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
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


# --- revoking sessions (issue 11) -----------------------------------------------------------------------


def live_sessions(session: Session, clock: Clock, face: Face, principal_id: str) -> list[WebSession]:
    """The sessions of one account that still work (not revoked, not expired, not idle), newest first."""
    now = clock()
    found = session.scalars(
        select(WebSession)
        .where(
            WebSession.principal_kind == face.value,
            WebSession.principal_id == principal_id,
            WebSession.revoked.is_(False),
            WebSession.expires_at > now,
            WebSession.last_seen_at >= now - SESSION_IDLE,
        )
        .order_by(WebSession.last_seen_at.desc(), WebSession.id)
    )
    return list(found)


def get_session(session: Session, session_id: str) -> WebSession:
    found = session.get(WebSession, session_id)
    if found is None:
        raise NotFound(f"no web session {session_id}", code="session_not_found", field="session_id")
    return found


def revoke_session(
    session: Session, clock: Clock, actor: Actor, web_session: WebSession, reason: str
) -> WebSession:
    """End one browser session now: its cookie is refused from the next request on. Audited."""
    if web_session.revoked:
        raise Conflict(f"web session {web_session.id} is already ended", code="session_revoked")
    session.execute(update(WebSession).where(WebSession.id == web_session.id).values(revoked=True))
    session.expire(web_session, ["revoked"])
    audit.record(
        session,
        clock,
        actor,
        AuditAction.SESSION_REVOKE,
        subject_type="web_session",
        subject_id=web_session.id,
        data={
            "after": {
                "principal_kind": web_session.principal_kind,
                "principal_id": web_session.principal_id,
                "reason": reason,
            }
        },
    )
    return web_session


def revoke_sessions(
    session: Session, clock: Clock, actor: Actor, face: Face, principal_id: str, reason: str
) -> list[str]:
    """End every unrevoked session of one account (expired ones too: nothing can revive them); returns the
    ids ended. One audit event names them all."""
    ids = list(
        session.scalars(
            select(WebSession.id).where(
                WebSession.principal_kind == face.value,
                WebSession.principal_id == principal_id,
                WebSession.revoked.is_(False),
            )
        )
    )
    if ids:
        session.execute(
            update(WebSession)
            .where(WebSession.id.in_(ids))
            .values(revoked=True)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            clock,
            actor,
            AuditAction.SESSION_REVOKE,
            subject_type="officer" if face is Face.PORTAL else "staff_user",
            subject_id=principal_id,
            data={"after": {"sessions": ids, "reason": reason}},
        )
    return ids


def reason_given(reason: str | None) -> str:
    """A revocation says why (it is audited): the reason, stripped, or InvalidInput."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("say why (the reason is kept in the audit log)", field="reason")
    if len(text) > 500:
        raise InvalidInput("the reason has at most 500 characters", field="reason")
    return text
