"""Forged requests end with no disclosure and an explanation; a lawful emergency from an established agency
is not slowed beyond the callback rule. On SQLite and PostgreSQL, through the API as an attacker sends them.

Each scenario is one that really happened or was warned of (reference/legal-instruments.md, "How real
platforms answer"): a forged emergency from a compromised mailbox naming the forger's number as supervisor,
a stolen key used from a new network, an emergency whose legal basis is not the instrument's, a police unit
claiming to be a court.
"""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import CHECK, bearer, epoc, officer_key
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from tests.signing import register
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import Agency, AgencyDomain, Officer
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.errors import Forbidden
from trustdesk.lawful.execution import download_production
from trustdesk.lawful.models import LawfulRequest, Production
from trustdesk.lawful.package import generate_age_identity
from trustdesk.vocabulary import IssuerKind
from trustdesk.web.app import create_app

US_DOMAIN = "sao.sangamon.example.gov"
DIRECTORY = "Illinois State's Attorneys directory, Sangamon County main line"


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def us_emergency(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instrument": "US_EMERGENCY",
        "reference": "SPD-2026-881",
        "emergency": True,
        "emergency_justification": "A hostage is held; the caller used this account an hour ago.",
        "issuing_authority": {
            "name": "Sangamon County State's Attorney",
            "kind": "prosecutor",
            "country": "US",
        },
        "legal_basis": "18 U.S.C. § 2702(c)(4): emergency involving danger of death or serious injury",
        "targets": [{"type": "phone", "value": SUSPECT_PHONE}],
        "data_categories": ["subscriber"],
        "supervisor_contact": {
            "name": "Lt. Ann Cole",
            "email": f"a.cole@{US_DOMAIN}",
            "phone": "+12175550100",
        },
    }
    return body | changes


def us_key(world: World, sessions: sessionmaker[Session], **options: Any) -> str:
    """An established US prosecutor's office with its age recipient registered."""
    key = officer_key(
        sessions, world.clock, country="US", kind=IssuerKind.PROSECUTOR, domain=US_DOMAIN, **options
    )
    with unit_of_work(sessions) as session:
        agency = session.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == US_DOMAIN)).one()
        authorities.set_recipient(session, world.clock, Actor.operator(), agency, generate_age_identity()[1])
        authorities.verify_agency(session, world.clock, Actor.operator(), agency, CHECK)
    return key


def stored(sessions: sessionmaker[Session], tracking: str) -> LawfulRequest:
    with sessions() as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        session.expunge(request)
        return request


def rules(sessions: sessionmaker[Session], tracking: str) -> list[str]:
    return [r["code"] for r in stored(sessions, tracking).risk_reasons or []]


def comply(world: World, tracking: str, categories: list[str], justification: str | None = None) -> None:
    body: dict[str, Any] = {"outcome": "comply", "categories": categories}
    world.act(
        world.reviewer, tracking, "decide", body | ({"justification": justification} if justification else {})
    )


def productions(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(Production)).all())


def test_a_forged_us_emergency_naming_the_forgers_number_is_never_disclosed(
    world: World, sessions: sessionmaker[Session]
) -> None:
    """2022: compromised police mailboxes sent forged emergency requests; the "supervisor" was the forger."""
    key = us_key(world, sessions)
    forger = {"name": "ASA J. Doe", "email": "j.doe@sangamon-sao.example.net", "phone": "+12175550199"}
    tracking = world.submit(us_emergency(supervisor_contact=forger), key)
    held = world.view(tracking)["review"]["verification"]
    assert held["held_for_callback"] is True
    assert "contact_domain_mismatch" in [r["code"] for r in held["risk_reasons"]]
    comply(world, tracking, ["subscriber"])

    refused = world.staff(world.approver, "POST", f"/{tracking}/approve", json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "callback_required"
    assert "directory number" in refused.json()["detail"]
    calling_the_forger = world.staff(
        world.reviewer, "POST", f"/{tracking}/callback",
        json={"number": "+1 217 555 0199", "directory": "the request", "person_reached": "ASA J. Doe",
              "confirmed": True, "note": "He confirmed."},
    )  # fmt: skip
    assert calling_the_forger.status_code == 422
    assert calling_the_forger.json()["code"] == "number_from_request"

    failed = world.act(
        world.reviewer, tracking, "callback",
        {"number": "+1 217 555 0000", "directory": DIRECTORY, "person_reached": "Lt. Ann Cole",
         "confirmed": False, "note": "No such request; no ASA Doe in this office."},
    )  # fmt: skip
    assert failed["request"]["status"] == "refused"
    assert productions(sessions) == 0
    locked = world.client.get("/api/v1/requests", headers=bearer(key))
    assert locked.status_code == 401  # the agency's keys are revoked, its officers deactivated
    with sessions() as session:
        agency = session.scalars(
            select(Agency).join(Officer).where(Officer.email == f"officer@{US_DOMAIN}")
        ).one()
        assert agency.verified is False
        incident = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "security:incident:raise")
        ).one()
        assert incident.data["after"]["request"] == tracking


def test_a_lawful_us_emergency_is_disclosed_once_the_directory_callback_confirms_it(
    world: World, sessions: sessionmaker[Session]
) -> None:
    key = us_key(world, sessions)
    tracking = world.submit(us_emergency(), key)
    verification = world.view(tracking)["review"]["verification"]
    assert verification["held_for_callback"] is True  # the law's rule, whatever the score
    assert verification["risk_score"] < 40
    comply(world, tracking, ["subscriber"])
    world.act(
        world.reviewer, tracking, "callback",
        {"number": "+1 217 555 0000", "directory": DIRECTORY, "person_reached": "Lt. Ann Cole",
         "confirmed": True, "note": "Confirmed the request and the hostage situation."},
    )  # fmt: skip
    assert world.act(world.approver, tracking, "approve")["request"]["status"] == "approved"
    assert world.act(world.reviewer, tracking, "execute")["request"]["status"] == "executing"
    assert productions(sessions) == 1


def test_a_stolen_key_used_from_a_new_network_for_content_in_an_emergency_is_held(
    world: World, sessions: sessionmaker[Session], container: Container
) -> None:
    """A key stolen from a French judge, used from elsewhere, asking for messages in an "emergency"."""
    body = epoc(reference="PJ-2026-9001", data_categories=["subscriber", "identification", "content"])
    body |= {"legal_basis": "Code pénal, art. 434-15-2"}  # not the e-Evidence Regulation it invokes
    with TestClient(create_app(container), client=("198.51.100.23", 41000)) as stranger:
        first = stranger.post(
            "/api/v1/requests", json=epoc(reference="PJ-2026-9000"), headers=bearer(world.fr_key)
        )
        assert first.status_code == 201
        response = stranger.post("/api/v1/requests", json=body, headers=bearer(world.fr_key))
    assert response.status_code == 201
    tracking = response.json()["tracking_number"]
    fired = rules(sessions, tracking)
    assert {"emergency_content", "legal_basis_inconsistent"} <= set(fired)
    assert "new_network" in rules(sessions, first.json()["tracking_number"])  # the first use from there
    assert "new_network" not in fired  # remembered after that
    assert stored(sessions, tracking).held_for_callback is True
    reasons = world.view(tracking)["review"]["verification"]["risk_reasons"]
    assert any("does not cite the instrument's act (2023/1543)" in r["sentence"] for r in reasons)


def test_a_police_unit_claiming_to_be_a_court_is_judged_as_police_and_flagged(
    world: World, sessions: sessionmaker[Session]
) -> None:
    court = {"name": "Amtsgericht Wiesbaden", "kind": "court", "country": "DE"}
    body = epoc(
        reference="BKA-2026-3", emergency=False, issuing_authority=court,
        legal_basis="Regulation (EU) 2023/1543, Art. 5", data_categories=["traffic"],
    )  # fmt: skip
    tracking = world.submit(body, world.de_key)
    verification = world.view(tracking)["review"]["verification"]
    assert (verification["verified_kind"], verification["claimed_kind"]) == ("police", "court")
    assert "kind_claimed" in [r["code"] for r in verification["risk_reasons"]]
    recommendation = world.view(tracking)["review"]["recommendation"]
    assert recommendation["outcome"] == "refuse"  # traffic data needs a judge or prosecutor, not police
    assert recommendation["allowed_categories"] == []


def test_a_lawful_eu_emergency_from_an_established_judge_is_not_held(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc())
    request = stored(sessions, tracking)
    assert request.held_for_callback is False
    assert rules(sessions, tracking) == ["unsigned"]
    comply(world, tracking, ["subscriber", "identification"])
    world.act(world.approver, tracking, "approve")
    assert world.act(world.reviewer, tracking, "execute")["request"]["status"] == "executing"


def test_a_brand_new_officer_with_a_fresh_key_asking_for_traffic_in_an_emergency_is_held(
    world: World, sessions: sessionmaker[Session]
) -> None:
    key = officer_key(sessions, world.clock, domain="justice.fr.example", registered_days_ago=0)
    tracking = world.submit(epoc(data_categories=["subscriber", "traffic"]), key)
    assert {"officer_new", "credentials_changed", "emergency_content"} <= set(rules(sessions, tracking))
    assert stored(sessions, tracking).held_for_callback is True
    comply(world, tracking, ["subscriber", "traffic"], "The investigating judge's order covers traffic data.")
    world.act(world.approver, tracking, "approve")
    refused = world.staff(world.reviewer, "POST", f"/{tracking}/execute", json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "callback_required"
    assert productions(sessions) == 0


def test_de_verifying_an_agency_stops_its_reads_and_downloads_at_once(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc())
    comply(world, tracking, ["subscriber", "identification"])
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    production = f"/api/v1/requests/{tracking}/production"
    assert world.client.get(production, headers=bearer(world.fr_key)).status_code == 200
    with unit_of_work(sessions) as session:
        agency = session.scalars(
            select(AgencyDomain.agency_id).where(AgencyDomain.domain == "justice.fr")
        ).one()
        authorities.unverify_agency(
            session, world.clock, Actor.operator(), agency, "its mailbox was compromised"
        )
    for path in (production, f"/api/v1/requests/{tracking}", "/api/v1/requests"):
        refused = world.client.get(path, headers=bearer(world.fr_key))
        assert refused.status_code == 403, path
        assert refused.json()["code"] == "agency_not_verified"
    with sessions() as session:
        officer = session.scalars(select(Officer).where(Officer.email == "officer@justice.fr")).one()
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        with pytest.raises(Forbidden, match="no longer verified"):
            download_production(session, world.clock, officer, request)  # the portal's path too


def test_a_replayed_signature_of_a_lawful_emergency_is_refused_and_discloses_nothing(
    world: World, sessions: sessionmaker[Session]
) -> None:
    """A signed emergency captured on its way (a proxy's log, a compromised mailbox's copy) and sent again
    with the officer's stolen key, as it is, a little later, and with the target changed: every replay is
    refused with 401 and says why, and nothing is recorded or disclosed."""
    signer = register(sessions, world.clock, "justice.fr", "fr-justice-2026-01")
    body, headers = signer.json("/api/v1/requests", epoc(), created=world.clock())
    lawful = world.client.post("/api/v1/requests", content=body, headers=headers | bearer(world.fr_key))
    assert lawful.status_code == 201, lawful.text
    assert stored(sessions, lawful.json()["tracking_number"]).signed is True

    attacker_app = create_app(world.container)
    with TestClient(attacker_app, base_url="https://testserver", client=("198.51.100.23", 41000)) as attacker:
        replayed = attacker.post("/api/v1/requests", content=body, headers=headers | bearer(world.fr_key))
        retargeted = attacker.post(
            "/api/v1/requests",
            content=body.replace(SUSPECT_PHONE.encode(), b"+33698765432"),
            headers=headers | bearer(world.fr_key),
        )
        world.clock.advance(timedelta(minutes=6))
        late = attacker.post("/api/v1/requests", content=body, headers=headers | bearer(world.fr_key))
    assert (replayed.status_code, replayed.json()["code"]) == (401, "signature_replayed")
    assert "already used" in replayed.json()["detail"]
    assert (retargeted.status_code, retargeted.json()["code"]) == (401, "signature_invalid")
    assert "Content-Digest does not match" in retargeted.json()["detail"]
    assert (late.status_code, late.json()["code"]) == (401, "signature_expired")
    with sessions() as session:
        assert len(session.scalars(select(LawfulRequest)).all()) == 1  # only the lawful one
    assert productions(sessions) == 0


def test_a_stolen_api_key_of_an_agency_that_signs_sent_unsigned_is_held_and_discloses_nothing(
    world: World, sessions: sessionmaker[Session]
) -> None:
    """The impostor has the officer's API key but not the agency's signing key, and leaves the signature
    off: the agency signs its requests, so the unsigned one is held for a callback on that alone."""
    register(sessions, world.clock, "justice.fr", "fr-justice-2026-02")
    response = world.client.post("/api/v1/requests", json=epoc(), headers=bearer(world.fr_key))
    assert response.status_code == 201, response.text
    tracking = response.json()["tracking_number"]
    assert rules(sessions, tracking) == ["unsigned", "unsigned_but_agency_signs"]
    assert stored(sessions, tracking).held_for_callback is True
    reasons = world.view(tracking)["review"]["verification"]["risk_reasons"]
    assert any("stolen API key" in r["sentence"] for r in reasons)
    comply(world, tracking, ["subscriber", "identification"])
    world.act(world.approver, tracking, "approve")  # the decision is sound; its requester is not yet known
    refused = world.staff(world.reviewer, "POST", f"/{tracking}/execute", json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "callback_required"
    assert productions(sessions) == 0
