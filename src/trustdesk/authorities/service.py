"""Use cases for agencies and officers. Services never commit: the entry point owns the transaction."""

import re
from dataclasses import dataclass

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities import notices
from trustdesk.authorities.models import Agency, AgencyDomain, AgencyKey, AgencySupervisor, ApiKey, Officer
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key, new_api_key
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from trustdesk.vocabulary import IssuerKind

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@([A-Za-z0-9.-]{1,253})$")


def normalise_country(country: str) -> str:
    code = country.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidInput(f"{country!r} is not an ISO 3166-1 alpha-2 country code", field="country")
    return code


def normalise_domain(domain: str) -> str:
    name = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(name):
        raise InvalidInput(f"{domain!r} is not a valid e-mail domain", field="domains")
    return name


def email_domain(email: str, field: str = "email") -> str:
    match = _EMAIL.match(email.strip())
    if not match:
        raise InvalidInput(f"{email!r} is not a valid e-mail address", field=field)
    return match.group(1).lower()


def domain_belongs(domain: str, official: list[str]) -> bool:
    """An address belongs to an official domain or one of its subdomains."""
    return any(domain == d or domain.endswith("." + d) for d in official)


def create_agency(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    name: str,
    country: str,
    kind: IssuerKind | str,
    domains: list[str],
    check: "AgencyCheck | None" = None,
) -> Agency:
    """Register an agency; it is verified only with the out-of-band ``check`` that verified it (a call to
    a number from an official directory), else it starts unverified."""
    if not name.strip():
        raise InvalidInput("an agency needs a name", field="name")
    try:
        kind = IssuerKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in IssuerKind)
        raise InvalidInput(f"unknown agency kind {kind!r}; one of {allowed}", field="kind") from None
    names = sorted({normalise_domain(d) for d in domains})
    if not names:
        raise InvalidInput("an agency needs at least one official e-mail domain", field="domains")
    taken = session.scalars(select(AgencyDomain.domain).where(AgencyDomain.domain.in_(names))).all()
    if taken:
        raise Conflict(f"domain {taken[0]} already belongs to another agency", field="domains")
    agency = Agency(
        name=name.strip(),
        country=normalise_country(country),
        kind=kind,
        verified=False,
        created_at=clock(),
        domains=[AgencyDomain(domain=d) for d in names],
    )
    session.add(agency)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.AGENCY_CREATE,
        subject_type="agency",
        subject_id=agency.id,
        data={
            "after": {
                "name": agency.name,
                "country": agency.country,
                "kind": kind.value,
                "domains": names,
                "verified": False,
            }
        },
    )
    if check is not None:
        verify_agency(session, clock, actor, agency.id, check)
    return agency


def get_agency(session: Session, agency_id: str) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(f"no agency {agency_id}", field="authority")
    return agency


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.country, Agency.name)))


@dataclass(frozen=True)
class AgencyCheck:
    """How staff verified an agency out of band: the number called, where it was found (an official
    directory, never what the agency sent), who confirmed, and what."""

    number: str
    directory: str
    person_reached: str
    note: str


_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{5,38}")


def _registered(session: Session, agency: Agency) -> dict[str, object]:
    """What a verification vouches for: re-verification is needed when any of it changes."""
    officers = session.scalars(select(Officer.email).where(Officer.agency_id == agency.id, Officer.active))
    keys = session.scalars(
        select(AgencyKey.key_id).where(AgencyKey.agency_id == agency.id, AgencyKey.revoked_at.is_(None))
    )
    supervisors = session.execute(
        select(AgencySupervisor.name, AgencySupervisor.phone).where(
            AgencySupervisor.agency_id == agency.id, AgencySupervisor.removed_at.is_(None)
        )
    )
    return {
        "kind": agency.kind.value,
        "domains": agency.domain_names,
        "officers": sorted(officers),
        "age_recipient": agency.age_recipient,
        "signing_keys": sorted(keys),
        "supervisors": sorted(f"{name} {phone}" for name, phone in supervisors),
    }


def _last_change_by(session: Session, agency: Agency) -> str | None:
    """Who changed the agency's encryption recipient since it was last verified, if anyone."""
    from trustdesk.audit.models import AuditEvent

    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject_type == "agency",
            AuditEvent.subject_id == agency.id,
            AuditEvent.action.in_([AuditAction.AGENCY_VERIFY.value, AuditAction.AGENCY_SET_RECIPIENT.value]),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(50)
    )
    for event in events:
        if event.action == AuditAction.AGENCY_SET_RECIPIENT.value:
            return event.actor_id
        if event.data.get("after", {}).get("verified") is True:
            return None  # verified since the last change
    return None


def verify_agency(session: Session, clock: Clock, actor: Actor, agency_id: str, check: AgencyCheck) -> Agency:
    """Verify an agency on a recorded out-of-band check. A changed encryption recipient is verified by a
    different person than the one who changed it (four eyes: an insider cannot swap the key alone)."""
    agency = get_agency(session, agency_id)
    if not _PHONE.fullmatch(check.number.strip()):
        raise InvalidInput(f"{check.number!r} is not a telephone number", field="number")
    for field, value in (("directory", check.directory), ("person_reached", check.person_reached)):
        if not value.strip():
            raise InvalidInput(f"say {field.replace('_', ' ')}", field=field)
    if not check.note.strip():
        raise InvalidInput("say what the call established", field="note")
    changed_by = _last_change_by(session, agency)
    if changed_by is not None and actor.kind is not ActorKind.OPERATOR and changed_by == actor.id:
        raise Forbidden(
            "four eyes: you changed this agency's encryption recipient; another person verifies it",
            code="four_eyes",
        )
    before = agency.verified
    agency.verified = True
    recorded = {
        "number": check.number.strip(), "directory": check.directory.strip(),
        "person_reached": check.person_reached.strip(), "note": check.note.strip(),
    }  # fmt: skip
    audit.record(
        session, clock, actor, AuditAction.AGENCY_VERIFY, subject_type="agency", subject_id=agency.id,
        data={"before": {"verified": before},
              "after": {"verified": True, "registered": _registered(session, agency), "check": recorded}},
    )  # fmt: skip
    return agency


def unverify_agency(session: Session, clock: Clock, actor: Actor, agency_id: str, reason: str) -> Agency:
    """Withdraw an agency's verification: its officers can neither submit nor read from now on."""
    if not reason.strip():
        raise InvalidInput("say why the verification is withdrawn", field="reason")
    agency = get_agency(session, agency_id)
    lapse(session, clock, actor, agency, reason.strip())
    return agency


def lapse(session: Session, clock: Clock, actor: Actor, agency: Agency, reason: str) -> None:
    """Withdraw a verification because what it vouched for changed (`_registered`): staff verify again."""
    if not agency.verified:
        return
    agency.verified = False
    audit.record(
        session, clock, actor, AuditAction.AGENCY_VERIFY, subject_type="agency", subject_id=agency.id,
        data={"before": {"verified": True}, "after": {"verified": False, "reason": reason}},
    )  # fmt: skip


@dataclass(frozen=True)
class NewOfficer:
    officer: Officer
    api_key: str  # shown once


def add_officer(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    agency_id: str,
    name: str,
    email: str,
    api_key: str | None = None,
) -> NewOfficer:
    agency = get_agency(session, agency_id)
    if not name.strip():
        raise InvalidInput("an officer needs a name", field="name")
    domain = email_domain(email)
    if not domain_belongs(domain, agency.domain_names):
        raise InvalidInput(
            f"{email} is not on one of {agency.name}'s official domains ({', '.join(agency.domain_names)})",
            field="email",
        )
    address = email.strip().lower()
    if session.scalar(select(Officer.id).where(Officer.email == address)):
        raise Conflict(f"an officer with e-mail {address} already exists", field="email")
    officer = Officer(agency_id=agency.id, name=name.strip(), email=address, active=True, created_at=clock())
    session.add(officer)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.OFFICER_CREATE,
        subject_type="officer",
        subject_id=officer.id,
        data={"after": {"agency_id": agency.id, "name": officer.name, "email": address}},
    )
    lapse(session, clock, actor, agency, f"officer {officer.email} added: verify the agency again")
    return NewOfficer(officer, issue_api_key(session, clock, actor, officer, api_key))


def issue_api_key(
    session: Session, clock: Clock, actor: Actor, officer: Officer, key: str | None = None
) -> str:
    """Issue a key for an officer; only its hash is stored. ``key`` lets the demo use derived keys."""
    plaintext = key or new_api_key()
    record = ApiKey(officer_id=officer.id, key_hash=hash_api_key(plaintext), created_at=clock())
    session.add(record)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.API_KEY_ISSUE,
        subject_type="officer",
        subject_id=officer.id,
        data={"after": {"api_key_id": record.id}},
    )
    return plaintext


def authenticate(session: Session, api_key: str) -> Officer:
    """The active officer holding this key, or Unauthenticated."""
    return authenticate_key(session, api_key).officer


def authenticate_key(session: Session, api_key: str) -> ApiKey:
    """The live key of an active officer of a verified agency: else Unauthenticated (unknown, revoked or
    deactivated) or Forbidden (the agency is no longer verified: its officers read nothing either)."""
    found = session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_api_key(api_key), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if found is None or not found.officer.active:
        raise Unauthenticated("the API key is unknown or revoked")
    if not found.officer.agency.verified:
        raise Forbidden(
            f"{found.officer.agency.name} is not verified: its officers can neither submit nor read",
            code="agency_not_verified",
        )
    return found


def find_officer(session: Session, email: str) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.email == email.strip().lower()))


def set_recipient(session: Session, clock: Clock, actor: Actor, agency_id: str, recipient: str) -> Agency:
    """Register the age (X25519) recipient that the agency's productions are encrypted to."""
    from trustdesk.lawful.package import is_age_recipient

    if not is_age_recipient(recipient.strip()):
        raise InvalidInput(f"{recipient!r} is not an age X25519 recipient (age1...)", field="recipient")
    agency = get_agency(session, agency_id)
    before = agency.age_recipient
    if before == recipient.strip():
        return agency
    agency.age_recipient = recipient.strip()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.AGENCY_SET_RECIPIENT,
        subject_type="agency",
        subject_id=agency.id,
        data={"before": {"age_recipient": before}, "after": {"age_recipient": agency.age_recipient}},
    )
    lapse(session, clock, actor, agency, "the encryption recipient changed: verify it again")
    notices.notify(
        session, clock, actor, agency, notices.RECIPIENT_CHANGED,
        f"The key that {agency.name}'s productions are encrypted to was changed on "
        f"{clock():%Y-%m-%d %H:%M} UTC, from {before or 'none'} to {agency.age_recipient}. Productions are "
        "encrypted to it only after a second person at the platform has verified the change with you by "
        "telephone. If your agency did not ask for this change, tell the platform at once.",
    )  # fmt: skip
    return agency
