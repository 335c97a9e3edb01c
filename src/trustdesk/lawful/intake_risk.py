"""What the intake gathers to score a request's forgery risk (``lawful/risk.py``), and what it records.

One request at a time (about 150 a day at Telegram's scale), so a few indexed queries per request: the
officer's requests of the last day, emergency requests of the last week with the same targets, and the
networks the credential has submitted from.
"""

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.authorities.models import AgencyKey, ApiKey, Officer
from trustdesk.lawful.catalogue import Catalogue, Instrument
from trustdesk.lawful.models import CredentialNetwork, LawfulRequest, RequestTarget
from trustdesk.lawful.risk import MailFacts, Risk, RiskFacts, acts_cited, assess
from trustdesk.lawful.schemas import RequestIn

__all__ = ["Origin", "network_of", "score"]


@dataclass(frozen=True)
class Origin:
    """How a request arrived: the credential (an API key's id; None on the portal, whose login has TOTP),
    the client's address, and whether it was signed with the agency's key."""

    credential_id: str | None = None
    address: str | None = None
    signed: bool = False
    mail: MailFacts | None = None
    """The e-mail or letter triage recorded the request from, and how its sender was authenticated."""


def network_of(address: str) -> str | None:
    """The network an address belongs to for this purpose: IPv4 /24, IPv6 /48; None if not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _new_network(session: Session, origin: Origin, now: datetime) -> bool:
    """Whether the credential never submitted from this network before (and remember it)."""
    if origin.credential_id is None or origin.address is None:
        return False
    network = network_of(origin.address)
    if network is None:
        return False
    if session.get(CredentialNetwork, (origin.credential_id, network)) is not None:
        return False
    session.add(CredentialNetwork(credential_id=origin.credential_id, network=network, first_seen_at=now))
    return True


def _targets_in_other_emergencies(session: Session, body: RequestIn, now: datetime) -> int:
    values = [t.value for t in body.targets]
    if not values:
        return 0
    return (
        session.scalar(
            select(func.count(func.distinct(LawfulRequest.id)))
            .join(RequestTarget, RequestTarget.request_id == LawfulRequest.id)
            .where(
                LawfulRequest.emergency.is_(True),
                LawfulRequest.received_at >= now - timedelta(days=7),
                RequestTarget.value.in_(values),
            )
        )
        or 0
    )


def score(
    session: Session,
    catalogue: Catalogue,
    instrument: Instrument,
    officer: Officer,
    body: RequestIn,
    origin: Origin,
    now: datetime,
) -> Risk:
    """The request's forgery risk, before it is recorded (its own targets are not yet counted)."""
    agency = officer.agency
    key = session.get(ApiKey, origin.credential_id) if origin.credential_id else None
    recent = session.scalar(
        select(func.count())
        .select_from(LawfulRequest)
        .where(LawfulRequest.officer_id == officer.id, LawfulRequest.received_at >= now - timedelta(days=1))
    )
    others = frozenset().union(*(acts_cited(i.legal_basis) for i in catalogue if i.code != instrument.code))
    facts = RiskFacts(
        received_at=now,
        signed=origin.signed,
        agency_signs=session.scalar(
            select(AgencyKey.id)
            .where(AgencyKey.agency_id == agency.id, AgencyKey.revoked_at.is_(None))
            .limit(1)
        )
        is not None,
        officer_created_at=officer.created_at,
        key_created_at=key.created_at if key is not None else None,
        new_network=_new_network(session, origin, now),
        agency_kind=agency.kind,
        claimed_kind=body.issuing_authority.kind,
        agency_domains=tuple(d.domain for d in agency.domains),
        contact_email=body.supervisor_contact.email if body.supervisor_contact else None,
        officer_requests_last_day=(recent or 0) + 1,
        emergency=body.emergency,
        categories=frozenset(c.value for c in body.data_categories),
        instrument_acts=acts_cited(instrument.legal_basis),
        other_instruments_acts=others,
        legal_basis=body.legal_basis or "",
        targets_in_other_emergencies=_targets_in_other_emergencies(session, body, now)
        if body.emergency
        else 0,
        callback_required_by_law=instrument.callback_verification,
        mail=origin.mail,
    )
    return assess(facts)
