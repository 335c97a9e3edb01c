"""Review against the law (issue 9): the facts the engine decides on, and what a clarification pauses.

On SQLite and PostgreSQL, from stored requests and the reference platform.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc, officer_key
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful import enforcing
from trustdesk.lawful import facts as facts_module
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.lawful.conflicts import conflict_register
from trustdesk.lawful.models import Decision, LawfulRequest, LegalWindow, PrincipleConflict, RequestPause
from trustdesk.lawful.review import deadlines_of, delivery_not_before
from trustdesk.lawful.vocabulary import EnforcingAnswer, EnforcingGround, ValidationStatus, WindowKind
from trustdesk.policy.engine import PeriodPart
from trustdesk.vocabulary import InstrumentCode, IssuerKind

CATALOGUE = load_catalogue()
T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def standard_epoc(**changes: Any) -> dict[str, Any]:
    body = epoc(
        emergency=False,
        emergency_justification=None,
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        suspect_confirmed=True,
    )
    body.update(changes)
    return body


def stored(sessions: sessionmaker[Session], tracking: str) -> LawfulRequest:
    with sessions() as s:
        request = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        _ = request.agency, request.targets, request.documents
        s.expunge_all()
        return request


# --- facts (items 5-7, 9) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "part"),
    [
        (T - timedelta(days=30), T - timedelta(days=1), PeriodPart.NONE),
        (T - timedelta(days=30), T, PeriodPart.NONE),
        (T - timedelta(days=30), T + timedelta(days=1), PeriodPart.PARTLY),
        (T, T + timedelta(days=30), PeriodPart.WHOLLY),
        (None, None, PeriodPart.NONE),
    ],
)
def test_the_part_of_the_period_after_receipt_art_3_8(
    start: datetime | None, end: datetime | None, part: PeriodPart
) -> None:
    assert facts_module.period_after_receipt(start, end, T) is part


def test_the_facts_carry_the_validation_the_offence_and_the_art_8_2_exception(
    world: World, sessions: sessionmaker[Session]
) -> None:
    body = standard_epoc(
        issuing_authority={"name": "OFMIN", "kind": "police", "country": "FR"},
        validation={
            "authority": {"name": "Parquet de Paris", "kind": "prosecutor"},
            "validated_at": T.isoformat(),
        },
        offence={
            "description": "Ransomware attack",
            "max_penalty_years": 5,
            "by_information_system": True,
            "sentence_months": 6,
            "committed_in_issuing_state": True,
            "person_resides_in_issuing_state": True,
        },
    )
    police = officer_key(  # competence is judged on the agency's verified kind: a police agency sends it
        sessions, world.clock, country="FR", kind=IssuerKind.POLICE, domain="ofmin.interieur.gouv.fr"
    )
    request = stored(sessions, world.submit(body, police))
    lookups = facts_module.look_up_targets(request, world.platform)
    facts = facts_module.facts_for(request, "FR", lookups, representative_country="BE")
    assert facts.issuer_kind is IssuerKind.POLICE
    assert facts.validator_kind is IssuerKind.PROSECUTOR  # Art. 4(1)(b): competent as the validator
    assert facts.validation_pending is False
    assert facts.by_information_system is True  # Art. 5(4)(b),(c)
    assert facts.sentence_months == 6  # Art. 5(3)
    assert facts.offence_in_issuing_state
    assert facts.person_resides_in_issuing_state
    assert facts.legal_representative_country == "BE"
    assert facts.received_at == world.clock.now
    assert facts.period_after_receipt is PeriodPart.NONE


def test_data_held_is_read_from_the_platform_for_the_period_up_to_receipt_art_3_8(
    world: World, sessions: sessionmaker[Session]
) -> None:
    held = stored(sessions, world.submit(standard_epoc(data_categories=["traffic"])))
    lookups = facts_module.look_up_targets(held, world.platform)
    assert facts_module.data_held(held, world.platform, lookups) is True

    long_ago = standard_epoc(
        data_categories=["traffic"], period={"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    )
    empty = stored(sessions, world.submit(long_ago))
    assert (
        facts_module.data_held(empty, world.platform, facts_module.look_up_targets(empty, world.platform))
        is False
    )


def test_a_period_partly_after_receipt_is_looked_at_only_up_to_receipt(
    world: World, sessions: sessionmaker[Session]
) -> None:
    later = (world.clock.now + timedelta(days=30)).isoformat()
    request = stored(
        sessions, world.submit(standard_epoc(period={"from": "2026-09-01T00:00:00Z", "to": later}))
    )
    period = facts_module.held_period(request)
    assert period is not None
    assert period.end == world.clock.now
    facts = facts_module.facts_for(request, "FR", facts_module.look_up_targets(request, world.platform))
    assert facts.period_after_receipt is PeriodPart.PARTLY


def test_a_period_wholly_after_receipt_has_nothing_to_look_at(
    world: World, sessions: sessionmaker[Session]
) -> None:
    start = (world.clock.now + timedelta(days=1)).isoformat()
    end = (world.clock.now + timedelta(days=30)).isoformat()
    request = stored(sessions, world.submit(standard_epoc(period={"from": start, "to": end})))
    assert facts_module.held_period(request) is None
    facts = facts_module.facts_for(request, "FR", facts_module.look_up_targets(request, world.platform))
    assert facts.period_after_receipt is PeriodPart.WHOLLY


# --- clarification and the legal clock (item 8, e-Evidence Art. 10(5)) --------------------------------


def test_deadlines_of_pause_the_legal_clock_only_for_an_incomplete_order() -> None:
    instrument = CATALOGUE.get(InstrumentCode.EU_EPOC)
    asked, answered = T + timedelta(days=1), T + timedelta(days=3)
    due, target = deadlines_of(
        instrument, T, emergency=False, respond_by=None, pauses=[("desk_question", asked, answered)]
    )
    assert due == T + timedelta(days=10)  # the legal clock ran
    assert target == T + timedelta(days=12)  # the internal target waited
    due, target = deadlines_of(
        instrument, T, emergency=False, respond_by=None, pauses=[("incomplete_order", asked, answered)]
    )
    assert due == target == T + timedelta(days=12)


def test_a_desk_question_keeps_the_legal_clock_running_and_pauses_only_the_target(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(standard_epoc())
    received = world.clock.now
    asked = world.act(
        world.reviewer,
        tracking,
        "clarify",
        {"question": "Can you confirm the suspect?", "kind": "desk_question"},
    )
    assert asked["request"]["status"] == "clarification_requested"
    assert asked["request"]["due_at"] is not None
    assert datetime.fromisoformat(asked["request"]["due_at"]) == received + timedelta(days=10)
    assert asked["review"]["target_at"] is None  # the internal target waits for the answer
    world.clock.advance(timedelta(days=2))
    reply = world.client.post(
        f"/api/v1/requests/{tracking}/correspondence",
        json={"body": "Confirmed."},
        headers=bearer(world.fr_key),
    )
    assert reply.status_code == 201, reply.text
    request = stored(sessions, tracking)
    assert request.due_at == received + timedelta(days=10)
    assert request.target_at == received + timedelta(days=12)
    with sessions() as s:
        assert s.scalars(select(RequestPause.reason)).all() == ["desk_question"]


def test_an_incomplete_order_suspends_the_legal_deadline_and_the_target(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(standard_epoc())
    received = world.clock.now
    asked = world.act(
        world.reviewer,
        tracking,
        "clarify",
        {"question": "The order names no offence.", "kind": "incomplete_order"},
    )
    assert asked["request"]["due_at"] is None
    world.clock.advance(timedelta(days=2))
    world.client.post(
        f"/api/v1/requests/{tracking}/correspondence", json={"body": "Fraud."}, headers=bearer(world.fr_key)
    )
    request = stored(sessions, tracking)
    assert request.due_at == received + timedelta(days=12)
    assert request.target_at == received + timedelta(days=12)


def test_an_unknown_clarification_kind_is_a_schema_error(world: World) -> None:
    tracking = world.submit(standard_epoc())
    response = world.staff(
        world.reviewer, "POST", f"/{tracking}/clarify", json={"question": "?", "kind": "whim"}
    )
    assert response.status_code == 422


# --- the enforcing authority (item 9, e-Evidence Arts 8, 10, 12) --------------------------------------


def test_grounds_raised_by_the_enforcing_authority_refuse_the_request_and_deliver_nothing_art_12(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(standard_epoc())
    missing = world.staff(world.reviewer, "POST", f"/{tracking}/enforcing", json={"answer": "grounds_raised"})
    assert missing.status_code == 422
    done = world.act(
        world.reviewer, tracking, "enforcing", {"answer": "grounds_raised", "ground": "press_freedom"}
    )
    assert done["request"]["status"] == "refused"
    request = stored(sessions, tracking)
    assert request.enforcing_answer is EnforcingAnswer.GROUNDS_RAISED
    assert request.enforcing_ground is EnforcingGround.PRESS_FREEDOM
    assert request.answered_at == world.clock.now
    seen = world.officer_view(tracking)
    assert [m["kind"] for m in seen["correspondence"]] == ["cannot_comply"]
    assert "press_freedom" in seen["correspondence"][0]["body"]
    assert seen["production"] is None
    again = world.staff(world.reviewer, "POST", f"/{tracking}/enforcing", json={"answer": "no_grounds"})
    assert again.status_code == 409


def test_an_early_no_grounds_answer_ends_the_wait_for_the_10_days_art_10_2() -> None:
    instrument = CATALOGUE.get(InstrumentCode.EU_EPOC)
    request = LawfulRequest(received_at=T, emergency=False, enforcing_notification=True)
    decision = Decision(allowed_categories=["traffic"])
    waits = delivery_not_before(request, instrument, decision)
    assert waits is not None
    assert waits >= T + instrument.deadline.standard  # never earlier than the exact elapsed time
    request.enforcing_answer = EnforcingAnswer.NO_GROUNDS
    assert delivery_not_before(request, instrument, decision) is None


def test_an_objection_after_an_emergency_delivery_stops_the_use_of_the_data_art_10_4(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc(targets=[{"type": "phone", "value": SUSPECT_PHONE}], suspect_confirmed=True))
    early = world.staff(world.reviewer, "POST", f"/{tracking}/enforcing", json={"answer": "objected"})
    assert early.status_code == 409  # no emergency delivery was notified: nothing to object to
    with unit_of_work(sessions) as s:
        request = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        request.enforcing_notification = True
        window = enforcing.open_objection_window(s, request, world.clock.now)
        assert window is not None
        assert window.due_at is not None
        assert window.due_at >= world.clock.now + timedelta(hours=96)
    world.clock.advance(timedelta(hours=20))
    world.act(world.reviewer, tracking, "enforcing", {"answer": "objected"})
    request = stored(sessions, tracking)
    assert request.use_stopped_at == world.clock.now
    assert request.use_stopped_reason == "objection"
    assert "must not be used" in world.officer_view(tracking)["correspondence"][-1]["body"]


@pytest.mark.parametrize("outcome", ["validated", "refused"])
def test_the_later_validation_of_an_emergency_order_is_recorded_art_4_5(
    world: World, sessions: sessionmaker[Session], outcome: str
) -> None:
    tracking = world.submit(epoc(targets=[{"type": "phone", "value": SUSPECT_PHONE}]))
    with unit_of_work(sessions) as s:
        request = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        request.validation_status = ValidationStatus.PENDING
        s.add(
            LegalWindow(
                request_id=request.id,
                kind=WindowKind.VALIDATION,
                opened_at=world.clock.now,
                due_at=world.clock.now + timedelta(hours=48),
            )
        )
    body: dict[str, Any] = {"status": outcome}
    if outcome == "validated":
        body["authority"] = {"name": "Parquet de Paris", "kind": "prosecutor"}
    response = world.client.post(
        f"/api/v1/requests/{tracking}/validation", json=body, headers=bearer(world.fr_key)
    )
    assert response.status_code == 200, response.text
    request = stored(sessions, tracking)
    assert request.validation_status is ValidationStatus(outcome)
    with sessions() as s:
        window = s.scalars(select(LegalWindow).where(LegalWindow.request_id == request.id)).one()
    assert window.closed_at == world.clock.now
    assert window.outcome == outcome
    if outcome == "refused":
        assert request.use_stopped_at == world.clock.now
        assert request.use_stopped_reason == "validation_refused"
    else:
        assert request.validator_kind is IssuerKind.PROSECUTOR
        assert request.use_stopped_at is None
    again = world.client.post(
        f"/api/v1/requests/{tracking}/validation", json=body, headers=bearer(world.fr_key)
    )
    assert again.status_code == 409


# --- principles against binding orders (item 10) -------------------------------------------------------


def us_warrant_for_content(world: World, sessions: sessionmaker[Session]) -> tuple[str, str]:
    key = officer_key(sessions, world.clock, country="US", kind=IssuerKind.COURT, domain="uscourts.gov")
    body = {
        "instrument": "US_WARRANT",
        "reference": "SW-2026-9",
        "issuing_authority": {"name": "US District Court, SDNY", "kind": "court", "country": "US"},
        "legal_basis": "18 U.S.C. 2703(a)",
        "statement_of_reasons": "Probable cause that the account was used to plan the offence.",
        "offence": {"description": "Wire fraud", "max_penalty_years": 20},
        "targets": [{"type": "phone", "value": SUSPECT_PHONE}],
        "data_categories": ["subscriber", "identification", "content"],
        "suspect_confirmed": True,
        "period": {"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
    }
    return world.submit(body, key), key


@pytest.mark.parametrize("resolution", ["complied", "refused", "challenged"])
def test_counsel_resolves_a_principle_conflict_and_the_register_counts_it(
    world: World, sessions: sessionmaker[Session], resolution: str
) -> None:
    tracking, key = us_warrant_for_content(world, sessions)
    assert world.view(tracking)["review"]["recommendation"]["outcome"] == "escalate"
    unjustified = world.staff(
        world.reviewer, "POST", f"/{tracking}/conflict", json={"resolution": resolution}
    )
    assert unjustified.status_code == 422
    body: dict[str, Any] = {"resolution": resolution, "justification": "Counsel's reasoning."}
    if resolution == "refused":
        no_ground = world.staff(world.reviewer, "POST", f"/{tracking}/conflict", json=body)
        assert no_ground.status_code == 422
        body["ground"] = "manifest_charter_breach"
    done = world.act(world.reviewer, tracking, "conflict", body)
    status = {"complied": "awaiting_approval", "refused": "refused", "challenged": "challenged"}[resolution]
    assert done["request"]["status"] == status
    with sessions() as s:
        [row] = conflict_register(s)
    assert (row.jurisdiction, row.instrument, row.count) == ("US", "US_WARRANT", 1)
    assert row.by_resolution == {resolution: 1}
    if resolution == "refused":
        answer = world.officer_view(tracking, key)["correspondence"][-1]
        assert answer["kind"] == "cannot_comply"
        assert "manifest_charter_breach" in answer["body"]


def test_conflicts_are_recorded_once_per_principle_at_decision_time(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking, _ = us_warrant_for_content(world, sessions)
    world.act(
        world.reviewer,
        tracking,
        "decide",
        {"outcome": "partial", "categories": ["identification", "subscriber"], "justification": "P1 holds."},
    )
    with sessions() as s:
        rows = s.scalars(select(PrincipleConflict)).all()
        assert len(rows) == len({r.principle_id for r in rows}) >= 1
        assert all(r.resolution is None for r in rows)
