"""The legal team opens the signed order it is judging: staff only, audited, a download with a sandboxing
policy; an officer cannot attach a document once the request is decided. SQLite and PostgreSQL."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, log_in
from tests.factories import PDF, bearer, epoc
from tests.lawful_world import World, build_world
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.web.app import create_app


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def document_of(world: World, tracking: str) -> str:
    (document,) = world.officer_view(tracking)["documents"]
    return str(document["id"])


def test_the_signed_order_is_downloaded_by_staff_with_a_sandbox_and_the_view_is_audited(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc())
    document = document_of(world, tracking)
    response = world.staff(world.reviewer, "GET", f"/{tracking}/documents/{document}")
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert response.headers["cache-control"] == "no-store"
    with sessions() as session:
        (viewed,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "lawful:document:view"))
        assert viewed.data["after"]["document_id"] == document
    other = world.submit(epoc(reference="PJ-2026-0043"))
    assert world.staff(world.reviewer, "GET", f"/{other}/documents/{document}").status_code == 404
    officer = world.client.get(
        f"/api/v1/staff/requests/{tracking}/documents/{document}", headers=bearer(world.fr_key)
    )
    assert officer.status_code == 401


def test_the_console_links_the_document_and_serves_it_the_same_way(
    world: World, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = world.submit(epoc())
    document = document_of(world, tracking)
    secret = add_staff_login(sessions, clock, "lea@platform.example", "legal_reviewer")
    with TestClient(create_app(container), base_url="https://testserver") as browser:
        log_in(browser, "console", "lea@platform.example", secret, clock)
        page = browser.get(f"/console/requests/{tracking}").text
        assert f'href="/console/requests/{tracking}/documents/{document}" download' in page
        response = browser.get(f"/console/requests/{tracking}/documents/{document}")
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
        assert browser.get(f"/console/requests/{tracking}/documents/nope").status_code == 404


def test_no_document_is_attached_once_the_request_is_decided(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc())
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    late = world.client.post(
        f"/api/v1/requests/{tracking}/documents",
        files={"file": ("late.pdf", PDF, "application/pdf")},
        headers=bearer(world.fr_key),
    )
    assert late.status_code == 409
    assert late.json()["code"] == "request_not_open_for_documents"
    assert len(world.officer_view(tracking)["documents"]) == 1
