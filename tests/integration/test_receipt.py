"""Every request is acknowledged and answered (issue 9, item 1), on SQLite and PostgreSQL.

A well-formed submission that names an instrument the law does not make available to the authority, or
one the platform's policy does not recognise for its country, or that comes from a jurisdiction the
platform left, gets a tracking number, is refused at once with the recorded ground and a written answer
naming the instruments that would be valid, and counts for the transparency reports. Only malformed input
gets a 4xx without a record.
"""

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc, officer_key, tco
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.lawful.models import Correspondence, LawfulRequest, LegalWindow
from trustdesk.lawful.vocabulary import FirstOrderNotice, ValidationStatus, WindowKind
from trustdesk.policy.rules import Contact
from trustdesk.vocabulary import IssuerKind

URL = "/api/v1/requests"


def stored(sessions: sessionmaker[Session], tracking: str) -> LawfulRequest:
    with sessions() as s:
        request = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        s.expunge(request)
        return request


def answers(sessions: sessionmaker[Session], request_id: str) -> list[Correspondence]:
    with sessions() as s:
        found = list(s.scalars(select(Correspondence).where(Correspondence.request_id == request_id)))
        s.expunge_all()
        return found


def refused_on_receipt(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, key: str, body: dict[str, Any]
) -> tuple[dict[str, Any], LawfulRequest, str]:
    response = client.post(URL, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["tracking_number"].startswith("TD-2026-")
    assert out["status"] == "refused"
    assert out["outcome"] == "refuse"
    request = stored(sessions, out["tracking_number"])
    assert request.answered_at == clock.now
    [answer] = answers(sessions, request.id)
    assert answer.kind == "cannot_comply"
    assert answer.direction == "to_authority"
    assert out["correspondence"][0]["body"] == answer.body
    with sessions() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == request.id).order_by(AuditEvent.seq)
        ).all()
    assert actions[:2] == ["lawful:request:receive", "lawful:request:transition"]
    return out, request, answer.body


def test_a_french_police_unit_sending_a_us_subpoena_is_recorded_and_refused_as_not_applicable(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, kind=IssuerKind.POLICE, domain="police.fr")
    body = {
        "instrument": "US_SUBPOENA",
        "reference": "PN-2026-7",
        "issuing_authority": {"name": "Police nationale", "kind": "police", "country": "FR"},
        "legal_basis": "18 U.S.C. 2703(c)(2)",
        "targets": [{"type": "username", "value": "@suspect"}],
        "data_categories": ["subscriber"],
    }
    out, request, text = refused_on_receipt(client, sessions, clock, key, body)
    assert out["grounds"] == ["instrument_not_applicable"]
    assert request.receipt_ground == "instrument_not_applicable"
    assert "US_SUBPOENA" in text
    assert "EU_EPOC" in text  # the answer names an instrument a French authority may use
    assert "US_WARRANT" not in text


def test_a_danish_epoc_is_refused_as_not_applicable_because_regulation_2023_1543_does_not_bind_denmark(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="DK", kind=IssuerKind.COURT, domain="domstol.dk")
    body = epoc(issuing_authority={"name": "Københavns Byret", "kind": "court", "country": "DK"})
    out, _, text = refused_on_receipt(client, sessions, clock, key, body)
    assert out["grounds"] == ["instrument_not_applicable"]
    assert "EU_EPOC" in text
    assert "NATIONAL_COURT_ORDER" in text  # Denmark's own orders


def test_a_uk_authority_sending_a_tco_removal_order_is_refused_as_not_applicable_reg_2021_784(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="GB", kind=IssuerKind.POLICE, domain="met.police.uk")
    body = tco(issuing_authority={"name": "Metropolitan Police", "kind": "police", "country": "GB"})
    out, _, text = refused_on_receipt(client, sessions, clock, key, body)
    assert out["grounds"] == ["instrument_not_applicable"]
    assert "recognises no instrument of this kind" in text  # no removal order from GB in the policy


@pytest.mark.skipif(
    "country" not in {f.name for f in fields(Contact)}, reason="needs the contacts' country (worker A)"
)
def test_an_epoc_from_the_member_state_of_the_legal_representative_is_a_national_order_art_1_1(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(
        sessions, clock, country="BE", kind=IssuerKind.INVESTIGATING_JUDGE, domain="just.fgov.be"
    )
    body = epoc(
        issuing_authority={
            "name": "Juge d'instruction, Bruxelles",
            "kind": "investigating_judge",
            "country": "BE",
        }
    )
    out, _, text = refused_on_receipt(client, sessions, clock, key, body)
    assert out["grounds"] == ["instrument_not_applicable"]
    assert "NATIONAL_COURT_ORDER" in text


def test_an_order_from_an_exited_jurisdiction_is_recorded_and_refused(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="RU", kind=IssuerKind.COURT, domain="sudrf.ru")
    body = {
        "instrument": "NATIONAL_COURT_ORDER",
        "reference": "RU-1",
        "issuing_authority": {"name": "Tverskoy District Court", "kind": "court", "country": "RU"},
        "legal_basis": "Federal Law No. 149-FZ",
        "statement_of_reasons": "x",
        "targets": [{"type": "username", "value": "@someone"}],
        "data_categories": ["subscriber"],
    }
    response = client.post(URL, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "refused"
    assert response.json()["grounds"] == ["jurisdiction_exited"]


def test_a_refused_request_is_visible_to_its_agency_and_counted(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="GB", kind=IssuerKind.POLICE, domain="met.police.uk")
    body = tco(issuing_authority={"name": "Metropolitan Police", "kind": "police", "country": "GB"})
    tracking = client.post(URL, json=body, headers=bearer(key)).json()["tracking_number"]
    again = client.get(f"{URL}/{tracking}", headers=bearer(key)).json()
    assert again["status"] == "refused"
    assert again["grounds"] == ["instrument_not_applicable"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LawfulRequest)) == 1


def test_an_incomplete_order_is_recorded_for_the_engine_to_ask_what_is_missing_f1(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock)
    response = client.post(URL, json=epoc(offence=None), headers=bearer(key))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "acknowledged"


def test_an_emergency_claimed_on_an_instrument_without_an_emergency_track_is_recorded_e2(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    response = client.post(URL, json=tco(emergency=True, emergency_justification="now"), headers=bearer(key))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "acknowledged"
    assert out["emergency"] is True
    assert datetime.fromisoformat(out["due_at"]) == clock.now + timedelta(hours=1)  # the standard hour


def test_targets_of_the_wrong_type_are_a_contradiction_and_get_a_422_without_a_record(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    response = client.post(
        URL, json=tco(targets=[{"type": "username", "value": "someone"}]), headers=bearer(key)
    )
    assert response.status_code == 422
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LawfulRequest)) == 0


# --- validation, offence facts, TCO notice and confidentiality (items 5, 6, 9, 11) --------------------


def test_a_validated_police_epoc_records_its_validator_art_4_1_b(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, kind=IssuerKind.POLICE, domain="police.fr")
    body = epoc(
        emergency=False,
        emergency_justification=None,
        issuing_authority={"name": "OFMIN", "kind": "police", "country": "FR"},
        validation={
            "authority": {"name": "Parquet de Paris", "kind": "prosecutor"},
            "validated_at": (clock.now - timedelta(hours=2)).isoformat(),
        },
        offence={
            "description": "Ransomware attack on a hospital",
            "max_penalty_years": 5,
            "listed_offence": None,
            "by_information_system": True,
            "sentence_months": None,
            "committed_in_issuing_state": True,
            "person_resides_in_issuing_state": True,
        },
    )
    response = client.post(URL, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    request = stored(sessions, response.json()["tracking_number"])
    assert request.validation_status is ValidationStatus.VALIDATED
    assert request.validator_kind is IssuerKind.PROSECUTOR
    assert request.validator_name == "Parquet de Paris"
    assert request.validated_at == clock.now - timedelta(hours=2)
    assert request.by_information_system is True
    assert request.offence_in_issuing_state is True
    assert request.person_resides_in_issuing_state is True
    assert request.target_at == request.due_at


@pytest.mark.skipif(
    not hasattr(__import__("trustdesk.lawful.catalogue", fromlist=["Instrument"]).Instrument, "validation"),
    reason="needs the catalogue's validation rule (worker A)",
)
def test_an_emergency_police_epoc_without_validation_opens_a_48_hour_validation_window_art_4_5(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, kind=IssuerKind.POLICE, domain="police.fr")
    body = epoc(issuing_authority={"name": "OFMIN", "kind": "police", "country": "FR"})
    response = client.post(URL, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    request = stored(sessions, response.json()["tracking_number"])
    assert request.validation_status is ValidationStatus.PENDING
    with sessions() as s:
        window = s.scalars(select(LegalWindow).where(LegalWindow.request_id == request.id)).one()
    assert window.kind is WindowKind.VALIDATION
    assert window.due_at == clock.now + timedelta(hours=48)


def test_a_custodial_sentence_order_records_its_months_art_5_3(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock)
    offence = {"description": "Fraud", "max_penalty_years": 5, "sentence_months": 6}
    response = client.post(URL, json=epoc(offence=offence), headers=bearer(key))
    assert response.status_code == 201, response.text
    assert stored(sessions, response.json()["tracking_number"]).sentence_months == 6


@pytest.mark.skipif(
    not hasattr(
        __import__("trustdesk.lawful.catalogue", fromlist=["Instrument"]).Instrument, "confidentiality"
    ),
    reason="needs the catalogue's confidentiality rule (worker A)",
)
def test_tco_confidentiality_beyond_six_weeks_is_refused_art_11_3(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    too_long = (clock.now + timedelta(weeks=6, seconds=1)).isoformat()
    response = client.post(URL, json=tco(confidential_until=too_long), headers=bearer(key))
    assert response.status_code == 422
    assert response.json()["field"] == "confidential_until"
    six_weeks = (clock.now + timedelta(weeks=6)).isoformat()
    assert client.post(URL, json=tco(confidential_until=six_weeks), headers=bearer(key)).status_code == 201


def test_a_tco_order_with_a_territorial_scope_is_accepted_art_3_3(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    response = client.post(URL, json=tco(territorial_scope=["DE"]), headers=bearer(key))
    assert response.status_code == 201, response.text


@pytest.mark.skipif(
    not hasattr(
        __import__("trustdesk.lawful.catalogue", fromlist=["Instrument"]).Instrument, "first_order_notice"
    ),
    reason="needs the catalogue's first-order notice (worker A)",
)
def test_the_12_hour_notice_before_a_first_tco_order_is_recorded_art_3_2(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    first = client.post(URL, json=tco(), headers=bearer(key)).json()["tracking_number"]
    second = client.post(URL, json=tco(reference="TCO-2"), headers=bearer(key)).json()["tracking_number"]
    assert stored(sessions, first).tco_first_order_notice is FirstOrderNotice.NOT_GIVEN
    assert stored(sessions, second).tco_first_order_notice is FirstOrderNotice.NOT_FIRST
    other = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="lka.bayern.de")
    urgent = tco(emergency=True, emergency_justification="attack under way")
    emergency = client.post(URL, json=urgent, headers=bearer(other)).json()["tracking_number"]
    assert stored(sessions, emergency).tco_first_order_notice is FirstOrderNotice.EMERGENCY
