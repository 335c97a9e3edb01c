"""Lawful requests answered from a real Synapse.

An EPOC for a phone yields the homeserver's real session IP addresses and no message text; a TCO removal
order redacts the real event, which the other user then sees redacted."""

import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import CHECK, PDF, bearer, epoc, officer_key, tco
from tests.synapse import MODULE_SECRET, Homeserver, shared_homeserver
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import FrozenClock, system_clock
from trustdesk.db import unit_of_work
from trustdesk.lawful.package import generate_age_identity, open_package
from trustdesk.lawful.package_check import read_records, verify_package
from trustdesk.platform.matrix.connector import MatrixConnector, message_locator
from trustdesk.staff import service as staff
from trustdesk.vocabulary import IssuerKind

pytestmark = pytest.mark.slow
TEXT = "meet me behind the old station at nine"


@pytest.fixture
def chat() -> dict[str, str]:
    """Erin (with a phone, really logged in) and Frank in a private room; Erin's message in it.

    One chat per test and per database run: a removal test on PostgreSQL must redact its own event, not
    find the one the SQLite run already redacted. The homeserver is shared by the whole run and never
    forgets a user, so every set-up gets new names.
    """
    server: Homeserver = shared_homeserver()
    suffix = secrets.token_hex(3)
    erin, frank = f"lawful_erin_{suffix}", f"lawful_frank_{suffix}"
    phone = "+49155" + str(secrets.randbelow(9_000_000) + 1_000_000)
    user = server.user_id(erin)
    server.register(erin)
    server.register(frank)
    server.set_profile(user, phone=phone, email=f"{erin}@example.org", displayname="Erin")
    server.login(erin)  # a real session: Synapse records the client's IP
    frank_token = server.login(frank)
    room = server.create_private_room(user, server.user_id(frank))
    event = server.send(room, user, {"msgtype": "m.text", "body": TEXT})
    return {"erin": user, "phone": phone, "room": room, "event": event, "frank_token": frank_token}


@pytest.fixture
def matrix(container: Container) -> MatrixConnector:
    server = shared_homeserver()
    connector = MatrixConnector(
        server.base_url, server.admin_token, clock=system_clock, module_secret=MODULE_SECRET
    )
    container.__dict__["connector"] = connector  # the container's platform is this homeserver
    return connector


def staff_tokens(sessions: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    tokens = {}
    with unit_of_work(sessions) as s:
        for role in ("legal_reviewer", "legal_approver"):
            user = staff.add_user(
                s, clock, Actor.operator(), email=f"{role}@platform.example", roles=[role]
            ).user
            tokens[role] = staff.issue_token(s, clock, Actor.operator(), user)
    return tokens


def test_an_epoc_for_a_phone_produces_the_real_session_ips_and_no_text(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    chat: dict[str, str],
    matrix: MatrixConnector,
) -> None:
    # The desk receives the order now, in real time like the homeserver: only data stored by then is
    # evidence (Reg. 2023/1543 Art. 3(8)), so the period ends at receipt. The clock moves before the
    # agency and the staff tokens are made: a token issued at the frozen start would have expired by now.
    now = datetime.now(UTC)
    clock.now = now
    key = officer_key(sessions, clock)
    identity, recipient = generate_age_identity()
    with unit_of_work(sessions) as s:
        agency_id = s.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == "justice.fr")).one()
        authorities.set_recipient(s, clock, Actor.operator(), agency_id, recipient)
        authorities.verify_agency(s, clock, Actor.operator(), agency_id, CHECK)  # a new key: verified again
        tokens = {}
        for role in ("legal_reviewer", "legal_approver"):
            user = staff.add_user(
                s, clock, Actor.operator(), email=f"{role}@platform.example", roles=[role]
            ).user
            tokens[role] = staff.issue_token(s, clock, Actor.operator(), user)

    period = {"from": (now - timedelta(days=2)).isoformat(), "to": now.isoformat()}
    body = epoc(targets=[{"type": "phone", "value": chat["phone"]}], suspect_confirmed=True, period=period)
    tracking = client.post("/api/v1/requests", json=body, headers=bearer(key)).json()["tracking_number"]
    client.post(
        f"/api/v1/requests/{tracking}/documents",
        files={"file": ("o.pdf", PDF, "application/pdf")},
        headers=bearer(key),
    )
    staff_url = f"/api/v1/staff/requests/{tracking}"
    shown = client.get(staff_url, headers=bearer(tokens["legal_reviewer"])).json()
    assert shown["review"]["recommendation"]["outcome"] == "comply", shown["review"]["recommendation"]
    for document in shown["request"]["documents"]:  # the reviewer reads the signed order first
        reader = bearer(tokens["legal_reviewer"])
        opened = client.get(f"{staff_url}/documents/{document['id']}", headers=reader)
        assert opened.status_code == 200, opened.text
    for token, action in [
        ("legal_reviewer", "decide"),
        ("legal_approver", "approve"),
        ("legal_reviewer", "execute"),
    ]:
        payload = {"outcome": "comply", "documents_confirmed": True} if action == "decide" else {}
        response = client.post(f"{staff_url}/{action}", json=payload, headers=bearer(tokens[token]))
        assert response.status_code == 200, response.text

    package = client.get(f"/api/v1/requests/{tracking}/production", headers=bearer(key))
    assert package.status_code == 200, package.text
    tar = open_package(package.content, identity)
    assert verify_package(tar, container.signer.public_key_bytes()).ok
    records = read_records(tar)
    sessions_found = [r for r in records["identification"] if r["kind"] == "session"]
    assert sessions_found, records
    assert {r["fields"]["ip"] for r in sessions_found} == {"127.0.0.1"}
    assert [r["fields"]["phone"] for r in records["subscriber"]] == [chat["phone"]]
    assert TEXT.encode() not in tar
    assert chat["erin"].encode() in tar  # the account the authority asked about, by its platform id


def test_a_tco_removal_order_redacts_the_real_event_for_everyone(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    chat: dict[str, str],
    matrix: MatrixConnector,
) -> None:
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    tokens = staff_tokens(sessions, clock)
    locator = message_locator(chat["room"], chat["event"])
    tracking = client.post(
        "/api/v1/requests", json=tco(targets=[{"type": "content_url", "value": locator}]), headers=bearer(key)
    ).json()["tracking_number"]
    staff_url = f"/api/v1/staff/requests/{tracking}"
    for action in ("decide", "execute", "answer"):
        clock.advance(timedelta(minutes=5))
        payload = {"outcome": "comply"} if action == "decide" else {}
        response = client.post(
            f"{staff_url}/{action}", json=payload, headers=bearer(tokens["legal_reviewer"])
        )
        assert response.status_code == 200, response.text

    server = shared_homeserver()
    room, event = (urllib.parse.quote(chat[k]) for k in ("room", "event"))
    seen = server.call("GET", f"/_matrix/client/v3/rooms/{room}/event/{event}", token=chat["frank_token"])
    assert seen["content"] == {}
    assert "redacted_because" in seen["unsigned"]
    answered = client.get(f"/api/v1/requests/{tracking}", headers=bearer(key)).json()
    assert answered["status"] == "answered"
    assert [m["kind"] for m in answered["correspondence"]] == ["effect_given", "answer"]
