"""Officers' access: their API keys and browser sessions, revoked one by one or all at once by
deactivating the officer. Every change is audited with the reason given; bad input changes nothing."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.auth import enrolment
from trustdesk.auth import service as auth
from trustdesk.auth.service import Face, reason_given
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import ApiKey, Officer
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key
from trustdesk.errors import Conflict, NotFound


def get_officer(session: Session, id_or_email: str) -> Officer:
    """An officer by id or e-mail."""
    officer = session.get(Officer, id_or_email.strip()) or authorities.find_officer(session, id_or_email)
    if officer is None:
        raise NotFound(f"no officer {id_or_email}", code="officer_not_found", field="officer")
    return officer


def list_officers(session: Session) -> list[Officer]:
    return list(session.scalars(select(Officer).order_by(Officer.email)))


def keys_of(session: Session, officer: Officer) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.officer_id == officer.id).order_by(ApiKey.created_at, ApiKey.id)
        )
    )


def issue_key(session: Session, clock: Clock, actor: Actor, officer: Officer) -> tuple[ApiKey, str]:
    """A new API key for an active officer (the plaintext is shown once); the old keys stay valid until
    revoked."""
    if not officer.active:
        raise Conflict(f"{officer.email} is deactivated: no key is issued", code="officer_inactive")
    plaintext = authorities.issue_api_key(session, clock, actor, officer)
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_api_key(plaintext))).one(), plaintext


def revoke_key(session: Session, clock: Clock, actor: Actor, key_id: str, reason: str) -> ApiKey:
    """Revoke one API key: its next call gets 401."""
    why = reason_given(reason)
    key = session.get(ApiKey, key_id.strip())
    if key is None:
        raise NotFound(f"no API key {key_id}", code="api_key_not_found", field="key_id")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key.id} is already revoked", code="api_key_revoked")
    key.revoked_at = clock()
    audit.record(
        session, clock, actor, AuditAction.API_KEY_REVOKE, subject_type="officer", subject_id=key.officer_id,
        data={"after": {"api_key_id": key.id, "reason": why}},
    )  # fmt: skip
    return key


def deactivate(
    session: Session, clock: Clock, actor: Actor, officer: Officer, reason: str
) -> dict[str, list[str]]:
    """Deactivate an officer at once: every API key revoked, every portal session ended, unused enrolment
    links voided. One audit event lists what was revoked."""
    why = reason_given(reason)
    if not officer.active:
        raise Conflict(f"{officer.email} is already deactivated", code="officer_inactive")
    now = clock()
    officer.active = False
    keys = list(
        session.scalars(select(ApiKey).where(ApiKey.officer_id == officer.id, ApiKey.revoked_at.is_(None)))
    )
    for key in keys:
        key.revoked_at = now
    sessions = auth.revoke_sessions(session, clock, actor, Face.PORTAL, officer.id, why)
    voided = enrolment.void(session, clock, "officer", officer.id)
    revoked = {"api_keys": [k.id for k in keys], "sessions": sessions, "enrolments": voided}
    audit.record(
        session, clock, actor, AuditAction.OFFICER_DEACTIVATE, subject_type="officer", subject_id=officer.id,
        data={"before": {"active": True}, "after": {"active": False, "reason": why, **revoked}},
    )  # fmt: skip
    return revoked
