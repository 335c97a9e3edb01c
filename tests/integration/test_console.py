"""The staff console in a browser's shoes, on SQLite and PostgreSQL: the queue, a request from decision to
answer (four eyes, the approval preview), agencies, and what is refused (login, role, CSRF, bad input)."""

import hashlib
import re
from datetime import timedelta

import httpx2
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import PASSWORD, add_staff_login, give_officer_login, log_in
from tests.factories import PDF, bearer, epoc, tco
from tests.lawful_world import SECRET_TEXT, SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.authorities.models import Agency, AgencyDomain
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful.models import LawfulRequest, LegalWindow, PrincipleConflict
from trustdesk.lawful.package import generate_age_identity
from trustdesk.lawful.vocabulary import ConflictResolution, WindowKind
from trustdesk.web import login_routes
from trustdesk.web.browser import LoginThrottle

REVIEWER = "rev@platform.example"
APPROVER = "app@platform.example"


@pytest.fixture(autouse=True)
def _fresh_login_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-address login throttle is process-wide; these tests log in often, from one address."""
    monkeypatch.setattr(login_routes, "throttle", LoginThrottle())


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def staff_login(world: World, sessions: sessionmaker[Session], email: str, *roles: str) -> str:
    """A new staff user with these roles, logged in on the world's client; returns the CSRF token."""
    secret = add_staff_login(sessions, world.clock, email, *roles)
    return log_in(world.client, "console", email, secret, world.clock)


def emergency_epoc() -> dict[str, object]:
    return epoc(
        targets=[{"type": "phone", "value": SUSPECT_PHONE}],
        period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        suspect_confirmed=True,
    )


def status_of(world: World, tracking: str) -> str:
    status: str = world.view(tracking)["request"]["status"]
    return status


def audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def post(client: TestClient, path: str, csrf: str | None, **data: object) -> httpx2.Response:
    form = dict(data) | ({"csrf_token": csrf} if csrf is not None else {})
    return client.post(path, data=form, follow_redirects=False)


def open_documents(client: TestClient, page: str) -> list[str]:
    """Open every signed order linked from the request page, as the reviewer does before deciding."""
    links = re.findall(rf'href="({re.escape(page)}/documents/[^"]+)"', client.get(page).text)
    for link in dict.fromkeys(links):
        assert client.get(link).status_code == 200
    return list(dict.fromkeys(links))


def section(html: str, element_id: str) -> str:
    """The HTML of the <section id=...> (sections are not nested in the console's pages)."""
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


# --- who may enter -----------------------------------------------------------------------------------


def test_without_a_session_every_console_page_sends_to_the_login(client: TestClient) -> None:
    for path in ("/console", "/console/requests/TD-2026-AAAA-BBBB", "/console/agencies"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login?next=/console")
    refused = client.post("/console/requests/TD-2026-AAAA-BBBB/decide", data={}, follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/console/login")


def test_an_officers_portal_session_does_not_open_the_console(
    world: World, sessions: sessionmaker[Session]
) -> None:
    secret = give_officer_login(sessions, world.clock, "officer@justice.fr")
    code = pyotp.TOTP(secret).at(world.clock.now)
    login = world.client.post(
        "/portal/login",
        data={"email": "officer@justice.fr", "password": PASSWORD, "code": code},
        follow_redirects=False,
    )
    assert login.status_code == 303
    portal_token = login.cookies["td_portal"]
    assert world.client.get("/console", follow_redirects=False).status_code == 303
    # Even presented as a console cookie, a portal session is not a console session.
    world.client.cookies.set("td_console", portal_token, domain="testserver", path="/console")
    response = world.client.get("/console", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login")


def test_a_moderator_gets_a_403_page_on_the_legal_queue(
    world: World, sessions: sessionmaker[Session]
) -> None:
    secret = add_staff_login(sessions, world.clock, "mod@platform.example", "moderator")
    code = pyotp.TOTP(secret).at(world.clock.now)
    world.client.post(
        "/console/login",
        data={"email": "mod@platform.example", "password": PASSWORD, "code": code},
        follow_redirects=False,
    )
    tracking = world.submit(emergency_epoc())
    for path in ("/console", f"/console/requests/{tracking}", "/console/agencies"):
        response = world.client.get(path)
        assert response.status_code == 403, path
        assert "text/html" in response.headers["content-type"]
        assert "your role does not allow this" in response.text
        assert tracking not in response.text
        assert "Log out" in response.text  # still the console, with the visitor's session


# --- the queue -----------------------------------------------------------------------------------------


def test_the_queue_follows_the_legal_deadline_and_overdue_requests_are_marked(
    world: World, sessions: sessionmaker[Session]
) -> None:
    emergency = world.submit(emergency_epoc())  # due in 8 hours
    world.clock.advance(timedelta(minutes=50))
    removal = world.submit(
        tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key
    )  # the removal order has one hour
    world.clock.advance(timedelta(minutes=10))  # removal: 50 minutes left; the emergency: 7 hours
    staff_login(world, sessions, REVIEWER, "legal_reviewer")

    html = world.client.get("/console").text
    # The example: the legal deadline decides, not the emergency flag.
    assert html.index(removal) < html.index(emergency)
    emergency_row = next(row for row in html.split("<tr>") if emergency in row)
    assert 'class="badge emergency"' in emergency_row  # the emergency keeps its badge

    world.clock.advance(timedelta(minutes=110))  # the removal is overdue by 1 hour; the emergency is not
    staff_login(world, sessions, "rev2@platform.example", "legal_reviewer")  # the first one idled out
    page = world.client.get("/console")
    assert page.status_code == 200
    html = page.text
    assert html.index(removal) < html.index(emergency)
    rows = html.split("<tr>")
    emergency_row = next(row for row in rows if emergency in row)
    removal_row = next(row for row in rows if removal in row)
    assert 'class="badge emergency"' in emergency_row
    assert 'class="badge overdue"' not in emergency_row
    assert 'class="badge overdue"' in removal_row
    assert "overdue by 1h 00m" in removal_row
    assert 'class="countdown" data-due="2026-11-02T17:00:00+00:00"' in emergency_row
    assert "EU_TCO_REMOVAL" in removal_row
    assert "Test agency bka.bund.de" in removal_row
    figures = html[html.index('id="now-title"') : html.index('id="queue-title"')]
    assert re.search(r"<strong>2</strong> open", figures)
    assert re.search(r"<strong>1</strong> emergencies open", figures)
    assert re.search(r"<strong>1</strong> overdue", figures)
    assert re.search(r"<strong>0 s</strong> median time to acknowledge", figures)


# --- one request from decision to answer -----------------------------------------------------------------


def test_the_request_page_shows_every_rule_that_fired_and_the_decision_form(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    html = world.client.get(f"/console/requests/{tracking}").text

    rules = world.view(tracking)["review"]["recommendation"]["rules_fired"]
    assert rules
    for rule in rules:
        assert f'<span class="rule-id">{rule["rule_id"]}</span>' in html
    assert 'class="badge comply">comply' in html
    assert f'action="/console/requests/{tracking}/decide"' in html
    assert f'action="/console/requests/{tracking}/clarify"' in html
    assert f'name="csrf_token" value="{csrf}"' in html
    # Categories preselected from the recommendation; the justification is required when deviating.
    assert re.search(r'value="subscriber" checked', html)
    assert re.search(r'value="identification" checked', html)
    assert "Required when your decision deviates from the recommendation" in html
    assert hashlib.sha256(PDF).hexdigest() in html  # the order's SHA-256
    assert "Imminent threat to the life of a missing minor." in html
    timeline = section(html, "audit-title")
    assert "lawful:request:receive" in timeline
    assert "officer of Test agency justice.fr" in timeline


def test_deviating_without_a_justification_is_refused_in_place_and_changes_nothing(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    before = audit_count(sessions)

    response = post(
        world.client,
        f"/console/requests/{tracking}/decide",
        csrf,
        outcome="partial",
        categories=["subscriber"],
        justification="  ",
    )
    assert response.status_code == 422
    html = response.text
    assert "Not done; nothing was changed." in html
    assert 'id="justification-error"' in html
    assert "write a justification" in html
    assert re.search(r'value="partial" required checked', html)  # the reviewer's choice is kept
    assert status_of(world, tracking) == "acknowledged"
    assert world.view(tracking)["review"]["decision"] is None
    assert audit_count(sessions) == before


def test_decide_approve_with_the_preview_execute_and_answer(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    page = f"/console/requests/{tracking}"
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")

    assert open_documents(world.client, page)
    decided = post(
        world.client,
        f"{page}/decide",
        csrf,
        outcome="comply",
        categories=["subscriber", "identification"],
        documents_confirmed="yes",
    )
    assert decided.headers["location"] == f"{page}?done=decided"
    assert status_of(world, tracking) == "awaiting_approval"
    shown = world.client.get(f"{page}?done=decided").text
    assert "Decision recorded." in shown
    assert "disclosure preview is shown to legal approvers" in shown  # the reviewer does not see the data
    assert SUSPECT_PHONE not in section(shown, "preview")
    assert f'action="{page}/approve"' not in shown

    csrf = staff_login(world, sessions, APPROVER, "legal_approver")
    approval = world.client.get(page).text
    preview = section(approval, "preview")
    assert "This is what the authority will receive" in preview
    assert '<table class="preview" data-category="subscriber">' in preview
    assert SUSPECT_PHONE in preview
    assert "203.0.113.9" in preview
    assert ">suspect<" not in preview  # the username is not disclosed
    assert "S. Uspect" not in approval
    assert "s@example.org" not in approval
    assert SECRET_TEXT not in approval
    assert f'action="{page}/approve"' in approval
    assert f'action="{page}/reject"' in approval

    previewed = preview.count('<tr><td class="mono">')  # one table row per record

    approved = post(world.client, f"{page}/approve", csrf, note="Checked against the order.")
    assert approved.headers["location"] == f"{page}?done=approved"
    assert status_of(world, tracking) == "approved"

    world.clock.advance(timedelta(hours=2))  # (log in after the wait: sessions end after 30 idle minutes)
    csrf = staff_login(world, sessions, "rev2@platform.example", "legal_reviewer")
    executed = post(world.client, f"{page}/execute", csrf)
    assert executed.headers["location"] == f"{page}?done=executed"
    production = world.view(tracking)["review"]["production"]
    assert production is not None
    assert production["records"] == previewed >= 2  # the preview showed every record produced
    after = world.client.get(page).text
    assert production["sha256"] in after
    assert f'action="{page}/answer"' in after

    answered = post(world.client, f"{page}/answer", csrf, message="")
    assert answered.headers["location"] == f"{page}?done=answered"
    assert status_of(world, tracking) == "answered"
    assert world.officer_view(tracking)["correspondence"][-1]["kind"] == "answer"
    queue = world.client.get("/console").text
    assert re.search(r"<strong>2 h</strong> median time to answer", queue)
    assert tracking not in queue  # answered: off the queue

    closed = post(world.client, f"{page}/close", csrf)
    assert closed.headers["location"] == f"{page}?done=closed"
    assert status_of(world, tracking) == "closed"
    timeline = section(world.client.get(page).text, "audit-title")
    for action in ("lawful:decision:record", "lawful:decision:approve", "lawful:production:build"):
        assert action in timeline


def test_four_eyes_a_user_with_both_roles_cannot_approve_their_own_decision(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    page = f"/console/requests/{tracking}"
    csrf = staff_login(world, sessions, "both@platform.example", "legal_reviewer", "legal_approver")
    open_documents(world.client, page)
    post(
        world.client,
        f"{page}/decide",
        csrf,
        outcome="comply",
        categories=["subscriber", "identification"],
        documents_confirmed="yes",
    )
    assert status_of(world, tracking) == "awaiting_approval"

    shown = world.client.get(page).text
    assert "You recorded this decision. Four eyes" in shown
    assert f'action="{page}/approve"' not in shown
    before = audit_count(sessions)
    refused = post(world.client, f"{page}/approve", csrf)
    assert refused.status_code == 403
    assert "four eyes: you cannot approve your own decision" in refused.text
    assert status_of(world, tracking) == "awaiting_approval"
    assert audit_count(sessions) == before


def test_an_approver_sends_a_decision_back_to_review_saying_why(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    page = f"/console/requests/{tracking}"
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    csrf = staff_login(world, sessions, APPROVER, "legal_approver")

    silent = post(world.client, f"{page}/reject", csrf, note="")
    assert silent.status_code == 422
    assert 'id="note-error"' in silent.text
    assert status_of(world, tracking) == "awaiting_approval"

    rejected = post(world.client, f"{page}/reject", csrf, note="The period exceeds the order.")
    assert rejected.headers["location"] == f"{page}?done=rejected"
    assert status_of(world, tracking) == "in_review"
    assert world.view(tracking)["review"]["decision"] is None
    html = world.client.get(page).text
    assert "A legal reviewer decides this request" in html  # the approver cannot decide it themselves


def test_an_action_the_status_does_not_allow_is_refused_with_the_reason(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    response = post(world.client, f"/console/requests/{tracking}/close", csrf)
    assert response.status_code == 409
    assert "cannot close a request that is acknowledged" in response.text
    assert status_of(world, tracking) == "acknowledged"
    missing = world.client.get("/console/requests/TD-2026-ZZZZ-ZZZZ")
    assert missing.status_code == 404
    assert "no request TD-2026-ZZZZ-ZZZZ" in missing.text


def test_clarify_asks_the_authority_and_pauses_the_clock(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc() | {"emergency": False, "emergency_justification": None})
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    response = post(
        world.client,
        f"/console/requests/{tracking}/clarify",
        csrf,
        question="Which handle did the victim use?",
    )
    assert response.headers["location"] == f"/console/requests/{tracking}?done=clarify"
    assert status_of(world, tracking) == "clarification_requested"
    html = world.client.get(f"/console/requests/{tracking}").text
    assert "Which handle did the victim use?" in html
    assert "Waiting for the authority's answer to the clarification; the clock is paused" in html


# --- CSRF and roles on every action ---------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    staff_login(world, sessions, REVIEWER, "legal_reviewer")
    before = audit_count(sessions)
    for token in (None, "forged"):
        response = post(
            world.client,
            f"/console/requests/{tracking}/decide",
            token,
            outcome="comply",
            categories=["subscriber", "identification"],
        )
        assert response.status_code == 403
        assert "the form expired or did not come from this site" in response.text
    assert status_of(world, tracking) == "acknowledged"
    assert audit_count(sessions) == before


ACTIONS = {  # the role it needs; what that role gets for an empty form on an acknowledged request
    "decide": ("legal_reviewer", 422),  # no outcome
    "clarify": ("legal_reviewer", 422),  # no question
    "execute": ("legal_reviewer", 409),  # nothing decided yet
    "answer": ("legal_reviewer", 409),
    "close": ("legal_reviewer", 409),
    "approve": ("legal_approver", 409),  # nothing awaits approval
    "reject": ("legal_approver", 422),  # no note
}


@pytest.mark.parametrize("role", ["admin", "legal_reviewer", "legal_approver"])
def test_every_action_needs_its_permission(world: World, sessions: sessionmaker[Session], role: str) -> None:
    tracking = world.submit(emergency_epoc())
    csrf = staff_login(world, sessions, f"{role}@platform.example", role)
    for action, (needed, status) in ACTIONS.items():
        response = post(world.client, f"/console/requests/{tracking}/{action}", csrf)
        if role == needed:
            assert response.status_code == status, (action, response.text)
            assert "your role does not allow this" not in response.text
        else:
            assert response.status_code == 403, (action, role)
            assert "your role does not allow this" in response.text
    assert status_of(world, tracking) == "acknowledged"  # every action here was refused or incomplete


# --- agencies ------------------------------------------------------------------------------------------


def agency_id(sessions: sessionmaker[Session], domain: str) -> str:
    with sessions() as s:
        return s.scalars(select(AgencyDomain.agency_id).where(AgencyDomain.domain == domain)).one()


def agency(sessions: sessionmaker[Session], identifier: str) -> Agency:
    with sessions() as s:
        found = s.get_one(Agency, identifier)
        s.expunge(found)
        return found


def test_an_admin_verifies_agencies_and_registers_their_recipient(
    world: World, sessions: sessionmaker[Session]
) -> None:
    csrf = staff_login(world, sessions, "admin@platform.example", "admin")
    german = agency_id(sessions, "bka.bund.de")
    listing = world.client.get("/console/agencies")
    assert listing.status_code == 200
    assert "bka.bund.de" in listing.text
    assert 'class="badge active">verified' in listing.text

    response = post(
        world.client,
        f"/console/agencies/{german}/verify",
        csrf,
        verified="false",
        note="Mailbox compromised.",
    )
    assert response.headers["location"] == "/console/agencies?done=unverified"
    assert agency(sessions, german).verified is False
    assert "no longer verified" in world.client.get("/console/agencies?done=unverified").text
    unrecorded = post(world.client, f"/console/agencies/{german}/verify", csrf, verified="true")
    assert unrecorded.status_code == 422  # no verification without the recorded check
    assert agency(sessions, german).verified is False
    check = {"number": "+49 611 55 0", "directory": "bka.de/kontakt", "person_reached": "Lagezentrum",
             "note": "Confirmed its domain and officer."}  # fmt: skip
    post(world.client, f"/console/agencies/{german}/verify", csrf, verified="true", **check)
    assert agency(sessions, german).verified is True

    bad = post(world.client, f"/console/agencies/{german}/recipient", csrf, recipient="age1notakey<b>")
    assert bad.status_code == 422
    assert "is not an age X25519 recipient" in bad.text
    assert "age1notakey&lt;b&gt;" in bad.text
    assert agency(sessions, german).age_recipient is None

    _, recipient = generate_age_identity()
    good = post(world.client, f"/console/agencies/{german}/recipient", csrf, recipient=recipient)
    assert good.headers["location"] == "/console/agencies?done=recipient"
    assert agency(sessions, german).age_recipient == recipient
    assert recipient in world.client.get("/console/agencies").text
    # A new key is a change the verification did not vouch for: it lapses, and the one who changed the
    # key cannot verify it again (an insider swapping the recipient needs a second person).
    assert agency(sessions, german).verified is False
    alone = post(world.client, f"/console/agencies/{german}/verify", csrf, verified="true", **check)
    assert alone.status_code == 403
    assert "four eyes" in alone.text
    assert agency(sessions, german).verified is False


def test_an_admin_adds_an_agency_and_bad_input_is_shown_in_place(
    world: World, sessions: sessionmaker[Session]
) -> None:
    csrf = staff_login(world, sessions, "admin@platform.example", "admin")
    bad = post(
        world.client,
        "/console/agencies",
        csrf,
        name="Politie",
        country="NL",
        kind="police",
        domains="not a domain",
    )
    assert bad.status_code == 422
    assert "is not a valid e-mail domain" in bad.text
    assert 'value="Politie"' in bad.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Agency).where(Agency.name == "Politie")) == 0

    good = post(
        world.client,
        "/console/agencies",
        csrf,
        name="Politie",
        country="nl",
        kind="police",
        domains="politie.nl, om.nl",
    )
    assert good.headers["location"] == "/console/agencies?done=added"
    added = agency(sessions, agency_id(sessions, "om.nl"))
    assert (added.name, added.country, added.verified) == ("Politie", "NL", False)


def test_a_reviewer_cannot_manage_agencies(world: World, sessions: sessionmaker[Session]) -> None:
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    german = agency_id(sessions, "bka.bund.de")
    assert world.client.get("/console/agencies").status_code == 403
    refused = post(world.client, f"/console/agencies/{german}/verify", csrf, verified="false", note="x")
    assert refused.status_code == 403
    assert agency(sessions, german).verified is True
    assert 'href="/console/agencies"' not in world.client.get("/console").text


# --- escaping ------------------------------------------------------------------------------------------


def test_script_payloads_from_authorities_are_shown_escaped(
    world: World, sessions: sessionmaker[Session]
) -> None:
    payload = "<script>alert('td')</script>"
    tracking = world.submit(
        emergency_epoc()
        | {
            "reference": payload,
            "legal_basis": f"Art. 5 {payload}",
            "offence": {"description": payload, "max_penalty_years": 20},
        }
    )
    note = world.client.post(
        f"/api/v1/requests/{tracking}/correspondence",
        json={"body": f'<img src=x onerror="alert(1)"> {payload}'},
        headers=bearer(world.fr_key),
    )
    assert note.status_code == 201, note.text
    staff_login(world, sessions, REVIEWER, "legal_reviewer")

    for path in ("/console", f"/console/requests/{tracking}"):
        html = world.client.get(path).text
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(&#39;td&#39;)&lt;/script&gt;" in html, path
    html = world.client.get(f"/console/requests/{tracking}").text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


# --- the conflict register -------------------------------------------------------------------------------


def test_the_conflict_register_counts_orders_per_jurisdiction_and_how_each_ended(
    world: World, sessions: sessionmaker[Session]
) -> None:
    french = world.submit(emergency_epoc())
    german = world.submit(
        tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key
    )
    with unit_of_work(sessions) as s:
        by_tracking = {
            r.tracking_number: r
            for r in s.scalars(
                select(LawfulRequest).where(LawfulRequest.tracking_number.in_([french, german]))
            )
        }

        def conflict(
            tracking: str, principle: str, resolution: ConflictResolution | None
        ) -> PrincipleConflict:
            lawful = by_tracking[tracking]
            return PrincipleConflict(
                request_id=lawful.id,
                jurisdiction=lawful.agency.country,
                instrument=lawful.instrument,
                principle_id=principle,
                principle_key="no_content",
                categories=["content"],
                detected_at=world.clock.now,
                resolution=resolution,
            )

        s.add_all(
            [
                conflict(french, "P1", None),  # one French order against two principles: one order
                conflict(french, "P2", ConflictResolution.COMPLIED),
                conflict(german, "P1", ConflictResolution.CHALLENGED),
            ]
        )
    staff_login(world, sessions, REVIEWER, "legal_reviewer")

    queue = world.client.get("/console").text
    assert 'href="/console/conflicts"' in queue  # linked from the navigation
    page = world.client.get("/console/conflicts")
    assert page.status_code == 200
    html = page.text
    assert "leave a market, as it left Russia and Iran" in html
    assert html.index('id="conflicts-DE"') < html.index('id="conflicts-FR"')
    german_part = html[html.index('id="conflicts-DE"') : html.index('id="conflicts-FR"')]
    french_part = html[html.index('id="conflicts-FR"') :]
    assert "1 order in conflict" in german_part
    assert "1 order in conflict" in french_part
    assert "EU_TCO_REMOVAL" in german_part
    assert "EU_EPOC" in french_part

    def cells(part: str, principle: str) -> list[str]:
        row = part[part.index(f"<td>{principle} ") :].split("</tr>", maxsplit=1)[0]
        return re.findall(r"<td>(\d+)</td>", row)

    # conflicts, then open / complied / refused / challenged / withdrawn
    assert cells(german_part, "P1") == ["1", "0", "0", "0", "1", "0"]
    assert cells(french_part, "P1") == ["1", "1", "0", "0", "0", "0"]
    assert cells(french_part, "P2") == ["1", "0", "1", "0", "0", "0"]
    for outcome in ("open", "complied", "refused", "challenged", "withdrawn"):
        assert f'<th scope="col">{outcome}</th>' in html


def test_an_empty_conflict_register_says_so(world: World, sessions: sessionmaker[Session]) -> None:
    staff_login(world, sessions, REVIEWER, "legal_reviewer")
    assert "No order has conflicted" in world.client.get("/console/conflicts").text


# --- legal deadline and internal target --------------------------------------------------------------


def test_the_queue_and_request_page_show_the_internal_target_when_it_differs(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())  # the legal deadline: 8 hours (Art. 10(2))
    with unit_of_work(sessions) as s:
        lawful = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        assert lawful.due_at is not None
        lawful.target_at = lawful.due_at + timedelta(hours=1)  # the desk waited an hour for its own question
    staff_login(world, sessions, REVIEWER, "legal_reviewer")

    row = next(row for row in world.client.get("/console").text.split("<tr>") if tracking in row)
    assert "legal deadline" in row
    assert 'internal target <time datetime="2026-11-02T18:00:00+00:00">' in row
    html = world.client.get(f"/console/requests/{tracking}").text
    assert "Due: legal deadline" in html
    assert "<dt>Internal target</dt>" in html

    with unit_of_work(sessions) as s:
        lawful = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        lawful.target_at = lawful.due_at
    row = next(row for row in world.client.get("/console").text.split("<tr>") if tracking in row)
    assert "internal target" not in row  # the same instant: one deadline shown
    assert "<dt>Internal target</dt>" not in world.client.get(f"/console/requests/{tracking}").text


def test_a_configurable_deadline_is_labelled_the_platforms() -> None:
    from trustdesk.web.console.common import deadline_word

    assert deadline_word(False) == "legal deadline"
    assert "without undue delay" in deadline_word(True)
    assert deadline_word(True).startswith("platform deadline")


def test_the_request_page_shows_its_legal_windows_in_words(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    with unit_of_work(sessions) as s:
        lawful = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        s.add(
            LegalWindow(
                request_id=lawful.id,
                kind=WindowKind.OBJECTION,
                opened_at=world.clock.now,
                due_at=world.clock.now + timedelta(hours=96),
                closed_at=world.clock.now + timedelta(hours=1),
                outcome="no_objection",
            )
        )
    staff_login(world, sessions, REVIEWER, "legal_reviewer")
    html = world.client.get(f"/console/requests/{tracking}").text
    part = html[html.index('id="windows-title"') : html.index('id="corr-title"')]
    assert "the enforcing authority may object after an emergency delivery (96 hours)" in part
    assert "closed" in part
    assert "outcome: no objection" in part
    assert 'datetime="2026-11-06T09:00:00+00:00"' in part


def test_complying_needs_the_reviewer_to_have_opened_and_confirmed_the_signed_order(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    page = f"/console/requests/{tracking}"
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    comply = {"outcome": "comply", "categories": ["subscriber", "identification"]}

    unopened = post(world.client, f"{page}/decide", csrf, **comply, documents_confirmed="yes")
    assert unopened.status_code == 409
    assert "open the signed order before deciding: you have not opened" in unopened.text
    assert "not opened by you yet" in unopened.text
    assert status_of(world, tracking) == "acknowledged"

    before = audit_count(sessions)
    assert open_documents(world.client, page)
    assert audit_count(sessions) == before + 1  # the opening is recorded
    unconfirmed = post(world.client, f"{page}/decide", csrf, **comply)
    assert unconfirmed.status_code == 422
    assert 'id="documents_confirmed-error"' in unconfirmed.text
    assert "opened by you" in unconfirmed.text
    assert status_of(world, tracking) == "acknowledged"

    decided = post(world.client, f"{page}/decide", csrf, **comply, documents_confirmed="yes")
    assert decided.status_code == 303
    with sessions() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "lawful:decision:record")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None
        assert len(event.data["after"]["documents_confirmed"]) == 1  # the sha256 the decision rests on


def test_a_refusal_needs_no_document_opened(world: World, sessions: sessionmaker[Session]) -> None:
    tracking = world.submit(emergency_epoc())
    page = f"/console/requests/{tracking}"
    csrf = staff_login(world, sessions, REVIEWER, "legal_reviewer")
    refused = post(world.client, f"{page}/decide", csrf, outcome="refuse", justification="Not a valid order.")
    assert refused.status_code == 303
    assert status_of(world, tracking) == "refused"
    assert world.officer_view(tracking)["answered_at"] is not None  # the refusal is the answer


def test_the_approval_view_shows_where_the_production_is_encrypted_to(
    world: World, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(emergency_epoc())
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    staff_login(world, sessions, "approver2@platform.example", "legal_approver")
    html = world.client.get(f"/console/requests/{tracking}").text
    with sessions() as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        recipient = request.agency.age_recipient
    assert recipient
    assert f"<dt>Encrypted to</dt><dd><code>{recipient}</code>" in html
