"""One-time enrolment links: an account created from the CLI chooses its password and enrols its TOTP
authenticator itself, so that no operator ever sees (or has to pass on) a password or a TOTP secret.

- A link is ``{public_url}/enrol/{token}``: the token is 256 random bits; only its SHA-256 is stored. It is
  valid for `LIFETIME` and used once. Issuing a new link for an account voids its unused ones; an account
  that already has credentials keeps them until the new link is *used* (then they are replaced and its
  live sessions ended).
- The TOTP secret shown on the page is never stored before the enrolment completes, and never in
  plaintext: it is *derived* from the link's token with HMAC-SHA256 under the installation's secret key
  (setting ``secret_key``, which production refuses to leave at its demo value). So every view of the page
  shows the same secret, the server needs no state between showing and confirming, and the stored hash of
  the token gives a reader of the database nothing to derive it from; once the link is used, it shows
  nothing, so an old link found later (in a mailbox, say) reveals no secret either. On success the secret is
  stored sealed with the TOTP key (`trustdesk.auth.service.set_credentials`).
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.auth import service as auth
from trustdesk.auth.models import Enrolment
from trustdesk.auth.totp import TotpKey, matching_step
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, DomainError, InvalidInput, NotFound
from trustdesk.staff.models import StaffUser

LIFETIME = timedelta(hours=72)
PATH = "/enrol/"
_DERIVATION = b"trustdesk enrolment totp secret v1\x00"
Account = Officer | StaffUser


class LinkGone(DomainError):
    """The link was used, has expired or was replaced by a newer one."""

    status = 410
    code = "enrolment_gone"


def kind_of(account: Account) -> str:
    return "officer" if isinstance(account, Officer) else "staff"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def totp_secret_for(token: str, server_secret: str) -> str:
    """The TOTP secret of the link ``token``: 160 bits of HMAC-SHA256(server secret, token), in base32."""
    digest = hmac.new(server_secret.encode(), _DERIVATION + token.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def link(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + PATH + token


def void(session: Session, clock: Clock, kind: str, principal_id: str) -> list[str]:
    """Void the account's unused, unexpired links (they expire now); returns their ids."""
    now = clock()
    ids = list(
        session.scalars(
            select(Enrolment.id).where(
                Enrolment.principal_kind == kind,
                Enrolment.principal_id == principal_id,
                Enrolment.used_at.is_(None),
                Enrolment.expires_at > now,
            )
        )
    )
    if ids:
        session.execute(
            update(Enrolment)
            .where(Enrolment.id.in_(ids))
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def issue(session: Session, clock: Clock, actor: Actor, account: Account) -> str:
    """A fresh one-time link token for ``account`` (shown once); its earlier unused links are voided."""
    if not account.active:
        raise Conflict(
            f"{account.email} is deactivated: no enrolment link is issued", code="account_inactive"
        )
    if account in session.new:
        session.flush()
    kind = kind_of(account)
    voided = void(session, clock, kind, account.id)
    token = secrets.token_urlsafe(32)
    now = clock()
    record = Enrolment(
        token_hash=_hash(token),
        principal_kind=kind,
        principal_id=account.id,
        created_at=now,
        expires_at=now + LIFETIME,
        used_at=None,
    )
    session.add(record)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.ENROLMENT_ISSUE, subject_type=_subject(kind),
        subject_id=account.id,
        data={"after": {"enrolment_id": record.id, "expires_at": record.expires_at.isoformat(),
                        "voided": voided, "resets_credentials": account.totp_secret is not None}},
    )  # fmt: skip
    return token


def _subject(kind: str) -> str:
    return "officer" if kind == "officer" else "staff_user"


@dataclass(frozen=True)
class Opened:
    """A live link, as the enrolment page shows it."""

    enrolment: Enrolment
    account: Account
    kind: str
    secret: str
    uri: str
    resets: bool
    """The account has credentials already: they are replaced when this enrolment completes."""

    @property
    def expires_at(self) -> datetime:
        return self.enrolment.expires_at


def open_link(session: Session, clock: Clock, token: str, server_secret: str) -> Opened:
    """The live link of ``token``; else NotFound (unknown) or LinkGone (used, expired, replaced, or the
    account deactivated). Changes nothing."""
    found = session.scalar(select(Enrolment).where(Enrolment.token_hash == _hash(token))) if token else None
    if found is None:
        raise NotFound(
            "this enrolment link is unknown: check that it was copied whole", code="enrolment_unknown"
        )
    if found.used_at is not None:
        raise LinkGone(
            "this enrolment link was already used: log in, or ask for a new link", code="enrolment_used"
        )
    if clock() >= found.expires_at:
        raise LinkGone(
            "this enrolment link has expired or was replaced by a newer one: ask for a new link",
            code="enrolment_expired",
        )
    account: Account | None = (
        session.get(Officer, found.principal_id)
        if found.principal_kind == "officer"
        else session.get(StaffUser, found.principal_id)
    )
    if account is None or not account.active:
        raise LinkGone("this account is deactivated: the link no longer works", code="account_inactive")
    secret = totp_secret_for(token, server_secret)
    return Opened(
        found,
        account,
        found.principal_kind,
        secret,
        auth.totp_uri(secret, account.email),
        resets=account.totp_secret is not None,
    )


def complete(
    session: Session,
    clock: Clock,
    token: str,
    *,
    password: str,
    confirm: str,
    code: str,
    key: TotpKey,
    server_secret: str,
) -> Opened:
    """Set the account's password and TOTP secret from a live link, once: the password twice, at least
    `auth.MIN_PASSWORD_LENGTH` characters, and one current code of the secret shown. On any refusal nothing
    changes. The code's time step counts as used (it cannot log in), and an account whose credentials are
    replaced has its live sessions ended."""
    opened = open_link(session, clock, token, server_secret)
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"passwords have at least {auth.MIN_PASSWORD_LENGTH} characters", field="password")
    if not hmac.compare_digest(password.encode(), confirm.encode()):
        raise InvalidInput("the two passwords differ", field="confirm")
    now = clock()
    step = matching_step(opened.secret, code, now)
    if step is None:
        raise InvalidInput(
            "that code is not the current one of the secret shown: check your authenticator's clock and "
            "that it holds the secret of this page",
            field="code",
        )
    used = cast(
        "CursorResult[Any]",
        session.execute(
            update(Enrolment)
            .where(
                Enrolment.id == opened.enrolment.id, Enrolment.used_at.is_(None), Enrolment.expires_at > now
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if used.rowcount != 1:  # a concurrent use of the same link won
        raise LinkGone(
            "this enrolment link was already used: log in, or ask for a new link", code="enrolment_used"
        )
    account = opened.account
    actor = Actor(ActorKind.OFFICER if opened.kind == "officer" else ActorKind.STAFF, account.id)
    auth.set_credentials(session, clock, actor, account, password, opened.secret, key=key)
    account.totp_last_step = step
    ended: list[str] = []
    if opened.resets:
        face = auth.Face.PORTAL if opened.kind == "officer" else auth.Face.CONSOLE
        ended = auth.revoke_sessions(
            session, clock, actor, face, account.id, "credentials reset by enrolment"
        )
    audit.record(
        session, clock, actor, AuditAction.ENROLMENT_COMPLETE, subject_type=_subject(opened.kind),
        subject_id=account.id,
        data={"after": {"enrolment_id": opened.enrolment.id, "reset": opened.resets,
                        "sessions_ended": ended}},
    )  # fmt: skip
    session.expire(opened.enrolment, ["used_at"])
    return opened


def face_of(kind: str) -> str:
    """Where the account logs in after enrolling."""
    return "portal" if kind == "officer" else "console"
