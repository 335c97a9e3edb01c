"""Issue 11: changing an agency's encryption recipient tells the agency (a notice on its portal until an
officer acknowledges it), lapses its verification until a second person verifies it, and the approver sees
where the production will be encrypted to. SQLite and PostgreSQL."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import give_officer_login, log_in
from tests.factories import CHECK
from tests.lawful_world import World, build_world
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor, ActorKind
from trustdesk.authorities import notices
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyNotice, Officer
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.errors import Forbidden, NotFound
from trustdesk.lawful.package import generate_age_identity
from trustdesk.web import login_routes
from trustdesk.web.browser import LoginThrottle

FR_OFFICER = "officer@justice.fr"
DE_OFFICER = "officer@bka.bund.de"
INSIDER = Actor(ActorKind.STAFF, "insider-staff-id")


@pytest.fixture(autouse=True)
def _fresh_login_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_routes, "throttle", LoginThrottle())


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def agency_of(sessions: sessionmaker[Session], email: str) -> str:
    with sessions() as session:
        officer = session.scalars(select(Officer).where(Officer.email == email)).one()
        return officer.agency_id


def swap_recipient(sessions: sessionmaker[Session], clock: FrozenClock, agency_id: str) -> str:
    with unit_of_work(sessions) as session:  # the notice of the recipient the world registered is read
        for earlier in notices.pending(session, agency_id):
            earlier.acknowledged_at = clock()
    _, recipient = generate_age_identity()
    with unit_of_work(sessions) as session:
        authorities.set_recipient(session, clock, INSIDER, agency_id, recipient)
    return recipient


def test_a_changed_recipient_is_shown_to_the_agency_until_an_officer_acknowledges_it(
    world: World, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    agency_id = agency_of(sessions, FR_OFFICER)
    recipient = swap_recipient(sessions, clock, agency_id)
    with unit_of_work(sessions) as session:  # a second person verifies the change with the agency
        authorities.verify_agency(session, clock, Actor(ActorKind.STAFF, "second-person"), agency_id, CHECK)

    csrf = log_in(world.client, "portal", FR_OFFICER, give_officer_login(sessions, clock, FR_OFFICER), clock)
    home = world.client.get("/portal").text
    assert "About your agency&#39;s account" in home or "About your agency's account" in home
    assert recipient in home
    notice_id = next(n.id for n in _pending(sessions, agency_id))
    acknowledged = world.client.post(
        f"/portal/notices/{notice_id}/acknowledge", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert acknowledged.status_code == 303
    assert recipient not in world.client.get("/portal").text
    assert _pending(sessions, agency_id) == []
    again = world.client.post(f"/portal/notices/{notice_id}/acknowledge", data={"csrf_token": csrf})
    assert again.status_code == 409


def test_a_notice_cannot_be_acknowledged_without_the_csrf_token_or_by_another_agency(
    world: World, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    agency_id = agency_of(sessions, FR_OFFICER)
    swap_recipient(sessions, clock, agency_id)
    notice_id = _pending(sessions, agency_id)[0].id

    csrf = log_in(world.client, "portal", DE_OFFICER, give_officer_login(sessions, clock, DE_OFFICER), clock)
    forged = world.client.post(f"/portal/notices/{notice_id}/acknowledge", data={})
    assert forged.status_code == 403
    foreign = world.client.post(f"/portal/notices/{notice_id}/acknowledge", data={"csrf_token": csrf})
    assert foreign.status_code == 404
    assert [n.id for n in _pending(sessions, agency_id)] == [notice_id]
    with unit_of_work(sessions) as session:
        german = session.scalars(select(Officer).where(Officer.email == DE_OFFICER)).one()
        with pytest.raises(NotFound):
            notices.acknowledge(session, clock, german, notice_id)


def test_the_insider_who_swapped_the_recipient_cannot_verify_it_and_nothing_is_produced_meanwhile(
    world: World, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    agency_id = agency_of(sessions, FR_OFFICER)
    swap_recipient(sessions, clock, agency_id)
    with unit_of_work(sessions) as session:
        assert not authorities.get_agency(session, agency_id).verified
        with pytest.raises(Forbidden, match="four eyes"):
            authorities.verify_agency(session, clock, INSIDER, agency_id, CHECK)
    officer = world.client.get("/api/v1/requests", headers={"Authorization": f"Bearer {world.fr_key}"})
    assert officer.status_code == 403
    assert officer.json()["code"] == "agency_not_verified"


def test_setting_the_same_recipient_again_sends_no_notice(
    world: World, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    agency_id = agency_of(sessions, FR_OFFICER)
    recipient = swap_recipient(sessions, clock, agency_id)
    with unit_of_work(sessions) as session:
        authorities.set_recipient(session, clock, INSIDER, agency_id, recipient)
    assert len(_pending(sessions, agency_id)) == 1


def _pending(sessions: sessionmaker[Session], agency_id: str) -> list[AgencyNotice]:
    with sessions() as session:
        return notices.pending(session, agency_id)
