"""The console's face of triage (issue 13), on SQLite and PostgreSQL, in a browser's shoes: a message in the
mailroom's queue opened, its prefills, and the three decisions a legal reviewer takes about it: recorded as
a lawful request (the e-mail's date of receipt, tracking number and PDF; held for a callback when nothing
authenticates the sender), attached to a request's file, or rejected with a reason. What is refused (another
role, no CSRF token, bad input, a message already decided) changes nothing."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, give_officer_login, log_in
from tests.factories import PDF, epoc, officer_key
from tests.unit.test_mail_authenticity import agency_dns, mail, sign, wire
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.authorities.models import Officer
from trustdesk.bus.protocol import Subject
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.intake import store
from trustdesk.intake.authenticity import StaticDns
from trustdesk.intake.models import InboundMessage
from trustdesk.lawful import service as lawful
from trustdesk.lawful.models import Correspondence, LawfulRequest, RequestDocument
from trustdesk.lawful.schemas import RequestIn

OFFICER = "officer@justice.fr"
OTHER_OFFICER = "officer@bka.de"
RECEIVED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the test clock's now: when the mail is stored


def dns() -> StaticDns:
    """The agency's DKIM key and DMARC policy (nothing leaves the test)."""
    return StaticDns(agency_dns().records)


@pytest.fixture
def officers(sessions: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    """Two verified agencies, each with one officer: justice.fr (FR, investigating judge) and bka.de (DE)."""
    officer_key(sessions, clock)
    officer_key(sessions, clock, country="DE", domain="bka.de")
    with sessions() as session:
        found = session.scalars(select(Officer).where(Officer.email.in_([OFFICER, OTHER_OFFICER])))
        return {o.email: o.id for o in found}


@pytest.fixture
def published(container: Container, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every event the app publishes on the container's bus (delivered as usual)."""
    seen: list[tuple[str, Any]] = []
    deliver = container.bus.publish

    def publish(subject: str, payload: Any, **kwargs: Any) -> Any:
        seen.append((str(subject), payload))
        return deliver(subject, payload, **kwargs)

    monkeypatch.setattr(container.bus, "publish", publish)
    return seen


def console(client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, role: str) -> str:
    """The client logged in as a new staff user with ``role``; the CSRF token of its pages."""
    email = f"{role}@platform.example"
    secret = add_staff_login(sessions, clock, email, role)
    return log_in(client, "console", email, secret, clock)


def arrive(container: Container, raw: bytes, *, page: bool = False) -> str:
    """An e-mail stored and triaged at arrival in one unit of work (a tracking number and an acknowledgement
    when it is attributed), then, with ``page``, the person on call paged as after the commit."""
    with unit_of_work(container.sessions) as session:
        message = store.receive(
            session, container.clock, raw, channel=store.EMAIL, dns=dns(),
            titles=store.catalogue_titles(container.catalogue),
        )  # fmt: skip
        urgent = container.arrivals.triage(session, container.clock, message)
        message_id = message.id
    if page:
        container.arrivals.after_commit(message_id, urgent)
    return message_id


def signed_order() -> bytes:
    """A French EPOC by e-mail, DKIM-signed by justice.fr, with the signed order as a PDF."""
    return sign(mail(attachments=[("ordonnance.pdf", "application/pdf", PDF)]))


def message_of(sessions: sessionmaker[Session], message_id: str) -> InboundMessage:
    with sessions() as session:
        return session.get_one(InboundMessage, message_id)


def request_by(sessions: sessionmaker[Session], tracking_number: str) -> LawfulRequest:
    with sessions() as session:
        found = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking_number)
        ).one()
        session.expunge(found)
        return found


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def post(client: TestClient, path: str, data: dict[str, Any]) -> httpx2.Response:
    return client.post(path, data=data, follow_redirects=False)


def completed(csrf: str, officer_id: str, **changes: Any) -> dict[str, Any]:
    """The record form as a reviewer sends it: the prefills confirmed, the rest completed from the order."""
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "officer_id": officer_id,
        "instrument": "EU_EPOC",
        "reference": "PJ-2026-114",
        "emergency": "on",
        "emergency_justification": "Imminent threat to the life of a missing minor.",
        "issuer_name": "Juge d'instruction, Tribunal judiciaire de Paris",
        "issuer_kind": "investigating_judge",
        "issuer_country": "FR",
        "legal_basis": "Regulation (EU) 2023/1543, Art. 5; CPP art. 99-3",
        "offence_description": "Kidnapping of a minor",
        "offence_max_penalty_years": "20",
        "targets": "phone:+33612345678",
        "data_categories": ["subscriber", "identification"],
        "period_from": "2026-10-01T00:00",
        "period_to": "2026-11-01T00:00",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def snapshot(sessions: sessionmaker[Session], message_id: str) -> tuple[Any, ...]:
    """What a refused action must leave as it was."""
    message = message_of(sessions, message_id)
    return (
        message.status,
        message.request_id,
        message.note,
        count(sessions, LawfulRequest),
        count(sessions, Correspondence),
        count(sessions, AuditEvent),
    )


def field_value(html: str, name: str) -> str:
    match = re.search(rf'<input type="[^"]+" id="{name}" name="{name}"[^>]*? value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def selected(html: str, name: str) -> list[str]:
    """The values of the options selected in the <select> ``name``."""
    start = html.index(f'id="{name}" name="{name}"')
    block = html[start : html.index("</select>", start)]
    return re.findall(r'<option value="([^"]*)"[^>]*\sselected>', block)


# --- the page ---------------------------------------------------------------------------------------------


def test_the_message_page_shows_the_verdict_what_was_read_the_pdf_the_pages_and_the_prefills(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
) -> None:
    message_id = arrive(container, signed_order(), page=True)
    message = message_of(sessions, message_id)
    assert message.agency_id is not None
    assert message.tracking_number is not None  # given at arrival, with the acknowledgement
    console(client, sessions, clock, "legal_reviewer")

    queue = client.get("/console/mailroom")
    card = queue.text.split(f'id="inbound-{message_id}"')[1].split("</section>")[0]
    assert f'href="/console/mailroom/{message_id}"' in card
    assert "Open to triage" in card
    assert message.tracking_number in card
    assert "not built yet" not in queue.text

    page = client.get(f"/console/mailroom/{message_id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "attributed: Test agency justice.fr" in html
    assert '<dd class="dmarc">pass (policy reject)</dd>' in html
    assert message.tracking_number in html
    (attachment_link,) = re.findall(r'href="(/console/mailroom/attachments/[^"]+)"', html)
    assert client.get(attachment_link).content == PDF
    pages = html.split('id="pages"')[1].split("</section>")[0]
    assert "<tbody>" in pages  # the emergency paged the person on call (here: the fallback)
    # The prefills: the instrument read, the first reference, the number as a target, the emergency, and
    # the attributed agency's country and kind as the issuing authority's.
    assert selected(html, "instrument") == ["EU_EPOC"]
    assert field_value(html, "reference") == "PJ-2026-114"
    targets = html.split('id="targets" name="targets"')[1].split("</textarea>")[0]
    assert targets.endswith(">phone:+33612345678")
    assert re.search(r'id="emergency" name="emergency"[^>]*value="on" checked', html)
    assert field_value(html, "issuer_country") == "FR"
    assert selected(html, "issuer_kind") == ["investigating_judge"]
    # Only the attributed agency's officers are offered; nothing warns of a callback.
    officer_select = html.split('id="officer_id"')[1].split("</select>")[0]
    assert officers[OFFICER] in officer_select
    assert officers[OTHER_OFFICER] not in officer_select
    assert 'id="unauthenticated"' not in html
    for action in ("record", "attach", "reject"):
        assert f'action="/console/mailroom/{message_id}/{action}"' in html
    assert client.get("/console/mailroom/no-such-message").status_code == 404


def test_the_portal_form_is_unchanged_by_the_shared_fields(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, officers: dict[str, str]
) -> None:
    """The fields are the portal's own partial; the portal still speaks to its officer."""
    secret = give_officer_login(sessions, clock, OFFICER)
    log_in(client, "portal", OFFICER, secret, clock)
    html = client.get("/portal/requests/new").text
    assert "Choose the instrument of your order…" in html
    assert "Your case or file number, as it should appear in our answers." in html
    assert "your agency transmits orders of authorities in FR." in html
    assert 'action="/portal/requests"' in html
    assert 'id="document" name="document"' in html


# --- record as a request ----------------------------------------------------------------------------------


def test_recording_an_attributed_mail_makes_the_request_of_its_date_tracking_number_and_pdf(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
    published: list[tuple[str, Any]],
) -> None:
    message_id = arrive(container, signed_order())
    tracking = message_of(sessions, message_id).tracking_number
    assert tracking is not None
    csrf = console(client, sessions, clock, "legal_reviewer")
    clock.advance(timedelta(minutes=20))  # the reviewer records it later than it came: see received_at
    response = post(client, f"/console/mailroom/{message_id}/record", completed(csrf, officers[OFFICER]))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/console/requests/{tracking}?done=recorded"
    shown = client.get(response.headers["location"])
    assert shown.status_code == 200
    assert "Recorded from the mailroom as a lawful request." in shown.text

    recorded = request_by(sessions, tracking)
    assert recorded.channel == "email"
    assert recorded.received_at == RECEIVED
    assert recorded.officer_id == officers[OFFICER]
    assert recorded.reference == "PJ-2026-114"
    assert recorded.emergency is True
    with sessions() as session:
        documents = list(
            session.scalars(select(RequestDocument).where(RequestDocument.request_id == recorded.id))
        )
    assert [d.sha256 for d in documents] == [hashlib.sha256(PDF).hexdigest()]
    message = message_of(sessions, message_id)
    assert (message.status, message.request_id, message.tracking_number) == (
        "accepted",
        recorded.id,
        tracking,
    )
    assert message.decided_by is not None
    # Published after the commit, as the portal does: the preservation on receipt and the page run.
    assert (str(Subject.REQUEST_RECEIVED), {"request_id": recorded.id}) in published
    assert (str(Subject.DOCUMENT_ATTACHED), {"document_id": documents[0].id}) in published

    page = client.get(f"/console/mailroom/{message_id}")
    assert f'href="/console/requests/{tracking}"' in page.text
    assert 'action="/console/mailroom/' not in page.text  # decided: no more forms

    before = snapshot(sessions, message_id)
    again = post(client, f"/console/mailroom/{message_id}/record", completed(csrf, officers[OFFICER]))
    assert again.status_code == 409
    assert "already accepted" in again.text
    assert snapshot(sessions, message_id) == before
    assert [s for s, _ in published].count(str(Subject.REQUEST_RECEIVED)) == 1


def test_an_unattributed_mail_recorded_with_any_officer_is_held_for_a_callback(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
) -> None:
    forged = wire(
        mail(subject="Réquisition — EPOC", attachments=[("ordonnance.pdf", "application/pdf", PDF)])
    )
    message_id = arrive(container, forged)
    assert message_of(sessions, message_id).agency_id is None
    csrf = console(client, sessions, clock, "legal_reviewer")
    page = client.get(f"/console/mailroom/{message_id}").text
    assert 'id="unauthenticated"' in page
    assert "held for a callback" in page
    officer_select = page.split('id="officer_id"')[1].split("</select>")[0]
    assert officers[OFFICER] in officer_select
    assert officers[OTHER_OFFICER] in officer_select  # not attributed: every agency's officers
    assert selected(page, "officer_id") == [""]  # nobody is chosen for the reviewer

    response = post(client, f"/console/mailroom/{message_id}/record", completed(csrf, officers[OFFICER]))
    assert response.status_code == 303, response.text
    tracking = response.headers["location"].split("/console/requests/")[1].split("?")[0]
    recorded = request_by(sessions, tracking)
    assert recorded.channel == "email"
    assert recorded.held_for_callback is True
    assert "mail_not_authenticated" in [r["code"] for r in recorded.risk_reasons or []]
    assert message_of(sessions, message_id).tracking_number == tracking


def test_a_scanned_letter_is_recorded_from_its_postmark_and_flagged_unverified(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
) -> None:
    csrf = console(client, sessions, clock, "legal_reviewer")
    upload = client.post(
        "/console/mailroom/documents",
        data={"csrf_token": csrf, "postmark": "2026-10-30", "sender_name": "Procureur de Lyon"},
        files={"file": ("courrier.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    with sessions() as session:
        letter_id = session.scalars(
            select(InboundMessage.id).where(InboundMessage.channel == "mailroom")
        ).one()
    page = client.get(f"/console/mailroom/{letter_id}").text
    assert "A letter or fax: nothing" in page
    response = post(client, f"/console/mailroom/{letter_id}/record", completed(csrf, officers[OFFICER]))
    assert response.status_code == 303, response.text
    tracking = response.headers["location"].split("/console/requests/")[1].split("?")[0]
    recorded = request_by(sessions, tracking)
    assert recorded.channel == "mailroom"
    assert recorded.received_at == datetime(2026, 10, 30, 0, 0, tzinfo=UTC)
    assert "letter_unverified" in [r["code"] for r in recorded.risk_reasons or []]
    assert message_of(sessions, letter_id).status == "accepted"


def test_a_form_with_errors_comes_back_with_them_at_the_fields_and_nothing_changed(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
    published: list[tuple[str, Any]],
) -> None:
    message_id = arrive(container, signed_order())
    csrf = console(client, sessions, clock, "legal_reviewer")
    before = snapshot(sessions, message_id)
    path = f"/console/mailroom/{message_id}/record"

    invalid = post(client, path, completed(csrf, "", legal_basis="", reference="Réf. typed by hand"))
    assert invalid.status_code == 422
    assert 'id="legal_basis-error"' in invalid.text
    assert 'id="officer_id-error"' in invalid.text
    assert field_value(invalid.text, "reference") == "Réf. typed by hand"  # as typed, not the prefill

    other_agency = post(client, path, completed(csrf, officers[OTHER_OFFICER]))
    assert other_agency.status_code == 409
    error = other_agency.text.split('id="officer_id-error">')[1].split("</p>")[0]
    assert "authenticated as sent by another agency" in error

    no_officer = post(client, path, completed(csrf, "no-such-officer"))
    assert no_officer.status_code == 422
    assert "choose an active officer" in no_officer.text.lower()
    assert snapshot(sessions, message_id) == before
    assert published == []


# --- attach, reject ---------------------------------------------------------------------------------------


def test_attaching_puts_the_message_in_the_files_correspondence_from_the_authority(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
) -> None:
    officer_key(sessions, clock, domain="parquet.fr")
    with unit_of_work(sessions) as session:

        def submitted(email: str) -> LawfulRequest:
            officer = session.scalars(select(Officer).where(Officer.email == email)).one()
            body = RequestIn.model_validate(epoc())
            return lawful.submit(
                session, clock, container.catalogue, officer, body, idempotency_key=None,
                policy=container.policy,
            ).request  # fmt: skip

        own = submitted(OFFICER)
        tracking, request_id = own.tracking_number, own.id
        other_tracking = submitted("officer@parquet.fr").tracking_number
    follow_up = sign(mail(subject="Complément", body="Please also preserve the account @suspect_name."))
    message_id = arrive(container, follow_up)
    csrf = console(client, sessions, clock, "legal_reviewer")
    path = f"/console/mailroom/{message_id}/attach"
    before = snapshot(sessions, message_id)

    empty = post(client, path, {"csrf_token": csrf, "tracking_number": " "})
    assert empty.status_code == 422
    assert 'id="tracking_number-error"' in empty.text
    unknown = post(client, path, {"csrf_token": csrf, "tracking_number": "TD-2026-ZZZZ-ZZZZ"})
    assert unknown.status_code == 404
    assert "TD-2026-ZZZZ-ZZZZ" in unknown.text
    another = post(client, path, {"csrf_token": csrf, "tracking_number": other_tracking})
    assert another.status_code == 409  # authenticated as justice.fr: not parquet.fr's file
    assert snapshot(sessions, message_id) == before

    done = post(client, path, {"csrf_token": csrf, "tracking_number": tracking.lower()})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/console/requests/{tracking}?done=mail_attached"
    assert "attached to the file" in client.get(done.headers["location"]).text
    with sessions() as session:
        (note,) = session.scalars(select(Correspondence).where(Correspondence.request_id == request_id))
        assert note.direction == "from_authority"
        assert "@suspect_name" in note.body
    message = message_of(sessions, message_id)
    assert (message.status, message.request_id) == ("attached", request_id)
    assert message.decided_by is not None


def test_rejecting_needs_a_reason_and_keeps_the_message_with_it(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    message_id = arrive(container, wire(mail(subject="Win a prize")))
    csrf = console(client, sessions, clock, "legal_reviewer")
    path = f"/console/mailroom/{message_id}/reject"
    before = snapshot(sessions, message_id)
    refused = post(client, path, {"csrf_token": csrf, "reason": "   "})
    assert refused.status_code == 422
    assert "say why the message is not a request" in refused.text
    assert 'id="reason-error"' in refused.text
    assert snapshot(sessions, message_id) == before

    done = post(client, path, {"csrf_token": csrf, "reason": "Spam, not from an authority."})
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/mailroom/{message_id}?done=rejected"
    message = message_of(sessions, message_id)
    assert message.status == "rejected"
    assert "rejected: Spam, not from an authority." in (message.note or "")
    shown = client.get(done.headers["location"]).text
    assert "Marked as not a request" in shown
    assert "Not a request" in shown
    assert f'id="inbound-{message_id}"' not in client.get("/console/mailroom").text  # out of the queue
    again = post(client, path, {"csrf_token": csrf, "reason": "Twice."})
    assert again.status_code == 409


# --- who may ----------------------------------------------------------------------------------------------


def test_a_moderator_and_a_forged_form_change_nothing(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    officers: dict[str, str],
) -> None:
    message_id = arrive(container, signed_order())
    moderator_csrf = console(client, sessions, clock, "moderator")
    reviewer = TestClient(client.app, base_url="https://testserver")
    console(reviewer, sessions, clock, "legal_reviewer")
    approver = TestClient(client.app, base_url="https://testserver")
    console(approver, sessions, clock, "legal_approver")
    before = snapshot(sessions, message_id)  # after the logins (each one is audited)

    assert client.get(f"/console/mailroom/{message_id}").status_code == 403
    forms = {
        "record": completed(moderator_csrf, officers[OFFICER]),
        "attach": {"csrf_token": moderator_csrf, "tracking_number": "TD-2026-AAAA-BBBB"},
        "reject": {"csrf_token": moderator_csrf, "reason": "Not mine to say."},
    }
    for action, data in forms.items():
        response = post(client, f"/console/mailroom/{message_id}/{action}", data)
        assert response.status_code == 403, action
        assert "your role does not allow this" in response.text
        forged = post(reviewer, f"/console/mailroom/{message_id}/{action}", data | {"csrf_token": "forged"})
        assert forged.status_code == 403, action
    assert snapshot(sessions, message_id) == before

    seen = approver.get(f"/console/mailroom/{message_id}")
    assert seen.status_code == 200  # may read, may not decide: no forms
    assert 'action="/console/mailroom/' not in seen.text
