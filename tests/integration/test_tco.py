"""Removal orders under Regulation (EU) 2021/784 (TCO): everywhere, kept six calendar months, confidential
at most 6 + 6 weeks, scrutiny of cross-border orders, complaints; on SQLite and PostgreSQL."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, tco
from tests.lawful_world import SECRET_TEXT, World, build_world
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful import removals
from trustdesk.lawful.models import LawfulRequest, LegalWindow, Removal
from trustdesk.lawful.vocabulary import WindowKind
from trustdesk.platform.protocol import DataCategory, Period
from trustdesk.safety.models import Case, CaseAction, ModerationDecision, StatementRecord
from trustdesk.safety.vocabulary import CaseStatus, DsaCategory, DsaKeyword
from trustdesk.safety.workflow import CaseSource


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def remove(world: World, **overrides: Any) -> str:
    tracking = world.submit(
        tco(targets=[{"type": "content_url", "value": world.message_locator}], **overrides), world.de_key
    )
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.reviewer, tracking, "execute")
    return tracking


def request_of(s: Session, tracking: str) -> LawfulRequest:
    return s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()


def windows(sessions: sessionmaker[Session], tracking: str, kind: WindowKind) -> list[LegalWindow]:
    with sessions() as s:
        request = request_of(s, tracking)
        return list(
            s.scalars(
                select(LegalWindow).where(LegalWindow.request_id == request.id, LegalWindow.kind == kind)
            )
        )


def the_removal(sessions: sessionmaker[Session], tracking: str) -> Removal:
    with sessions() as s:
        return s.scalars(select(Removal).where(Removal.request_id == request_of(s, tracking).id)).one()


def visible(world: World) -> bool:
    content = world.platform.export(
        world.suspect,
        [DataCategory.CONTENT],
        Period(world.clock.now - timedelta(days=400), world.clock.now),
    )
    return any(r.fields.get("text") == SECRET_TEXT for r in content.records)


def test_art_3_3_a_removal_order_covers_every_member_state_whatever_scope_it_carries(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = remove(world, territorial_scope=["DE"])
    removal = the_removal(sessions, tracking)
    assert (removal.action, removal.scope) == ("remove", None)
    assert not visible(world)


def test_art_6_the_removed_content_is_kept_six_calendar_months_not_the_authors_other_data(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = remove(world)
    removal = the_removal(sessions, tracking)
    assert removal.keep_until == removal.effective_at + relativedelta(months=6)
    (window,) = windows(sessions, tracking, WindowKind.RETENTION)
    assert (window.subject_id, window.due_at) == (removal.id, removal.keep_until)
    assert world.view(tracking)["review"]["holds"] == []  # no account-wide hold on the author


def test_art_6_2_an_authority_requires_the_content_kept_longer_then_until_further_notice(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = remove(world)
    kept = the_removal(sessions, tracking).keep_until
    assert kept is not None
    path = f"/api/v1/requests/{tracking}/removals/retention"
    later = kept + timedelta(days=90)

    assert (
        world.client.post(path, json={"until": later.isoformat()}, headers=bearer(world.fr_key)).status_code
        == 404
    )
    shorter = world.client.post(path, json={"until": kept.isoformat()}, headers=bearer(world.de_key))
    assert shorter.status_code == 422
    longer = world.client.post(
        path, json={"until": later.isoformat(), "note": "court order"}, headers=bearer(world.de_key)
    )
    assert longer.status_code == 200, longer.text
    assert datetime.fromisoformat(longer.json()[0]["keep_until"]) == later
    open_ended = world.client.post(path, json={"until": None}, headers=bearer(world.de_key))
    assert open_ended.status_code == 200, open_ended.text
    (window,) = windows(sessions, tracking, WindowKind.RETENTION)
    assert window.due_at is None
    assert the_removal(sessions, tracking).keep_until is None
    with sessions() as s:
        assert (
            len(s.scalars(select(AuditEvent).where(AuditEvent.action == "lawful:retention:extend")).all())
            == 2
        )


def test_art_11_3_confidentiality_runs_at_most_six_weeks_with_one_extension_of_six(
    world: World, sessions: sessionmaker[Session]
) -> None:
    received = world.clock.now
    tracking = remove(world, confidential_until=(received + timedelta(weeks=5)).isoformat())
    (window,) = windows(sessions, tracking, WindowKind.CONFIDENTIALITY)
    assert window.due_at == received + timedelta(weeks=5)
    path = f"/api/v1/requests/{tracking}/removals/confidentiality"

    too_far = world.client.post(
        path,
        json={"until": (received + timedelta(weeks=11, minutes=1)).isoformat()},
        headers=bearer(world.de_key),
    )
    assert too_far.status_code == 422
    extended = world.client.post(
        path, json={"until": (received + timedelta(weeks=11)).isoformat()}, headers=bearer(world.de_key)
    )
    assert extended.status_code == 200, extended.text
    again = world.client.post(
        path,
        json={"until": (received + timedelta(weeks=12)).isoformat()},
        headers=bearer(world.de_key),
    )
    assert again.status_code == 422


def test_art_4_a_cross_border_order_may_be_scrutinised_and_an_infringement_reinstates_the_content(
    world: World, sessions: sessionmaker[Session]
) -> None:
    received = world.clock.now
    tracking = remove(world)  # from Germany; the EU legal representative sits in Belgium
    (asked,) = windows(sessions, tracking, WindowKind.SCRUTINY_REQUEST)
    assert asked.due_at == received + timedelta(hours=48)
    no_decision = world.staff(world.reviewer, "POST", f"/{tracking}/scrutiny/decision", json={"outcome": "x"})
    assert no_decision.status_code == 422

    world.clock.advance(timedelta(hours=20))
    view = world.act(world.reviewer, tracking, "scrutiny", {"note": "a satirical post"})
    decision = [w for w in view["review"]["windows"] if w["kind"] == "scrutiny_decision"]
    assert [w["due_at"] for w in decision] == [(world.clock.now + timedelta(hours=72)).isoformat()]
    again = world.staff(world.reviewer, "POST", f"/{tracking}/scrutiny", json={"note": "again"})
    assert again.status_code == 409
    view = world.act(world.reviewer, tracking, "scrutiny/decision", {"outcome": "infringement"})
    assert view["review"]["removals"][0]["reinstated_at"] == world.clock.now.isoformat()
    assert the_removal(sessions, tracking).reinstated_at == world.clock.now
    assert visible(world)


def test_art_4_2_scrutiny_is_asked_within_48_hours_of_receipt(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = remove(world)
    world.clock.advance(timedelta(hours=49))
    late = world.staff(world.reviewer, "POST", f"/{tracking}/scrutiny", json={"note": "too late"})
    assert late.status_code == 409
    assert late.json()["code"] == "too_late"
    assert [w.kind for w in windows(sessions, tracking, WindowKind.SCRUTINY_DECISION)] == []
    officer = world.staff(
        world.reviewer, "POST", f"/{tracking}/scrutiny/decision", json={"outcome": "infringement"}
    )
    assert officer.status_code == 409  # nothing to decide: no scrutiny was asked
    assert the_removal(sessions, tracking).reinstated_at is None


def test_art_4_an_order_from_the_legal_representatives_own_state_opens_no_scrutiny(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions) as s:
        request = request_of(s, remove(world))
        request.issuer_country = "BE"
        instrument = world.container.catalogue.get("EU_TCO_REMOVAL")
        assert removals.open_scrutiny_window(s, world.clock, request, instrument, "BE") is None


@pytest.mark.parametrize("upheld", [True, False])
def test_art_10_a_complaint_is_answered_within_two_weeks_and_an_upheld_one_reinstates(
    world: World, sessions: sessionmaker[Session], upheld: bool
) -> None:
    tracking = remove(world)
    removal = the_removal(sessions, tracking)
    unknown = world.staff(
        world.reviewer, "POST", f"/{tracking}/complaints", json={"removal_id": "nope", "body": "news"}
    )
    assert unknown.status_code == 404
    view = world.act(
        world.reviewer, tracking, "complaints", {"removal_id": removal.id, "body": "This is news reporting."}
    )
    (complaint,) = view["review"]["complaints"]
    assert complaint["due_at"] == (world.clock.now + timedelta(days=14)).isoformat()
    (window,) = windows(sessions, tracking, WindowKind.COMPLAINT)
    assert window.due_at == world.clock.now + timedelta(days=14)

    answer = f"/{tracking}/complaints/{complaint['id']}/answer"
    blank = world.staff(world.reviewer, "POST", answer, json={"upheld": upheld, "answer": ""})
    assert blank.status_code == 422
    world.act(
        world.reviewer,
        tracking,
        f"complaints/{complaint['id']}/answer",
        {"upheld": upheld, "answer": "Reviewed by counsel."},
    )
    (window,) = windows(sessions, tracking, WindowKind.COMPLAINT)
    assert window.outcome == ("upheld" if upheld else "dismissed")
    assert (the_removal(sessions, tracking).reinstated_at is not None) is upheld
    assert visible(world) is upheld
    twice = world.staff(world.reviewer, "POST", answer, json={"upheld": not upheld, "answer": "Changed."})
    assert twice.status_code == 409
    assert (the_removal(sessions, tracking).reinstated_at is not None) is upheld


def order_case(sessions: sessionmaker[Session], world: World) -> tuple[Case, ModerationDecision]:
    with sessions() as s:
        case = s.scalars(select(Case).where(Case.locator == world.message_locator)).one()
        decision = s.scalars(select(ModerationDecision).where(ModerationDecision.case_id == case.id)).one()
        s.expunge_all()
        return case, decision


def test_an_executed_order_is_a_decided_moderation_case_with_its_statement_kept_not_sent(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = remove(world)
    case, decision = order_case(sessions, world)
    assert (case.source, case.status, case.account_id) == (
        CaseSource.AUTHORITY_ORDER, CaseStatus.DECIDED, world.suspect,
    )  # fmt: skip
    assert decision.order_reference == tracking
    assert (decision.category, decision.keyword) == (
        DsaCategory.RISK_FOR_PUBLIC_SECURITY, DsaKeyword.TERRORIST_CONTENT,
    )  # fmt: skip
    with sessions() as s:
        (statement,) = s.scalars(select(StatementRecord).where(StatementRecord.decision_id == decision.id))
        steps = s.scalars(select(CaseAction).where(CaseAction.decision_id == decision.id)).all()
    body = statement.body
    assert body["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert body["source_identity"] == "Bundeskriminalamt"
    assert body["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert tracking in body["illegal_content_legal_ground"]
    assert "glorifies a terrorist attack" in body["illegal_content_explanation"]
    assert body["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    # The lawful desk tells the content provider (TCO Art. 11, after confidentiality); the moderation side
    # sends nothing and applies no strike now.
    assert steps == []
    assert statement.delivered_at is None


def test_an_order_whose_reasons_name_a_person_keeps_a_statement_without_them(
    world: World, sessions: sessionmaker[Session]
) -> None:
    remove(world, statement_of_reasons="Posted by the suspect, reachable at suspect@example.org.")
    _, decision = order_case(sessions, world)
    with sessions() as s:
        (statement,) = s.scalars(select(StatementRecord).where(StatementRecord.decision_id == decision.id))
    assert "example.org" not in str(statement.body)
    assert statement.body["illegal_content_explanation"].startswith("Removal order ")


def test_an_upheld_complaint_reverses_the_orders_moderation_decision(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = remove(world)
    removal = the_removal(sessions, tracking)
    view = world.act(world.reviewer, tracking, "complaints", {"removal_id": removal.id, "body": "News."})
    (complaint,) = view["review"]["complaints"]
    world.act(
        world.reviewer, tracking, f"complaints/{complaint['id']}/answer", {"upheld": True, "answer": "Yes."}
    )
    case, decision = order_case(sessions, world)
    assert case.status is CaseStatus.REVERSED
    assert decision.reversed_at is not None
