"""A small world for end-to-end tests of the legal workflow: agencies with age keys, staff, platform users."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import CHECK, PDF, bearer, officer_key
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful.package import generate_age_identity
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.staff import service as staff
from trustdesk.vocabulary import IssuerKind

SUSPECT_PHONE = "+33612345678"
SECRET_TEXT = "the-meeting-is-at-the-old-bridge"


@dataclass
class World:
    client: TestClient
    container: Container
    clock: FrozenClock
    fr_key: str
    fr_identity: str
    de_key: str
    reviewer: str
    approver: str
    suspect: str
    message_locator: str

    @property
    def platform(self) -> ReferencePlatform:
        return cast(ReferencePlatform, self.container.connector)

    def submit(self, body: dict[str, Any], key: str | None = None, *, document: bool = True) -> str:
        headers = bearer(key or self.fr_key)
        response = self.client.post("/api/v1/requests", json=body, headers=headers)
        assert response.status_code == 201, response.text
        tracking: str = response.json()["tracking_number"]
        if document and response.json()["status"] != "refused":  # refused on receipt: nothing to attach
            upload = self.client.post(
                f"/api/v1/requests/{tracking}/documents",
                files={"file": ("order.pdf", PDF, "application/pdf")},
                headers=headers,
            )
            assert upload.status_code == 201, upload.text
        return tracking

    def staff(self, token: str, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, f"/api/v1/staff/requests{path}", headers=bearer(token), **kwargs)

    def act(
        self, token: str, tracking: str, action: str, json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = dict(json or {})
        complying = (action == "decide" and body.get("outcome") != "refuse") or (
            action == "conflict" and body.get("resolution") == "complied"
        )
        if complying and "documents_confirmed" not in body:
            self.read_documents(token, tracking)  # as a reviewer does before complying
            body["documents_confirmed"] = True
        response = self.staff(token, "POST", f"/{tracking}/{action}", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def read_documents(self, token: str, tracking: str) -> None:
        """Open every signed order of the request as this staff user (the audited download)."""
        for document in self.view(tracking)["request"]["documents"]:
            opened = self.staff(token, "GET", f"/{tracking}/documents/{document['id']}")
            assert opened.status_code == 200, opened.text

    def view(self, tracking: str) -> dict[str, Any]:
        response = self.staff(self.reviewer, "GET", f"/{tracking}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def officer_view(self, tracking: str, key: str | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/requests/{tracking}", headers=bearer(key or self.fr_key))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def build_world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    fr_key = officer_key(sessions, clock)
    de_key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    identity, recipient = generate_age_identity()
    with unit_of_work(sessions) as session:
        agency_id = session.scalars(
            select(AgencyDomain.agency_id).where(AgencyDomain.domain == "justice.fr")
        ).one()
        authorities.set_recipient(session, clock, Actor.operator(), agency_id, recipient)
        authorities.verify_agency(session, clock, Actor.operator(), agency_id, CHECK)  # a new key: again
        reviewer = staff.add_user(
            session, clock, Actor.operator(), email="rui@platform.example", roles=["legal_reviewer"]
        ).user
        approver = staff.add_user(
            session, clock, Actor.operator(), email="ana@platform.example", roles=["legal_approver"]
        ).user
        reviewer_token = staff.issue_token(session, clock, Actor.operator(), reviewer)
        approver_token = staff.issue_token(session, clock, Actor.operator(), approver)
    platform = cast(ReferencePlatform, container.connector)
    suspect = platform.add_user(
        phone=SUSPECT_PHONE,
        username="suspect",
        display_name="S. Uspect",
        email="s@example.org",
        registered_at=clock.now - timedelta(days=400),
        registration_ip="198.51.100.7",
    )
    friend = platform.add_user(
        phone="+33698765432", username="friend", registered_at=clock.now - timedelta(days=300)
    )
    platform.add_session(suspect, ip="203.0.113.9", port=51234, at=clock.now - timedelta(days=20))
    chat = platform.create_chat("private", [suspect, friend], created_at=clock.now - timedelta(days=100))
    locator = platform.post_message(chat, suspect, text=SECRET_TEXT, sent_at=clock.now - timedelta(days=15))
    return World(
        client, container, clock, fr_key, identity, de_key, reviewer_token, approver_token, suspect, locator
    )
