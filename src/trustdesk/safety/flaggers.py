"""Trusted flaggers (DSA Art. 22): organisations a Digital Services Coordinator awarded the status, whose
notices the platform handles first and counts apart. Registered by the trust-and-safety team, each with
an API key shown once and stored as its SHA-256."""

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key
from trustdesk.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from trustdesk.lawful.catalogue import EU_MEMBER_STATES
from trustdesk.safety.models import TrustedFlagger
from trustdesk.safety.vocabulary import DsaCategory

__all__ = ["PREFIX", "authenticate", "list_flaggers", "register", "revoke"]

PREFIX = "tdf_"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def register(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    name: str,
    country: str,
    contact_email: str,
    expertise: list[DsaCategory] | list[str],
    key: str | None = None,
) -> tuple[TrustedFlagger, str]:
    """Register a trusted flagger; returns it and its API key (shown once). ``key``: the demo's only."""
    name, country, contact_email = name.strip(), country.strip().upper(), contact_email.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("a trusted flagger's name is 1-200 characters", field="name")
    if country not in EU_MEMBER_STATES:
        raise InvalidInput(
            f"{country!r} is not an EU Member State: the status is awarded by a Member State's Digital "
            "Services Coordinator (DSA Art. 22(2))",
            field="country",
        )
    if not _EMAIL.fullmatch(contact_email):
        raise InvalidInput(f"{contact_email!r} is not an e-mail address", field="contact_email")
    try:
        areas = sorted({DsaCategory(c) for c in expertise})
    except ValueError as exc:
        raise InvalidInput(str(exc), field="expertise") from None
    if not areas:
        raise InvalidInput("name at least one area of expertise (a DSA category)", field="expertise")
    if session.scalar(select(TrustedFlagger.id).where(TrustedFlagger.name == name)) is not None:
        raise Conflict(f"a trusted flagger named {name!r} is registered", field="name")
    key = key or PREFIX + secrets.token_urlsafe(32)
    flagger = TrustedFlagger(
        name=name,
        country=country,
        contact_email=contact_email,
        expertise=[a.value for a in areas],
        key_hash=hash_api_key(key),
        created_at=clock(),
    )
    session.add(flagger)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.FLAGGER_CREATE, subject_type="trusted_flagger",
        subject_id=flagger.id, data={"name": name, "country": country, "expertise": flagger.expertise},
    )  # fmt: skip
    return flagger, key


def revoke(session: Session, clock: Clock, actor: Actor, flagger_id: str) -> TrustedFlagger:
    """The status was suspended or revoked (Art. 22(6), (7)): its key stops working, its notices stay."""
    flagger = session.get(TrustedFlagger, flagger_id)
    if flagger is None or flagger.revoked_at is not None:
        raise NotFound(f"no active trusted flagger {flagger_id}", field="flagger")
    flagger.revoked_at = clock()
    audit.record(
        session, clock, actor, AuditAction.FLAGGER_REVOKE, subject_type="trusted_flagger",
        subject_id=flagger.id, data={"name": flagger.name},
    )  # fmt: skip
    return flagger


def authenticate(session: Session, key: str) -> TrustedFlagger:
    """The active trusted flagger holding ``key``; Unauthenticated otherwise."""
    flagger = session.scalar(
        select(TrustedFlagger).where(
            TrustedFlagger.key_hash == hash_api_key(key), TrustedFlagger.revoked_at.is_(None)
        )
    )
    if flagger is None:
        raise Unauthenticated("not an active trusted flagger's key", code="bad_flagger_key")
    return flagger


def list_flaggers(session: Session) -> list[TrustedFlagger]:
    return list(session.scalars(select(TrustedFlagger).order_by(TrustedFlagger.name)))
