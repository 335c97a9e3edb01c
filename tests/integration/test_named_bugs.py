"""Tests that catch the bugs they name (issue 11, item 8), on SQLite and PostgreSQL.

Each test below was proved by breaking the code it guards on a copy of ``src/`` and seeing it fail (the
list, with what was broken, is in docs/testing.md, "Tests that catch named bugs"): data minimisation in
the decision, a removal's territorial scope, the confidentiality that defers the user notice, the refusal
of a production without an age recipient, the agency filter on holds, connector failures on arrival, and
the console's 502 page.
"""

from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, log_in
from tests.doubles import BrokenConnector
from tests.factories import CHECK, bearer, epoc, officer_key, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from tests.notifier_doubles import RecordingNotifier
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import Agency, AgencyDomain
from trustdesk.bus.memory import InProcessBus
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful.models import Decision, LawfulRequest, PreservationHold, Production, Removal, UserNotice
from trustdesk.lawful.notices import send_due_notices
from trustdesk.lawful.package import generate_age_identity
from trustdesk.lawful.staff_routes import DecisionIn
from trustdesk.platform.protocol import DataCategory, Period
from trustdesk.platform.reference.store import holds as platform_holds
from trustdesk.vocabulary import IssuerKind

ALL = ["subscriber", "identification", "traffic", "content"]
PERIOD = {"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


# --- helpers ------------------------------------------------------------------------------------------


def decide(world: World, tracking: str, body: dict[str, Any], token: str | None = None) -> Any:
    """POST decide as the reviewer, having opened the request's signed orders and confirmed them where the
    desk asks for that (the reviewer confirms the order before complying)."""
    token = token or world.reviewer
    if "documents_confirmed" in DecisionIn.model_fields and body.get("outcome") != "refuse":
        for document in world.view(tracking)["request"].get("documents", []):
            opened = world.staff(token, "GET", f"/{tracking}/documents/{document['id']}")
            assert opened.status_code == 200, opened.text
        body = body | {"documents_confirmed": True}
    return world.staff(token, "POST", f"/{tracking}/decide", json=body)


def decided(world: World, tracking: str, body: dict[str, Any]) -> dict[str, Any]:
    response = decide(world, tracking, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def status_of(world: World, tracking: str) -> str:
    status: str = world.view(tracking)["request"]["status"]
    return status


def request_of(s: Session, tracking: str) -> LawfulRequest:
    return s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()


def decisions(sessions: sessionmaker[Session], tracking: str) -> list[Decision]:
    with sessions() as s:
        return list(s.scalars(select(Decision).where(Decision.request_id == request_of(s, tracking).id)))


def production_epoc(categories: list[str], **changes: Any) -> dict[str, Any]:
    """A non-emergency EPOC from the French investigating judge, suspect confirmed (the engine complies)."""
    body = epoc(
        emergency=False,
        emergency_justification=None,
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        data_categories=categories,
        period=PERIOD,
        suspect_confirmed=True,
    )
    return body | changes


def agency_of(sessions: sessionmaker[Session], domain: str) -> str:
    with sessions() as s:
        agency: str = s.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == domain)).one()
        return agency


def with_recipient(world: World, sessions: sessionmaker[Session], domain: str) -> None:
    with unit_of_work(sessions) as s:
        agency = s.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == domain)).one()
        authorities.set_recipient(s, world.clock, Actor.operator(), agency, generate_age_identity()[1])
        authorities.verify_agency(s, world.clock, Actor.operator(), agency, CHECK)


# --- 1. data minimisation in the decision -------------------------------------------------------------


def test_a_decision_disclosing_a_category_the_authority_never_requested_is_refused(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(production_epoc(["subscriber", "identification"]))
    recommended = world.view(tracking)["review"]["recommendation"]
    assert recommended["outcome"] == "comply", recommended
    assert set(recommended["allowed_categories"]) <= {"subscriber", "identification"}
    because = "The traffic data would help the investigation."

    for outcome, categories in [
        ("partial", ["subscriber", "traffic"]),
        ("comply", ["subscriber", "identification", "traffic"]),
    ]:
        response = decide(
            world, tracking, {"outcome": outcome, "categories": categories, "justification": because}
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["field"] == "categories", problem
        assert "did not request traffic" in problem["detail"], problem

    assert decisions(sessions, tracking) == []
    assert status_of(world, tracking) in ("acknowledged", "in_review")


def test_comply_discloses_every_requested_category_and_partial_a_strict_subset(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(production_epoc(["subscriber", "identification"]))
    because = "Only the subscriber data is needed to identify the account."

    fewer = decide(
        world, tracking, {"outcome": "comply", "categories": ["subscriber"], "justification": because}
    )
    assert fewer.status_code == 422, fewer.text
    assert (fewer.json()["field"], "use partial" in fewer.json()["detail"]) == ("outcome", True)

    everything = decide(
        world,
        tracking,
        {"outcome": "partial", "categories": ["subscriber", "identification"], "justification": because},
    )
    assert everything.status_code == 422, everything.text
    assert (everything.json()["field"], "use comply" in everything.json()["detail"]) == ("outcome", True)

    refusal = decide(
        world, tracking, {"outcome": "refuse", "categories": ["subscriber"], "justification": because}
    )
    assert refusal.status_code == 422, refusal.text
    assert refusal.json()["field"] == "categories"
    assert decisions(sessions, tracking) == []

    # A strict subset is a partial decision; it deviates from the recommendation, so it must say why.
    silent = decide(world, tracking, {"outcome": "partial", "categories": ["subscriber"]})
    assert silent.status_code == 422, silent.text
    assert silent.json()["code"] == "justification_required"
    assert decisions(sessions, tracking) == []

    view = decided(
        world, tracking, {"outcome": "partial", "categories": ["subscriber"], "justification": because}
    )
    assert view["request"]["status"] == "awaiting_approval"
    (decision,) = decisions(sessions, tracking)
    assert (decision.outcome, decision.allowed_categories, decision.deviates) == (
        "partial",
        ["subscriber"],
        True,
    )
    assert decision.justification == because


def test_comply_without_categories_discloses_exactly_what_was_requested_and_allowed(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(production_epoc(["subscriber", "identification"]))
    decided(world, tracking, {"outcome": "comply"})
    (decision,) = decisions(sessions, tracking)
    assert (decision.outcome, decision.allowed_categories, decision.deviates) == (
        "comply",
        ["identification", "subscriber"],
        False,
    )


# --- 2. a removal's territorial scope -----------------------------------------------------------------


def removal_order(world: World, instrument: str, **changes: Any) -> str:
    body = tco(targets=[{"type": "content_url", "value": world.message_locator}], **changes)
    if instrument == "EU_DSA_ART9":
        body |= {
            "instrument": "EU_DSA_ART9",
            "reference": "DSA9-DE-2026-3",
            "legal_basis": "Regulation (EU) 2022/2065, Art. 9; NetzDG",
        }
    tracking = world.submit(body, world.de_key)
    recommended = world.view(tracking)["review"]["recommendation"]["outcome"]
    body = {"outcome": "comply"}
    if recommended != "comply":
        body["justification"] = "Counsel confirmed the order is valid."
    decided(world, tracking, body)
    world.act(world.reviewer, tracking, "execute")
    return tracking


def the_removal(sessions: sessionmaker[Session], tracking: str) -> Removal:
    with sessions() as s:
        return s.scalars(select(Removal).where(Removal.request_id == request_of(s, tracking).id)).one()


def exported_texts(world: World) -> list[object]:
    content = world.platform.export(
        world.suspect, [DataCategory.CONTENT], Period(world.clock.now - timedelta(days=400), world.clock.now)
    )
    return [r.fields.get("text") for r in content.records]


def test_an_order_that_may_name_a_territory_geo_restricts_there_only(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = removal_order(world, "EU_DSA_ART9", territorial_scope=["DE", "AT"])

    removal = the_removal(sessions, tracking)
    assert (removal.action, removal.scope) == ("geo_restrict", ["AT", "DE"])
    assert removal.locator == world.message_locator
    assert exported_texts(world), "restricted in two countries, the message is still there elsewhere"
    effect = [
        m for m in world.officer_view(tracking, world.de_key)["correspondence"] if m["kind"] == "effect_given"
    ]
    assert [("restricted in DE, AT" in m["body"]) for m in effect] == [True]


def test_the_same_order_without_a_territory_removes_everywhere(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = removal_order(world, "EU_DSA_ART9")
    removal = the_removal(sessions, tracking)
    assert (removal.action, removal.scope) == ("remove", None)
    assert exported_texts(world) == []


def test_a_tco_order_naming_a_territory_still_removes_in_every_member_state(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = removal_order(world, "EU_TCO_REMOVAL", territorial_scope=["DE"])
    removal = the_removal(sessions, tracking)
    assert (removal.action, removal.scope) == ("remove", None)
    assert exported_texts(world) == []
    effect = [
        m for m in world.officer_view(tracking, world.de_key)["correspondence"] if m["kind"] == "effect_given"
    ]
    assert ["in every Member State" in m["body"] for m in effect] == [True]


# --- 3. confidentiality defers the user notice --------------------------------------------------------


def notices_of(sessions: sessionmaker[Session], tracking: str) -> list[UserNotice]:
    with sessions() as s:
        return list(s.scalars(select(UserNotice).where(UserNotice.request_id == request_of(s, tracking).id)))


def send_now(world: World, sessions: sessionmaker[Session]) -> list[str]:
    with unit_of_work(sessions) as s:
        return send_due_notices(s, world.clock, world.platform)


def test_the_content_provider_is_told_only_when_the_confidentiality_ends(
    world: World, sessions: sessionmaker[Session]
) -> None:
    received = world.clock.now
    until = received + timedelta(weeks=5)
    tracking = removal_order(world, "EU_TCO_REMOVAL", confidential_until=until.isoformat())

    (notice,) = notices_of(sessions, tracking)
    assert (notice.account_id, notice.status, notice.due_at) == (world.suspect, "scheduled", until)
    assert "confidentiality" in notice.reason
    assert send_now(world, sessions) == []
    world.clock.now = until - timedelta(seconds=1)
    assert send_now(world, sessions) == []
    assert world.platform.notices(world.suspect) == []

    world.clock.now = until
    assert send_now(world, sessions) == [notice.id]
    assert len(world.platform.notices(world.suspect)) == 1


def test_without_confidentiality_the_content_provider_is_told_at_once(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = removal_order(world, "EU_TCO_REMOVAL")
    (notice,) = notices_of(sessions, tracking)
    assert (notice.status, notice.due_at) == ("scheduled", world.clock.now)
    assert len(send_now(world, sessions)) == 1
    assert len(world.platform.notices(world.suspect)) == 1


def test_extending_the_confidentiality_defers_the_notice_with_it(
    world: World, sessions: sessionmaker[Session]
) -> None:
    received = world.clock.now
    tracking = removal_order(
        world, "EU_TCO_REMOVAL", confidential_until=(received + timedelta(weeks=5)).isoformat()
    )
    later = received + timedelta(weeks=11)
    extended = world.client.post(
        f"/api/v1/requests/{tracking}/removals/confidentiality",
        json={"until": later.isoformat()},
        headers=bearer(world.de_key),
    )
    assert extended.status_code == 200, extended.text

    (notice,) = notices_of(sessions, tracking)
    assert notice.due_at == later
    world.clock.now = received + timedelta(weeks=6)
    assert send_now(world, sessions) == []
    assert world.platform.notices(world.suspect) == []
    world.clock.now = later
    assert send_now(world, sessions) == [notice.id]


# --- 4. no production without an age recipient -------------------------------------------------------


US_DOMAIN = "usdoj.gov"


def subpoena(world: World, sessions: sessionmaker[Session]) -> str:
    """A US subpoena (notice to the user before disclosure) from an office without an age recipient."""
    key = officer_key(sessions, world.clock, country="US", kind=IssuerKind.PROSECUTOR, domain=US_DOMAIN)
    body = {
        "instrument": "US_SUBPOENA",
        "reference": "GJ-2026-7",
        "issuing_authority": {"name": "US Attorney", "kind": "prosecutor", "country": "US"},
        "legal_basis": "18 U.S.C. 2703(c)(2)",
        "targets": [{"type": "phone", "value": SUSPECT_PHONE}],
        "data_categories": ["subscriber"],
        "suspect_confirmed": True,
    }
    tracking = world.submit(body, key)
    decided(world, tracking, {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    return tracking


def productions(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Production)) or 0


def test_a_production_for_an_agency_without_an_age_recipient_is_refused_before_anyone_is_told(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = subpoena(world, sessions)
    with sessions() as s:
        assert s.get_one(Agency, agency_of(sessions, US_DOMAIN)).age_recipient is None

    refused = world.staff(world.reviewer, "POST", f"/{tracking}/execute")

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "no_recipient"
    assert status_of(world, tracking) == "approved"
    assert productions(sessions) == 0
    assert notices_of(sessions, tracking) == []
    assert world.platform.notices(world.suspect) == []  # the user was not told of a disclosure that failed

    with_recipient(world, sessions, US_DOMAIN)
    done = world.act(world.reviewer, tracking, "execute")
    assert done["review"]["production"] is not None
    assert productions(sessions) == 1
    assert len(world.platform.notices(world.suspect)) == 1


# --- 5. one agency never releases another agency's hold ----------------------------------------------


def preservation(categories: list[str]) -> dict[str, Any]:
    body = production_epoc(
        categories,
        instrument="EU_EPOC_PR",
        issuing_authority={"name": "Parquet de Paris", "kind": "prosecutor", "country": "FR"},
    )
    del body["suspect_confirmed"]
    return body


def hold_of(sessions: sessionmaker[Session], tracking: str) -> PreservationHold:
    with sessions() as s:
        return s.scalars(
            select(PreservationHold).where(PreservationHold.request_id == request_of(s, tracking).id)
        ).one()


def preserved(world: World, categories: list[str]) -> str:
    tracking = world.submit(preservation(categories))
    decided(world, tracking, {"outcome": "comply"})
    world.act(world.reviewer, tracking, "execute")
    return tracking


def on_platform(world: World, hold_id: str) -> bool:
    with world.platform.engine.connect() as conn:
        found = conn.execute(select(platform_holds.c.hold_id).where(platform_holds.c.hold_id == hold_id))
        return found.first() is not None


def confirm(world: World, tracking: str, reference: str, key: str) -> Any:
    return world.client.post(
        f"/api/v1/requests/{tracking}/holds/confirm-production",
        json={"production_reference": reference},
        headers=bearer(key),
    )


def test_another_agencys_production_never_releases_a_hold_even_when_it_is_named(
    world: World, sessions: sessionmaker[Session]
) -> None:
    kept = preserved(world, ["identification"])
    lyon_key = officer_key(sessions, world.clock, domain="tj-lyon.justice.fr")
    with_recipient(world, sessions, "tj-lyon.justice.fr")
    lyon = world.submit(production_epoc(["identification"], reference="LY-2026-9"), lyon_key)
    # Paris names Lyon's production request (a slip, or mischief): the hold now waits for it.
    assert confirm(world, kept, lyon, world.fr_key).status_code == 200

    decided(world, lyon, {"outcome": "comply"})
    world.act(world.approver, lyon, "approve")
    world.act(world.reviewer, lyon, "execute")

    hold = hold_of(sessions, kept)
    assert (hold.released_at, hold.ended) == (None, None)
    assert on_platform(world, hold.id)
    # Lyon's own arrival hold was delivered in full by its production: the filter is by agency, not blanket.
    assert hold_of(sessions, lyon).ended == "delivered"


def test_another_agency_cannot_end_extend_or_confirm_a_hold(
    world: World, sessions: sessionmaker[Session]
) -> None:
    kept = preserved(world, ["identification"])
    base = f"/api/v1/requests/{kept}/holds"
    ended = world.client.post(f"{base}/end", json={"reason": "withdrawn"}, headers=bearer(world.de_key))
    extended = world.client.post(f"{base}/extend", headers=bearer(world.de_key))
    confirmed = confirm(world, kept, "TD-2026-AAAA-BBBB", world.de_key)
    assert [r.status_code for r in (ended, extended, confirmed)] == [404, 404, 404]
    hold = hold_of(sessions, kept)
    assert (hold.released_at, hold.extensions, hold.production_reference) == (None, 0, None)


# --- 8. the platform fails when a request arrives ----------------------------------------------------


def break_platform(container: Container, *calls: str, failures: int | None = None) -> BrokenConnector:
    broken = BrokenConnector(container.connector, *calls, failures=failures)
    container.__dict__["connector"] = broken
    return broken


def arrival_holds(sessions: sessionmaker[Session], tracking: str) -> list[PreservationHold]:
    with sessions() as s:
        return list(
            s.scalars(
                select(PreservationHold).where(PreservationHold.request_id == request_of(s, tracking).id)
            )
        )


@pytest.fixture
def alerts(container: Container) -> RecordingNotifier:
    recorder = RecordingNotifier()
    container.notifier = recorder
    return recorder


def test_a_platform_down_at_arrival_still_records_and_acknowledges_the_request_and_dead_letters_it(
    world: World, container: Container, sessions: sessionmaker[Session], alerts: RecordingNotifier
) -> None:
    broken = break_platform(container, "place_hold")

    response = world.client.post("/api/v1/requests", json=epoc(), headers=bearer(world.fr_key))

    assert response.status_code == 201, response.text
    tracking = response.json()["tracking_number"]
    assert response.json()["status"] == "acknowledged"
    assert world.officer_view(tracking)["status"] == "acknowledged"
    assert arrival_holds(sessions, tracking) == []
    bus = cast(InProcessBus, container.bus)
    # Retried as often as the bus delivers, then kept where an operator sees it and can republish it.
    assert broken.calls["place_hold"] == bus.max_deliver
    (letter,) = [payload for subject, payload in bus.dead_letters if subject == "lawful.request.received"]
    assert "the platform is down (place_hold)" in letter["error"]
    assert letter["attempts"] == str(bus.max_deliver)
    assert request_id_of(sessions, tracking) in letter["payload"]


def request_id_of(sessions: sessionmaker[Session], tracking: str) -> str:
    with sessions() as s:
        return request_of(s, tracking).id


def test_a_platform_that_fails_once_at_arrival_is_retried_and_the_emergency_preserved_and_alerted(
    world: World, container: Container, sessions: sessionmaker[Session], alerts: RecordingNotifier
) -> None:
    broken = break_platform(container, "place_hold", failures=1)

    tracking = world.submit(epoc(), document=False)

    assert broken.calls["place_hold"] == 2
    (hold,) = arrival_holds(sessions, tracking)
    assert (hold.reason, hold.account_id, hold.released_at) == ("emergency", world.suspect, None)
    assert cast(InProcessBus, container.bus).dead_letters == []
    assert [(a.tracking_number, a.kind.value) for a in alerts.alerts] == [(tracking, "emergency")]


def test_a_notifier_down_at_arrival_leaves_the_emergency_preserved_and_the_alert_recorded(
    world: World, container: Container, sessions: sessionmaker[Session], alerts: RecordingNotifier
) -> None:
    alerts.unavailable = True

    tracking = world.submit(epoc(), document=False)

    (hold,) = arrival_holds(sessions, tracking)
    assert hold.reason == "emergency"
    assert [(a.tracking_number, a.kind.value) for a in alerts.failed] == [(tracking, "emergency")]
    assert cast(InProcessBus, container.bus).dead_letters == []


def test_an_emergency_is_alerted_on_arrival_even_when_its_preservation_fails(
    world: World, container: Container, alerts: RecordingNotifier
) -> None:
    break_platform(container, "place_hold")
    tracking = world.submit(epoc(), document=False)
    assert [(a.tracking_number, a.kind.value) for a in alerts.alerts] == [(tracking, "emergency")]


# --- 9. the console's 502 page -----------------------------------------------------------------------


def console_reviewer(world: World, sessions: sessionmaker[Session]) -> str:
    secret = add_staff_login(sessions, world.clock, "rev502@platform.example", "legal_reviewer")
    return log_in(world.client, "console", "rev502@platform.example", secret, world.clock)


def test_the_console_shows_its_502_page_when_the_platform_fails_an_execution(
    world: World, container: Container, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(production_epoc(["subscriber", "identification"]))
    decided(world, tracking, {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    csrf = console_reviewer(world, sessions)
    break_platform(container, "export")

    response = world.client.post(
        f"/console/requests/{tracking}/execute", data={"csrf_token": csrf}, follow_redirects=False
    )

    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "the messaging platform could not do this" in response.text
    assert "the platform is down (export)" in response.text
    assert "Traceback" not in response.text
    assert status_of(world, tracking) == "approved"  # nothing changed
    assert productions(sessions) == 0


def test_the_console_request_page_is_a_502_page_when_the_platform_cannot_look_up_the_targets(
    world: World, container: Container, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(production_epoc(["subscriber"]))
    csrf = console_reviewer(world, sessions)
    assert csrf
    break_platform(container, "lookup_account")

    response = world.client.get(f"/console/requests/{tracking}", follow_redirects=False)

    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "the platform could not carry out the call: the platform is down (lookup_account)" in response.text
