"""Factories for test data, per domain; each commits through a unit of work like a real entry point."""

import io
from datetime import datetime, timedelta
from typing import Any

from pypdf import PdfWriter
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.clock import Clock
from trustdesk.db import unit_of_work
from trustdesk.vocabulary import IssuerKind


def _one_page_pdf() -> bytes:
    """A real, one-page PDF (the intake parses every document)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Order of the investigating judge"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = _one_page_pdf()


def officer_key(
    sessions: sessionmaker[Session],
    clock: Clock,
    *,
    country: str = "FR",
    kind: IssuerKind = IssuerKind.INVESTIGATING_JUDGE,
    domain: str = "justice.fr",
    verified: bool = True,
    email: str | None = None,
    registered_days_ago: int = 30,
) -> str:
    """Create an agency with one officer, registered ``registered_days_ago`` (an established officer: a
    brand-new account or key counts toward a request's forgery risk); return the officer's API key."""

    def then() -> datetime:
        return clock() - timedelta(days=registered_days_ago)

    with unit_of_work(sessions) as session:
        agency = authorities.create_agency(
            session,
            then,
            Actor.operator(),
            name=f"Test agency {domain}",
            country=country,
            kind=kind,
            domains=[domain],
        )
        new = authorities.add_officer(
            session,
            then,
            Actor.operator(),
            agency_id=agency.id,
            name="Test Officer",
            email=email or f"officer@{domain}",
        )
        if verified:
            authorities.verify_agency(session, then, Actor.operator(), agency.id, CHECK)
        return new.api_key


CHECK = authorities.AgencyCheck(
    number="+33 1 44 32 50 50",
    directory="annuaire.justice.gouv.fr",
    person_reached="Greffe, duty clerk",
    note="Confirmed the agency, its domain and its officer.",
)
"""A recorded out-of-band check, as staff record it when verifying an agency."""


def epoc(**overrides: Any) -> dict[str, Any]:
    """A valid emergency EPOC from a French investigating judge, as in the issue."""
    body: dict[str, Any] = {
        "instrument": "EU_EPOC",
        "reference": "PJ-2026-0042",
        "emergency": True,
        "emergency_justification": "Imminent threat to the life of a missing minor.",
        "issuing_authority": {
            "name": "Juge d'instruction, Tribunal judiciaire de Paris",
            "kind": "investigating_judge",
            "country": "FR",
        },
        "legal_basis": "Regulation (EU) 2023/1543, Art. 5; CPP art. 99-3",
        "offence": {"description": "Kidnapping of a minor", "max_penalty_years": 20},
        "targets": [{"type": "phone", "value": "+33612345678"}],
        "data_categories": ["subscriber", "identification"],
        "period": {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        "confidential_until": None,
    }
    body.update(overrides)
    return body


def tco(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instrument": "EU_TCO_REMOVAL",
        "reference": "TCO-DE-2026-17",
        "issuing_authority": {"name": "Bundeskriminalamt", "kind": "police", "country": "DE"},
        "legal_basis": "Regulation (EU) 2021/784, Art. 3",
        "statement_of_reasons": "The message glorifies a terrorist attack and calls for further attacks.",
        "redress_information": "Challenge before the Verwaltungsgericht Wiesbaden within one month.",
        "targets": [{"type": "content_url", "value": "ref://chat/c1/message/m1"}],
    }
    body.update(overrides)
    return body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
