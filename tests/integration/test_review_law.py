"""Review against the law (issue 9): the facts the engine decides on, and what a clarification pauses.

On SQLite and PostgreSQL, from stored requests and the reference platform.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.clock import FrozenClock
from trustdesk.lawful import facts as facts_module
from trustdesk.lawful.catalogue import load_catalogue
from trustdesk.lawful.models import LawfulRequest, RequestPause
from trustdesk.lawful.review import deadlines_of
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
    request = stored(sessions, world.submit(body))
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
