"""The legal workflow end to end, on SQLite and PostgreSQL, through the officer and staff APIs."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc, officer_key, tco
from tests.lawful_world import SECRET_TEXT, SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.clock import FrozenClock
from trustdesk.lawful.models import DeadlineAlert, LawfulRequest, LegalWindow
from trustdesk.lawful.package import open_package
from trustdesk.lawful.package_check import read_records, verify_package
from trustdesk.lawful.vocabulary import WindowKind
from trustdesk.platform.protocol import DataCategory, Period
from trustdesk.vocabulary import IssuerKind


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def emergency_epoc() -> dict[str, object]:
    return epoc(
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        suspect_confirmed=True,
    )


def test_an_emergency_epoc_goes_from_submission_to_a_verified_production_within_8_hours(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    received = world.clock.now

    # On arrival: preserved at once, and the emergency alerted.
    arrived = world.view(tracking)["review"]
    assert [h["reason"] for h in arrived["holds"]] == ["emergency"]
    with sessions() as s:
        assert s.scalars(select(DeadlineAlert.kind)).all() == ["emergency"]

    recommendation = arrived["recommendation"]
    assert recommendation["outcome"] == "comply", recommendation
    assert recommendation["allowed_categories"] == ["identification", "subscriber"]

    world.clock.advance(timedelta(hours=1))
    decided = world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    assert decided["request"]["status"] == "awaiting_approval"
    # The reviewer cannot approve: that is the second person's job.
    assert world.staff(world.reviewer, "POST", f"/{tracking}/approve", json={}).status_code == 403

    world.clock.advance(timedelta(hours=1))
    assert world.act(world.approver, tracking, "approve")["request"]["status"] == "approved"
    executed = world.act(world.reviewer, tracking, "execute")
    assert executed["request"]["status"] == "executing"
    answered = world.act(world.reviewer, tracking, "answer")
    assert answered["request"]["status"] == "answered"

    seen = world.officer_view(tracking)
    assert seen["status"] == "answered"
    assert seen["outcome"] == "comply"
    assert datetime.fromisoformat(seen["due_at"]) == received + timedelta(hours=8)
    assert world.clock.now <= datetime.fromisoformat(seen["due_at"])
    assert [m["kind"] for m in seen["correspondence"]] == ["answer"]

    download = world.client.get(seen["production"]["download"], headers=bearer(world.fr_key))
    assert download.status_code == 200
    tar = open_package(download.content, world.fr_identity)
    report = verify_package(tar, world.container.signer.public_key_bytes())
    assert report.ok, report.problems
    records = read_records(tar)
    assert set(records) == {"subscriber", "identification"}
    # Disclose the minimum: the phone number and IP addresses, never message text, username or e-mail.
    assert SECRET_TEXT.encode() not in tar
    assert b"s@example.org" not in tar
    assert b"S. Uspect" not in tar
    assert SUSPECT_PHONE.encode() in tar
    assert b"203.0.113.9" in tar
    # The emergency preservation was converted into the production.
    assert all(h["released_at"] for h in world.view(tracking)["review"]["holds"])


def test_only_the_requesting_agency_downloads_and_the_link_expires(world: World) -> None:
    tracking = world.submit(emergency_epoc())
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    path = f"/api/v1/requests/{tracking}/production"

    assert world.client.get(path, headers=bearer(world.de_key)).status_code == 404
    assert world.client.get(path, headers=bearer(world.fr_key)).status_code == 200
    world.clock.advance(timedelta(days=15))
    expired = world.client.get(path, headers=bearer(world.fr_key))
    assert expired.status_code == 403
    assert expired.json()["code"] == "production_expired"
    assert world.view(tracking)["review"]["production"]["downloads"] == 1  # counted and audited


def test_a_tco_removal_order_is_executed_and_answered_well_inside_its_hour(world: World) -> None:
    tracking = world.submit(
        tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key
    )
    received = world.clock.now
    recommendation = world.view(tracking)["review"]["recommendation"]
    assert recommendation["outcome"] == "comply", recommendation

    world.clock.advance(timedelta(minutes=10))
    decided = world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    assert decided["request"]["status"] == "approved"  # nothing is disclosed: no second approver needed
    executed = world.act(world.reviewer, tracking, "execute")
    assert [r["locator"] for r in executed["review"]["removals"]] == [world.message_locator]
    world.clock.advance(timedelta(minutes=5))
    world.act(world.reviewer, tracking, "answer")

    seen = world.officer_view(tracking, world.de_key)
    assert seen["status"] == "answered"
    assert world.clock.now - received == timedelta(minutes=15)
    assert datetime.fromisoformat(seen["due_at"]) == received + timedelta(hours=1)
    kinds = [m["kind"] for m in seen["correspondence"]]
    assert kinds == ["effect_given", "answer"]
    # Removed for everyone, kept preserved, the content provider told.
    content = world.platform.export(
        world.suspect, [DataCategory.CONTENT], Period(received - timedelta(days=60), received)
    )
    assert all(r.fields.get("text") != SECRET_TEXT for r in content.records)
    review = world.view(tracking)["review"]
    # The removed message itself is kept (flagged, never deleted), not the author's other data (TCO Art. 6).
    assert review["holds"] == []
    assert [n["status"] for n in review["user_notices"]] == ["sent"]
    assert len(world.platform.notices(world.suspect)) == 1


def test_a_clarification_stops_the_clock_and_the_answer_resumes_it(world: World) -> None:
    """Only an incomplete order suspends the legal deadline (Reg. 2023/1543 Art. 10(5))."""
    body = emergency_epoc() | {"emergency": False, "emergency_justification": None}
    tracking = world.submit(body)
    due = datetime.fromisoformat(world.officer_view(tracking)["due_at"])

    world.act(
        world.reviewer,
        tracking,
        "clarify",
        {"question": "The order names no account handle: which one?", "kind": "incomplete_order"},
    )
    asked = world.officer_view(tracking)
    assert asked["status"] == "clarification_requested"
    assert asked["due_at"] is None  # paused
    world.clock.advance(timedelta(days=2))
    reply = world.client.post(
        f"/api/v1/requests/{tracking}/correspondence", json={"body": "@suspect"}, headers=bearer(world.fr_key)
    )
    assert reply.status_code == 201, reply.text

    resumed = world.officer_view(tracking)
    assert resumed["status"] == "in_review"
    assert datetime.fromisoformat(resumed["due_at"]) == due + timedelta(days=2)
    assert [m["kind"] for m in resumed["correspondence"]] == [
        "clarification_question",
        "clarification_answer",
    ]


def test_withdrawal_ends_the_request_and_releases_its_holds(world: World) -> None:
    tracking = world.submit(emergency_epoc())
    response = world.client.post(
        f"/api/v1/requests/{tracking}/withdraw",
        json={"reason": "Victim found safe."},
        headers=bearer(world.fr_key),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    assert all(h["released_at"] for h in world.view(tracking)["review"]["holds"])
    again = world.client.post(
        f"/api/v1/requests/{tracking}/withdraw", json={"reason": "again"}, headers=bearer(world.fr_key)
    )
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_deviating_from_the_recommendation_needs_a_justification_and_is_counted(world: World) -> None:
    tracking = world.submit(emergency_epoc())
    refused = world.staff(
        world.reviewer,
        "POST",
        f"/{tracking}/decide",
        json={"outcome": "partial", "categories": ["subscriber"]},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "justification_required"

    decided = world.act(
        world.reviewer,
        tracking,
        "decide",
        {
            "outcome": "partial",
            "categories": ["subscriber"],
            "justification": "The phone number suffices here.",
        },
    )
    assert decided["review"]["decision"]["deviates_from_recommendation"] is True
    figures = world.staff(world.reviewer, "GET", "/consistency").json()
    assert figures == {"decisions": 1, "deviating": 1, "deviation_share": 1.0}


def test_an_approver_rejects_and_the_request_returns_to_review(world: World) -> None:
    tracking = world.submit(emergency_epoc())
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    back = world.act(world.approver, tracking, "reject", {"note": "Check the period first."})
    assert back["request"]["status"] == "in_review"
    assert back["review"]["decision"] is None


def test_the_desk_s_own_question_keeps_the_legal_clock_running(world: World) -> None:
    """A question about a complete order does not suspend the legal deadline (Reg. 2023/1543 Art. 10(5))."""
    body = emergency_epoc() | {"emergency": False, "emergency_justification": None}
    tracking = world.submit(body)
    due = world.officer_view(tracking)["due_at"]
    world.act(
        world.reviewer,
        tracking,
        "clarify",
        {"question": "Please confirm the person is a suspect.", "kind": "desk_question"},
    )
    asked = world.officer_view(tracking)
    assert asked["status"] == "clarification_requested"
    assert asked["due_at"] == due  # the legal clock runs


def test_a_request_from_an_exited_jurisdiction_is_refused_with_a_form_3_notice(
    world: World, sessions: sessionmaker[Session]
) -> None:
    ru_key = officer_key(sessions, world.clock, country="RU", kind=IssuerKind.COURT, domain="sudrf.ru")
    body = {
        "instrument": "NATIONAL_COURT_ORDER",
        "reference": "RU-2026-1",
        "issuing_authority": {"name": "Moscow City Court", "kind": "court", "country": "RU"},
        "legal_basis": "Federal law",
        "targets": [{"type": "phone", "value": SUSPECT_PHONE}],
        "data_categories": ["subscriber"],
        "suspect_confirmed": True,
    }
    tracking = world.submit(body, ru_key)  # recorded and refused on receipt, never left unanswered
    seen = world.officer_view(tracking, ru_key)
    assert seen["status"] == "refused"
    assert seen["outcome"] == "refuse"
    assert "jurisdiction_exited" in seen["grounds"]
    assert [m["kind"] for m in seen["correspondence"]] == ["cannot_comply"]


def test_a_preservation_order_holds_data_against_retention_with_one_lawful_extension(
    world: World, sessions: sessionmaker[Session]
) -> None:
    body = emergency_epoc() | {
        "instrument": "EU_EPOC_PR",
        "emergency": False,
        "emergency_justification": None,
        "data_categories": ["identification"],
    }
    tracking = world.submit(body)
    assert (
        world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})["request"]["status"]
        == "approved"
    )
    executed = world.act(world.reviewer, tracking, "execute")
    (hold,) = executed["review"]["holds"]
    assert datetime.fromisoformat(hold["expires_at"]) == world.clock.now + timedelta(days=60)

    # The platform's retention job deletes old sessions, but not the held ones.
    report = world.platform.run_retention(world.clock.now, timedelta(days=1))
    held = world.platform.export(
        world.suspect,
        [DataCategory.IDENTIFICATION],
        Period(world.clock.now - timedelta(days=60), world.clock.now),
    )
    assert any(r.kind == "session" for r in held.records), report

    from trustdesk.db import unit_of_work
    from trustdesk.errors import InvalidInput
    from trustdesk.lawful import execution
    from trustdesk.lawful.catalogue_file import load_catalogue

    rule = load_catalogue().get("EU_EPOC_PR").hold
    assert rule is not None
    with unit_of_work(sessions) as s:
        extended = execution.extend_hold(
            s, world.clock, execution.Actor.operator(), hold["id"], rule, world.platform
        )
        assert extended.expires_at == world.clock.now + timedelta(days=90)
    with pytest.raises(InvalidInput, match="extension"), unit_of_work(sessions) as s:
        execution.extend_hold(s, world.clock, execution.Actor.operator(), hold["id"], rule, world.platform)


def test_staff_routes_refuse_officers_and_roles_without_the_permission(
    world: World, sessions: sessionmaker[Session]
) -> None:
    from trustdesk.audit.vocabulary import Actor
    from trustdesk.db import unit_of_work
    from trustdesk.staff import service as staff

    tracking = world.submit(emergency_epoc())
    with unit_of_work(sessions) as s:
        moderator = staff.add_user(
            s, world.clock, Actor.operator(), email="mo@platform.example", roles=["moderator"]
        )
        token = staff.issue_token(s, world.clock, Actor.operator(), moderator.user)

    assert world.staff(world.fr_key, "GET", f"/{tracking}").status_code == 401
    assert world.staff(token, "GET", f"/{tracking}").status_code == 403
    assert world.staff(token, "POST", f"/{tracking}/decide", json={"outcome": "comply"}).status_code == 403
    assert world.client.get(f"/api/v1/requests/{tracking}", headers=bearer(world.reviewer)).status_code == 401


def test_nobody_approves_their_own_decision(world: World, sessions: sessionmaker[Session]) -> None:
    from trustdesk.audit.vocabulary import Actor
    from trustdesk.db import unit_of_work
    from trustdesk.staff import service as staff

    with unit_of_work(sessions) as s:
        both = staff.add_user(
            s,
            world.clock,
            Actor.operator(),
            email="both@platform.example",
            roles=["legal_reviewer", "legal_approver"],
        )
        token = staff.issue_token(s, world.clock, Actor.operator(), both.user)
    tracking = world.submit(emergency_epoc())
    world.act(token, tracking, "decide", {"outcome": "comply"})
    response = world.staff(token, "POST", f"/{tracking}/approve", json={})
    assert response.status_code == 403
    assert response.json()["code"] == "four_eyes"


def _review_windows(sessions: sessionmaker[Session], tracking: str) -> list[tuple[datetime, str | None]]:
    with sessions() as session:
        return [
            (window.due_at, window.outcome)
            for window in session.scalars(
                select(LegalWindow)
                .join(LawfulRequest, LawfulRequest.id == LegalWindow.request_id)
                .where(
                    LawfulRequest.tracking_number == tracking,
                    LegalWindow.kind == WindowKind.ENFORCING_REVIEW,
                )
            )
        ]


def test_traffic_data_under_an_epoc_waits_for_the_enforcing_authority_until_day_10(
    world: World, sessions: sessionmaker[Session]
) -> None:
    body = emergency_epoc() | {
        "emergency": False,
        "emergency_justification": None,
        "data_categories": ["subscriber", "identification", "traffic"],
    }
    tracking = world.submit(body)
    received = world.clock.now
    world.act(
        world.reviewer,
        tracking,
        "decide",
        {
            "outcome": "comply",
            "categories": ["subscriber", "identification", "traffic"],
            "justification": "A court authorised the traffic data in this child-abduction case.",
        },
    )
    assert world.act(world.approver, tracking, "approve")["request"]["status"] == "waiting"
    # Approval opens the enforcing authority's window (Arts 10(2), 12), which the monitor watches.
    [(due, outcome)] = _review_windows(sessions, tracking)
    assert outcome is None
    assert received + timedelta(days=10) < due <= received + timedelta(days=11)

    early = world.staff(world.reviewer, "POST", f"/{tracking}/execute")
    assert early.status_code == 409
    assert early.json()["code"] == "delivery_waits"
    # The enforcing authority's 10 days end at the end of the last day (Reg. 1182/71 Art. 3), not earlier.
    world.clock.now = received + timedelta(days=10)
    assert world.staff(world.reviewer, "POST", f"/{tracking}/execute").json()["code"] == "delivery_waits"
    world.clock.now = received + timedelta(days=11)
    assert world.act(world.reviewer, tracking, "execute")["request"]["status"] == "executing"
    assert _review_windows(sessions, tracking) == [(due, "elapsed")]


def test_a_us_subpoena_notifies_the_user_only_when_the_non_disclosure_order_lapses(
    world: World, sessions: sessionmaker[Session]
) -> None:
    from trustdesk.db import unit_of_work
    from trustdesk.lawful.execution import send_due_notices

    us_key = officer_key(sessions, world.clock, country="US", kind=IssuerKind.PROSECUTOR, domain="usdoj.gov")
    body = {
        "instrument": "US_SUBPOENA",
        "reference": "GJ-2026-7",
        "issuing_authority": {"name": "US Attorney", "kind": "prosecutor", "country": "US"},
        "legal_basis": "18 U.S.C. 2703(c)(2)",
        "targets": [{"type": "phone", "value": SUSPECT_PHONE}],
        "data_categories": ["subscriber"],
        "suspect_confirmed": True,
        "non_disclosure_until": (world.clock.now + timedelta(days=30)).isoformat(),
    }
    tracking = world.submit(body, us_key)
    with unit_of_work(sessions) as s:
        from trustdesk.audit.vocabulary import Actor
        from trustdesk.authorities import service as authorities
        from trustdesk.authorities.models import AgencyDomain
        from trustdesk.lawful.package import generate_age_identity

        agency_id = s.get_one(AgencyDomain, "usdoj.gov").agency_id
        authorities.set_recipient(s, world.clock, Actor.operator(), agency_id, generate_age_identity()[1])
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    world.act(world.reviewer, tracking, "answer")

    (notice,) = world.view(tracking)["review"]["user_notices"]
    assert notice["status"] == "scheduled"
    assert datetime.fromisoformat(notice["due_at"]) == world.clock.now + timedelta(days=30)
    assert world.platform.notices(world.suspect) == []
    world.clock.advance(timedelta(days=30))
    with unit_of_work(sessions) as s:
        assert len(send_due_notices(s, world.clock, world.platform)) == 1
    assert len(world.platform.notices(world.suspect)) == 1
    assert world.view(tracking)["review"]["user_notices"][0]["status"] == "sent"


def test_an_epoc_never_notifies_the_user(world: World) -> None:
    tracking = world.submit(emergency_epoc())
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    world.act(world.reviewer, tracking, "answer")
    (notice,) = world.view(tracking)["review"]["user_notices"]
    assert notice["status"] == "withheld"
    assert "issuing authority informs" in notice["reason"]
    assert world.platform.notices(world.suspect) == []


def test_an_emergency_delivery_of_traffic_data_opens_the_enforcing_authority_s_96_hours(
    world: World, sessions: sessionmaker[Session]
) -> None:
    """After an emergency delivery the notified enforcing authority may object for 96 hours (Art. 10(4))."""
    body = emergency_epoc() | {"data_categories": ["subscriber", "identification", "traffic"]}
    tracking = world.submit(body)
    world.act(
        world.reviewer,
        tracking,
        "decide",
        {
            "outcome": "comply",
            "categories": ["subscriber", "identification", "traffic"],
            "justification": "A court ordered the traffic data to find an abducted child.",
        },
    )
    assert world.act(world.approver, tracking, "approve")["request"]["status"] == "approved"
    delivered = world.clock.now
    assert world.act(world.reviewer, tracking, "execute")["request"]["status"] == "executing"
    from trustdesk.lawful.models import LawfulRequest, LegalWindow
    from trustdesk.lawful.vocabulary import WindowKind

    with sessions() as session:
        query = select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        request = session.scalars(query).one()
        windows = session.scalars(select(LegalWindow).where(LegalWindow.request_id == request.id)).all()
        objection = [w for w in windows if w.kind is WindowKind.OBJECTION]
        assert len(objection) == 1
        assert objection[0].due_at is not None
        assert objection[0].due_at >= delivered + timedelta(hours=96)
