"""The authority portal as an officer's browser uses it, on SQLite and PostgreSQL.

Pages are plain HTML forms: the tests post them as a browser without JavaScript would, with the session
cookie and the CSRF token of the page, and drive the legal team's side through the staff API.
"""

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, give_officer_login, log_in
from tests.factories import PDF, epoc, officer_key, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.clock import FrozenClock
from trustdesk.lawful.catalogue import RequestField
from trustdesk.lawful.models import LawfulRequest, RequestDocument
from trustdesk.staff.models import StaffUser
from trustdesk.vocabulary import IssuerKind
from trustdesk.web import login_routes
from trustdesk.web.browser import LoginThrottle
from trustdesk.web.portal import forms

OFFICER = "officer@justice.fr"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TRACKING = re.compile(r"/portal/requests/(TD-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")

Form = dict[str, str | list[str]]


@pytest.fixture(autouse=True)
def _fresh_login_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The login throttle counts real time per process: each test starts with its own."""
    monkeypatch.setattr(login_routes, "throttle", LoginThrottle())


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


@pytest.fixture
def csrf(world: World, sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    """The client is logged in to the portal as the French officer; the CSRF token of its pages."""
    secret = give_officer_login(sessions, clock, OFFICER)
    return log_in(world.client, "portal", OFFICER, secret, clock)


def epoc_form(csrf: str, **overrides: str | list[str]) -> Form:
    """The new-request form filled in for an emergency EPOC, as an officer would type it."""
    form: Form = {
        "csrf_token": csrf,
        "nonce": secrets.token_urlsafe(24),
        "instrument": "EU_EPOC",
        "reference": "PJ-2026-0042",
        "emergency": "on",
        "emergency_justification": "Imminent threat to the life of a missing minor.",
        "issuer_name": "Juge d'instruction, Tribunal judiciaire de Paris",
        "issuer_kind": "investigating_judge",
        "issuer_country": "FR",
        "legal_basis": "Regulation (EU) 2023/1543, Art. 5; CPP art. 99-3",
        "offence_description": "Kidnapping of a minor",
        "offence_max_penalty_years": "20",
        "targets": f"phone:{SUSPECT_PHONE}",
        "data_categories": ["subscriber", "identification"],
        "period_from": "2026-10-01T00:00",
        "period_to": "2026-11-01T00:00",
    }
    form.update(overrides)
    return form


def submit(client: TestClient, form: Form, *, document: bytes | None = None) -> Any:
    files = {"document": ("order.pdf", document, "application/pdf")} if document is not None else None
    return client.post("/portal/requests", data=form, files=files, follow_redirects=False)


def count(sessions: sessionmaker[Session], model: type[LawfulRequest] | type[RequestDocument]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def status_of(sessions: sessionmaker[Session], tracking: str) -> str:
    with sessions() as s:
        found = s.scalar(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking))
        assert found is not None
        return found.status.value


class Controls(HTMLParser):
    """The form controls of a page and the labels pointing at them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") not in ("hidden", "submit"):
            self.controls.append(str(found.get("id")))


def unlabelled(html: str) -> list[str]:
    parser = Controls()
    parser.feed(html)
    return [c for c in parser.controls if c not in parser.labelled]


# --- who may see the portal -----------------------------------------------------------------------


PORTAL_PAGES = [
    "/portal",
    "/portal/requests",
    "/portal/requests/new",
    "/portal/requests/TD-2026-AAAA-BBBB",
    "/portal/requests/TD-2026-AAAA-BBBB/production",
]
PORTAL_POSTS = [
    "/portal/requests",
    "/portal/requests/TD-2026-AAAA-BBBB/correspondence",
    "/portal/requests/TD-2026-AAAA-BBBB/documents",
    "/portal/requests/TD-2026-AAAA-BBBB/withdraw",
]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", p) for p in PORTAL_PAGES] + [("POST", p) for p in PORTAL_POSTS]
)
def test_every_portal_route_sends_a_visitor_without_a_session_to_log_in(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/portal/login?next={path}"


def test_a_post_without_a_session_changes_nothing_and_asks_to_log_in(
    world: World, sessions: sessionmaker[Session]
) -> None:
    response = submit(world.client, epoc_form("whatever"))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/portal/login")
    assert count(sessions, LawfulRequest) == 0


def test_a_staff_console_session_does_not_open_the_portal(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    import pyotp

    secret = add_staff_login(sessions, clock, "rui@platform.example", "legal_reviewer")
    login = client.post(
        "/console/login",
        data={
            "email": "rui@platform.example",
            "password": "correct horse battery",
            "code": pyotp.TOTP(secret).at(clock.now),
        },
        follow_redirects=False,
    )
    assert login.status_code == 303
    token = client.cookies.get("td_console")
    assert token
    assert client.get("/portal", follow_redirects=False).status_code == 303
    # Even presented as a portal cookie, a console session is not an officer's.
    client.cookies.set("td_portal", token, domain="testserver", path="/portal")
    response = client.get("/portal", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login?next=/portal"


# --- the list and the form ------------------------------------------------------------------------


def test_the_list_shows_the_agency_s_own_requests_only(world: World, csrf: str) -> None:
    assert csrf
    ours = world.submit(epoc(reference="OURS-1"))
    theirs = world.submit(tco(reference="THEIRS-1"), world.de_key)

    page = world.client.get("/portal")
    assert page.status_code == 200
    assert "<title>Requests — Test agency justice.fr · Trustdesk</title>" in page.text
    assert f'href="/portal/requests/{ours}"' in page.text
    assert "OURS-1" in page.text
    assert theirs not in page.text
    assert "THEIRS-1" not in page.text
    assert '<span class="badge emergency">emergency</span>' in page.text
    assert world.officer_view(ours)["due_at"].startswith("2026-11-02T17:00:00")
    assert '<span class="countdown" data-due="2026-11-02T17:00:00+00:00">8h 00m left</span>' in page.text
    assert 'href="/portal/requests/new"' in page.text


def test_the_form_offers_only_the_instruments_of_the_agency_s_country(
    world: World, csrf: str, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    assert csrf
    french = world.client.get("/portal/requests/new")
    assert french.status_code == 200
    assert 'value="EU_EPOC"' in french.text
    assert 'value="US_SUBPOENA"' not in french.text
    epoc_option = re.search(r'<option value="EU_EPOC" data-fields="([^"]+)"', french.text)
    assert epoc_option
    shown = epoc_option.group(1).split()
    assert {"offence", "offence.max_penalty_years", "emergency", "emergency_justification"} <= set(shown)
    assert "territorial_scope" not in shown
    assert re.search(r'<input type="text" id="issuer_country"[^>]* value="FR"', french.text)
    # What each instrument needs comes from the catalogue.
    assert "Regulation (EU) 2023/1543 (e-Evidence), Arts 4, 5 and 10" in french.text
    assert unlabelled(french.text) == []

    officer_key(sessions, clock, country="US", kind=IssuerKind.POLICE, domain="police.us.example")
    secret = give_officer_login(sessions, clock, "officer@police.us.example")
    log_in(world.client, "portal", "officer@police.us.example", secret, clock)
    american = world.client.get("/portal/requests/new")
    assert 'value="EU_EPOC"' not in american.text
    assert 'value="US_SUBPOENA"' in american.text
    assert 'value="NATIONAL_COURT_ORDER"' in american.text


# --- submitting -----------------------------------------------------------------------------------


def test_an_emergency_epoc_sent_through_the_form_is_acknowledged_with_its_deadline_and_document(
    world: World, csrf: str, sessions: sessionmaker[Session]
) -> None:
    form = epoc_form(csrf)
    response = submit(world.client, form, document=PDF)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    found = TRACKING.search(location)
    assert found
    assert location.endswith("?created=1")
    tracking = found.group(1)

    page = world.client.get(location)
    assert page.status_code == 200
    assert f"Acknowledged: tracking number {tracking}, due 2026-11-02 17:00 UTC." in page.text
    assert '<span class="badge emergency">emergency</span>' in page.text
    assert ">8h 00m left</span>" in page.text
    assert hashlib.sha256(PDF).hexdigest() in page.text
    assert "Received through the portal and acknowledged" in page.text

    # The datetime-local fields were read as UTC; the emergency was preserved at once, as through the API.
    seen = world.officer_view(tracking)
    assert seen["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    assert [h["reason"] for h in world.view(tracking)["review"]["holds"]] == ["emergency"]

    # A double click or a reload resends the same form: the same request, no duplicate, no second document.
    again = submit(world.client, form, document=PDF)
    assert again.status_code == 303
    assert again.headers["location"] == location
    assert count(sessions, LawfulRequest) == 1
    assert count(sessions, RequestDocument) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"supervisor_phone": "12345", "supervisor_name": "Cdt. Martin"}, "supervisor_phone", "+33612345678"),
        ({"offence_max_penalty_years": "twenty"}, "offence_max_penalty_years", "whole number"),
        ({"targets": "phone +33612345678"}, "targets", "Line 1: write type:value"),
        ({"targets": "fax:+33612345678"}, "targets", "Unknown target type"),
        ({"period_from": "yesterday"}, "period_from", "2026-11-02T09:00 (UTC)"),
        ({"emergency_justification": ""}, "emergency_justification", "emergency"),
        ({"reference": ""}, "reference", "required"),
    ],
)
def test_an_invalid_form_comes_back_with_the_error_at_its_field_and_the_input_kept(
    world: World,
    csrf: str,
    sessions: sessionmaker[Session],
    overrides: dict[str, str | list[str]],
    field: str,
    message: str,
) -> None:
    form = epoc_form(csrf, legal_basis="Art. 5 <kept>", **overrides)
    response = submit(world.client, form, document=PDF)
    assert response.status_code == 422, response.text
    error = re.search(rf'<p class="alert" id="{re.escape(field)}-error">([^<]*)</p>', response.text)
    assert error, response.text
    assert message in error.group(1)
    assert f'href="#{field}' in response.text  # the summary at the top links to the field
    assert "Art. 5 &lt;kept&gt;</textarea>" in response.text
    assert f'name="nonce" value="{form["nonce"]}"' in response.text
    assert count(sessions, LawfulRequest) == 0
    assert count(sessions, RequestDocument) == 0


def test_an_instrument_that_does_not_apply_is_still_recorded_refused_and_answered(
    world: World, csrf: str, sessions: sessionmaker[Session]
) -> None:
    """A French authority sending a US subpoena gets a tracking number, a refusal and an answer."""
    response = submit(world.client, epoc_form(csrf, instrument="US_SUBPOENA"), document=PDF)
    assert response.status_code == 303, response.text
    found = TRACKING.search(response.headers["location"])
    assert found
    tracking = found.group(1)
    assert status_of(sessions, tracking) == "refused"
    seen = world.officer_view(tracking)
    assert "instrument_not_applicable" in seen["grounds"]
    answer = seen["correspondence"][0]
    assert answer["kind"] == "cannot_comply"
    assert "EU_EPOC" in answer["body"]  # the answer names the instrument that would be valid


def test_a_document_that_is_not_a_pdf_stops_the_whole_submission(
    world: World, csrf: str, sessions: sessionmaker[Session]
) -> None:
    response = submit(world.client, epoc_form(csrf), document=b"MZ\x90\x00 not a pdf")
    assert response.status_code == 422
    assert re.search(r'id="document-error">The file is not a complete PDF document', response.text)
    assert count(sessions, LawfulRequest) == 0


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_post_without_the_session_s_csrf_token_is_refused_and_changes_nothing(
    world: World, csrf: str, sessions: sessionmaker[Session], token: str | None
) -> None:
    form = epoc_form(csrf)
    if token is None:
        del form["csrf_token"]
    else:
        form["csrf_token"] = token
    assert submit(world.client, form, document=PDF).status_code == 403
    assert count(sessions, LawfulRequest) == 0

    tracking = world.submit(epoc())
    for action, data in (
        ("withdraw", {"reason": "Solved.", "confirm": "on"}),
        ("correspondence", {"body": "A note."}),
    ):
        sent = {**data, **({} if token is None else {"csrf_token": token})}
        response = world.client.post(f"/portal/requests/{tracking}/{action}", data=sent)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    documents = world.client.post(
        f"/portal/requests/{tracking}/documents",
        data={} if token is None else {"csrf_token": token},
        files={"document": ("order.pdf", PDF, "application/pdf")},
    )
    assert documents.status_code == 403
    assert status_of(sessions, tracking) == "acknowledged"
    assert world.officer_view(tracking)["correspondence"] == []
    assert len(world.officer_view(tracking)["documents"]) == 1


# --- following a request --------------------------------------------------------------------------


def test_an_other_agency_s_request_does_not_exist_in_the_portal(world: World, csrf: str) -> None:
    theirs = world.submit(tco(reference="THEIRS-SECRET"), world.de_key)
    for path in (f"/portal/requests/{theirs}", f"/portal/requests/{theirs}/production"):
        response = world.client.get(path)
        assert response.status_code == 404
        assert "THEIRS-SECRET" not in response.text
    written = world.client.post(
        f"/portal/requests/{theirs}/correspondence", data={"csrf_token": csrf, "body": "Hello?"}
    )
    assert written.status_code == 404
    withdrawn = world.client.post(
        f"/portal/requests/{theirs}/withdraw", data={"csrf_token": csrf, "reason": "x", "confirm": "on"}
    )
    assert withdrawn.status_code == 404
    assert world.officer_view(theirs, world.de_key)["status"] == "acknowledged"


def test_a_clarification_is_asked_shown_and_answered_through_the_portal(
    world: World, csrf: str, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc(emergency=False, emergency_justification=None))
    world.act(
        world.reviewer,
        tracking,
        "clarify",
        {"question": "Which account handle did the victim use?", "kind": "incomplete_order"},
    )

    page = world.client.get(f"/portal/requests/{tracking}")
    assert "The legal team asks:" in page.text
    assert "Which account handle did the victim use?" in page.text
    assert "clock paused" in page.text
    assert "Send the answer" in page.text

    world.clock.advance(timedelta(minutes=20))  # within the session's idle limit
    answered = world.client.post(
        f"/portal/requests/{tracking}/correspondence",
        data={"csrf_token": csrf, "body": "@suspect"},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    assert answered.headers["location"] == f"/portal/requests/{tracking}?done=answered"
    assert status_of(sessions, tracking) == "in_review"

    after = world.client.get(answered.headers["location"])
    assert "Your answer was sent" in after.text
    assert "The legal team asks:" not in after.text
    assert "@suspect" in after.text
    assert 'Status: <span class="badge clarification_requested">' in after.text
    assert world.officer_view(tracking)["due_at"] is not None  # the clock runs again
    # The timeline never names the platform's staff.
    assert "rui@platform.example" not in after.text
    with sessions() as s:
        staff_ids = s.scalars(select(StaffUser.id)).all()
    assert staff_ids
    assert not any(staff_id in after.text for staff_id in staff_ids)


def test_an_empty_message_is_refused_at_its_field(world: World, csrf: str) -> None:
    tracking = world.submit(epoc())
    response = world.client.post(
        f"/portal/requests/{tracking}/correspondence", data={"csrf_token": csrf, "body": "   "}
    )
    assert response.status_code == 422
    assert 'id="body-error">Write a message first.' in response.text
    assert world.officer_view(tracking)["correspondence"] == []


def test_a_request_is_withdrawn_through_the_form_and_its_holds_released(
    world: World, csrf: str, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc())  # an emergency: preserved on arrival
    assert [h["released_at"] for h in world.view(tracking)["review"]["holds"]] == [None]

    unconfirmed = world.client.post(
        f"/portal/requests/{tracking}/withdraw", data={"csrf_token": csrf, "reason": "The child was found."}
    )
    assert unconfirmed.status_code == 422
    assert 'id="confirm-error">Tick the box' in unconfirmed.text
    assert "The child was found.</textarea>" in unconfirmed.text
    no_reason = world.client.post(
        f"/portal/requests/{tracking}/withdraw", data={"csrf_token": csrf, "reason": " ", "confirm": "on"}
    )
    assert no_reason.status_code == 422
    assert 'id="reason-error">Give the reason' in no_reason.text
    assert status_of(sessions, tracking) == "acknowledged"

    done = world.client.post(
        f"/portal/requests/{tracking}/withdraw",
        data={"csrf_token": csrf, "reason": "The child was found.", "confirm": "on"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert status_of(sessions, tracking) == "withdrawn"
    assert all(h["released_at"] for h in world.view(tracking)["review"]["holds"])
    page = world.client.get(done.headers["location"])
    assert "The request was withdrawn." in page.text
    assert "Withdraw the request" not in page.text
    assert "The child was found." in page.text
    again = world.client.post(
        f"/portal/requests/{tracking}/withdraw",
        data={"csrf_token": csrf, "reason": "Twice.", "confirm": "on"},
    )
    assert again.status_code == 409


def test_a_further_document_is_attached_from_the_request_page(world: World, csrf: str) -> None:
    tracking = world.submit(epoc(), document=False)
    page = world.client.get(f"/portal/requests/{tracking}")
    assert "No document attached" in page.text
    refused = world.client.post(
        f"/portal/requests/{tracking}/documents",
        data={"csrf_token": csrf},
        files={"document": ("order.txt", b"plain text", "text/plain")},
    )
    assert refused.status_code == 422
    assert 'id="document-error">Documents must be PDF' in refused.text
    attached = world.client.post(
        f"/portal/requests/{tracking}/documents",
        data={"csrf_token": csrf},
        files={"document": ("signed order.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert attached.status_code == 303
    page = world.client.get(attached.headers["location"])
    assert "The document was attached." in page.text
    assert hashlib.sha256(PDF).hexdigest() in page.text
    assert [d["filename"] for d in world.officer_view(tracking)["documents"]] == ["signed order.pdf"]


def test_the_production_is_downloaded_through_the_portal_until_its_link_expires(
    world: World, csrf: str, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    assert csrf
    tracking = world.submit(
        epoc(
            period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
            suspect_confirmed=True,
        )
    )
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    world.act(world.reviewer, tracking, "answer")

    page = world.client.get(f"/portal/requests/{tracking}")
    production = world.officer_view(tracking)["production"]
    assert '<span class="badge comply">comply</span>' in page.text
    assert production["sha256"] in page.text
    assert f'href="/portal/requests/{tracking}/production"' in page.text
    assert "Production package ready for download" in page.text

    download = world.client.get(f"/portal/requests/{tracking}/production")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert f'filename="{tracking}.tar.age"' in download.headers["content-disposition"]
    assert hashlib.sha256(download.content).hexdigest() == production["sha256"]
    assert world.officer_view(tracking)["production"]["downloads"] == 1
    assert "Production package downloaded" in world.client.get(f"/portal/requests/{tracking}").text

    world.clock.advance(timedelta(days=15))
    log_in(world.client, "portal", OFFICER, give_officer_login(sessions, clock, OFFICER), clock)
    expired = world.client.get(f"/portal/requests/{tracking}/production")
    assert expired.status_code == 403
    assert "Download link expired" in expired.text
    assert "ask the platform to re-issue it" in expired.text
    assert "The download link expired" in world.client.get(f"/portal/requests/{tracking}").text


# --- escaping -------------------------------------------------------------------------------------


def test_authority_supplied_text_is_shown_escaped_never_as_markup(
    world: World, csrf: str, sessions: sessionmaker[Session]
) -> None:
    hostile = epoc_form(
        csrf,
        reference=f"R{SCRIPT}"[:100],
        legal_basis=f"Art. 5 {IMG} {SCRIPT}",
        offence_description=f"Kidnapping {SCRIPT} {IMG}",
    )
    # Refused first (bad phone): the input shown back is escaped too.
    refused = submit(world.client, {**hostile, "supervisor_phone": IMG, "supervisor_name": SCRIPT})
    assert refused.status_code == 422
    response = submit(world.client, hostile)
    assert response.status_code == 303, response.text
    tracking = TRACKING.search(response.headers["location"])
    assert tracking
    world.client.post(
        f"/portal/requests/{tracking.group(1)}/correspondence",
        data={"csrf_token": csrf, "body": f"Note {SCRIPT} {IMG}"},
    )
    pages = [
        refused.text,
        world.client.get("/portal").text,
        world.client.get(f"/portal/requests/{tracking.group(1)}").text,
    ]
    for text in pages:
        assert SCRIPT not in text
        assert "<img" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in pages[2]
    assert count(sessions, LawfulRequest) == 1


# --- the form's conversion (pure) -----------------------------------------------------------------


def test_every_field_an_instrument_can_require_has_a_name_in_the_help_texts() -> None:
    assert set(forms.REQUEST_FIELD_LABELS) == set(RequestField)
    assert set(forms.SERVICE_FIELDS.values()) <= set(forms.LABELS)


def test_datetime_local_values_are_read_as_utc_and_nothing_stays_naive() -> None:
    data, errors = forms.to_request_data(
        {
            **forms.empty_values(issuer_kind="court", issuer_country="FR", nonce="x" * 20),
            "period_from": "2026-10-01T00:00",
            "period_to": "2026-10-01T12:30+02:00",
            "respond_by": "2026-12-01T09:15",
        }
    )
    assert errors == {}
    assert data["period"] == {
        "from": datetime(2026, 10, 1, 0, 0, tzinfo=UTC),
        "to": datetime(2026, 10, 1, 10, 30, tzinfo=UTC),
    }
    assert data["respond_by"] == datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    assert all(v.tzinfo is not None for v in (*data["period"].values(), data["respond_by"]))


def test_target_lines_become_targets_and_a_malformed_line_is_named() -> None:
    values = forms.empty_values(issuer_kind="court", issuer_country="FR", nonce="x" * 20)
    values["targets"] = (
        "phone:+33612345678\n\n  username: @suspect \ncontent_url:ref://chat/c1/message/m1\nnonsense"
    )
    data, errors = forms.to_request_data(values)
    assert data["targets"] == [
        {"type": "phone", "value": "+33612345678"},
        {"type": "username", "value": "@suspect"},
        {"type": "content_url", "value": "ref://chat/c1/message/m1"},
    ]
    assert errors == {"targets": "Line 5: write type:value, for example phone:+33612345678."}
