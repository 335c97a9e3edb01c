"""The moderation console in a browser's shoes, on SQLite and PostgreSQL: the queue from a notice, the case
page with its wellness controls and exposure count, claims, decisions carried out on the reference
platform, four eyes on terminations, appeals, trusted flaggers, and what is refused (role, CSRF, claims)."""

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, log_in
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.platform.protocol import AccountStatus, DataCategory, Period
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.safety import appeals, notices
from trustdesk.safety.models import Appeal, Case, Exposure, TrustedFlagger
from trustdesk.safety.vocabulary import CaseStatus, ContentKind, DsaCategory, DsaKeyword
from trustdesk.staff.models import StaffUser
from trustdesk.vocabulary import TargetType
from trustdesk.web.app import create_app

TEXT = "Join us and strike the station on Friday."
MIA, OLA = "mia@platform.example", "ola@platform.example"
REMOVE = {
    "restrictions": ["remove"],
    "ground": "illegal_content",
    "legal_ground": "Directive (EU) 2017/541 Art. 5 (public provocation to commit a terrorist offence)",
    "category": DsaCategory.RISK_FOR_PUBLIC_SECURITY.value,
    "keyword": DsaKeyword.TERRORIST_CONTENT.value,
    "explanation": "The post incites a terrorist attack.",
}


class Desk:
    def __init__(self, container: Container, sessions: sessionmaker[Session], clock: FrozenClock) -> None:
        self.container, self.sessions, self.clock = container, sessions, clock
        self.clients: list[TestClient] = []
        self.platform = cast(ReferencePlatform, container.connector)
        self.author = self.platform.add_user(username="author", registered_at=clock.now - timedelta(days=60))
        reader = self.platform.add_user(username="reader", registered_at=clock.now - timedelta(days=60))
        self.chat = self.platform.create_chat(
            "group", [self.author, reader], created_at=clock.now - timedelta(days=9)
        )
        self.locator = self.post(TEXT)
        self.secrets = {email: add_staff_login(sessions, clock, email, "moderator") for email in (MIA, OLA)}

    def post(self, text: str) -> str:
        return self.platform.post_message(
            self.chat, self.author, text=text, sent_at=self.clock.now - timedelta(hours=1)
        )

    def notice(self, locator: str | None = None, **overrides: Any) -> str:
        body: dict[str, Any] = {
            "location": locator or self.locator,
            "reason": "It calls for an attack on a railway station.",
            "category": DsaCategory.RISK_FOR_PUBLIC_SECURITY,
            "keyword": DsaKeyword.TERRORIST_CONTENT,
            "notifier_name": "Jo Doe",
            "notifier_email": "jo@example.org",
            "good_faith": True,
        } | overrides
        with unit_of_work(self.sessions) as session:
            receipt = notices.submit_notice(
                session, self.clock, self.container.connector, notices.NoticeIn.model_validate(body)
            )
            return receipt.case.id

    def client(self, email: str, *roles: str) -> tuple[TestClient, str]:
        """A browser of its own, logged in as ``email`` (a new staff user with ``roles`` if given)."""
        secret = self.secrets.get(email) or add_staff_login(self.sessions, self.clock, email, *roles)
        self.secrets[email] = secret
        client = TestClient(
            create_app(self.container), base_url="https://testserver", raise_server_exceptions=False
        )
        client.__enter__()
        self.clients.append(client)
        return client, log_in(client, "console", email, secret, self.clock)

    def visible(self, locator: str | None = None) -> bool:
        export = self.platform.export(
            self.author, [DataCategory.CONTENT], Period(self.clock.now - timedelta(days=30), self.clock.now)
        )
        return any(r.fields.get("locator") == (locator or self.locator) for r in export.records)

    def case(self, case_id: str) -> Case:
        with self.sessions() as session:
            found = session.get_one(Case, case_id)
            session.expunge(found)
            return found

    def user_id(self, email: str) -> str:
        with self.sessions() as session:
            return session.scalars(select(StaffUser.id).where(StaffUser.email == email)).one()

    def audit_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


@pytest.fixture
def desk(container: Container, sessions: sessionmaker[Session], clock: FrozenClock) -> Iterator[Desk]:
    found = Desk(container, sessions, clock)
    yield found
    for client in found.clients:
        client.__exit__(None, None, None)


def post(client: TestClient, path: str, csrf: str | None, **data: object) -> httpx2.Response:
    form = dict(data) | ({"csrf_token": csrf} if csrf is not None else {})
    return client.post(path, data=form, follow_redirects=False)


def test_a_notice_is_queued_opened_claimed_and_removed_on_the_platform(desk: Desk) -> None:
    case_id = desk.notice()
    mia, csrf = desk.client(MIA)
    home = mia.get("/console/moderation")
    assert home.status_code == 200
    row = next(r for r in home.text.split("<tr") if case_id in r)
    assert "user notice" in row
    assert DsaKeyword.TERRORIST_CONTENT.value in row
    assert "left" in row
    assert 'href="/console/moderation"' in home.text  # in the navigation

    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Exposure)) == 0
    page = mia.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert "It calls for an attack on a railway station." in html  # the notice's reason
    assert "jo@example.org" not in html  # not the notifier's contact data
    assert "Jo Doe" not in html
    assert '<details class="wellness-text">' in html  # the most harmful text is collapsed
    assert f'href="/console/cases/{case_id}?reveal=1"' in html  # the reveal works without script
    assert 'id="statement-preview"' in html
    assert "Strike policy:" in html
    with desk.sessions() as session:
        (seen,) = session.scalars(select(Exposure))
        assert (seen.user_id, seen.case_id) == (desk.user_id(MIA), case_id)
    revealed = mia.get(f"/console/cases/{case_id}?reveal=1").text
    assert 'class="wellness revealed"' in revealed
    assert '<details class="wellness-text" open>' in revealed

    claimed = post(mia, f"/console/cases/{case_id}/claim", csrf)
    assert claimed.headers["location"] == f"/console/cases/{case_id}?done=claimed"
    assert desk.case(case_id).claimed_by == desk.user_id(MIA)
    assert "You claim this case" in mia.get(f"/console/cases/{case_id}").text
    assert desk.visible()
    decided = post(mia, f"/console/cases/{case_id}/decide", csrf, **REMOVE)
    assert decided.status_code == 303, decided.text
    assert decided.headers["location"] == f"/console/cases/{case_id}?done=decided"
    assert desk.case(case_id).status is CaseStatus.DECIDED
    assert not desk.visible()  # the connector step ran after the commit
    assert case_id not in mia.get("/console/moderation").text


def test_media_is_blurred_and_greyscale_until_revealed(desk: Desk) -> None:
    case_id = desk.notice(category=DsaCategory.SCAMS_AND_FRAUD, keyword=None)
    with unit_of_work(desk.sessions) as session:
        case = session.get_one(Case, case_id)
        case.content_kind, case.media = ContentKind.IMAGE, {"url": "https://media.example/1.jpg"}
    mia, _ = desk.client(MIA)
    html = mia.get(f"/console/cases/{case_id}").text
    assert '<div class="wellness" data-wellness>' in html
    assert 'class="wellness-blur"' in html
    assert "data-reveal" in html
    css = mia.get("/static/css/app.css").text
    assert "filter: blur(24px) grayscale(1)" in css
    assert ".wellness.revealed .wellness-blur { filter: none; }" in css
    assert 'classList.toggle("revealed")' in mia.get("/static/js/app.js").text
    assert '<details class="wellness-text">' not in html  # not among the most harmful: text shown


def test_another_moderator_is_refused_on_a_claimed_case(desk: Desk) -> None:
    case_id = desk.notice()
    mia, mia_csrf = desk.client(MIA)
    post(mia, f"/console/cases/{case_id}/claim", mia_csrf)
    ola, ola_csrf = desk.client(OLA)
    assert "Claimed by" in ola.get(f"/console/cases/{case_id}").text
    before = desk.audit_count()
    for action, data in (("claim", {}), ("decide", REMOVE)):
        refused = post(ola, f"/console/cases/{case_id}/{action}", ola_csrf, **data)
        assert refused.status_code == 409, action
        assert "Not done; nothing was changed." in refused.text
        assert "claimed by another reviewer" in refused.text
    assert desk.case(case_id).claimed_by == desk.user_id(MIA)
    assert desk.case(case_id).status is CaseStatus.OPEN
    assert desk.audit_count() == before
    assert desk.visible()
    released = post(ola, f"/console/cases/{case_id}/release", ola_csrf)
    assert released.status_code == 409


def test_a_bad_decision_is_shown_in_place_and_changes_nothing(desk: Desk) -> None:
    case_id = desk.notice()
    mia, csrf = desk.client(MIA)
    post(mia, f"/console/cases/{case_id}/claim", csrf)
    before = desk.audit_count()
    bad = post(mia, f"/console/cases/{case_id}/decide", csrf, **(REMOVE | {"legal_ground": " "}))
    assert bad.status_code == 422
    assert 'id="legal_ground-error"' in bad.text
    assert 'value="remove" checked' in bad.text  # the reviewer's choice is kept
    unknown = post(mia, f"/console/cases/{case_id}/decide", csrf, **(REMOVE | {"category": "NOPE"}))
    assert unknown.status_code == 422
    assert desk.case(case_id).status is CaseStatus.OPEN
    assert desk.audit_count() == before
    assert desk.visible()


def test_the_case_page_previews_the_statement_exactly_and_then_shows_the_one_kept(desk: Desk) -> None:
    case_id = desk.notice()
    mia, csrf = desk.client(MIA)
    assert "Preview the statement" in mia.get(f"/console/cases/{case_id}").text
    before = desk.audit_count()
    preview = post(mia, f"/console/cases/{case_id}/decide", csrf, intent="preview", **REMOVE)
    assert preview.status_code == 200
    html = preview.text
    assert "The statement of reasons this decision will send" in html
    assert "<dt>decision_visibility</dt><dd>DECISION_VISIBILITY_CONTENT_REMOVED</dd>" in html
    assert "<dt>source_type</dt><dd>SOURCE_ARTICLE_16</dd>" in html
    assert "<dt>illegal_content_explanation</dt><dd>The post incites a terrorist attack.</dd>" in html
    assert desk.case(case_id).status is CaseStatus.OPEN  # a preview decides nothing, needs no claim
    assert desk.audit_count() == before

    personal = REMOVE | {"explanation": "Posted by jo@example.org, who runs the channel."}
    refused = post(mia, f"/console/cases/{case_id}/decide", csrf, intent="preview", **personal)
    assert refused.status_code == 422
    assert "would be refused" in refused.text
    assert "illegal_content_explanation" in refused.text  # the field named

    post(mia, f"/console/cases/{case_id}/claim", csrf)
    post(mia, f"/console/cases/{case_id}/decide", csrf, **REMOVE)
    kept = mia.get(f"/console/cases/{case_id}").text
    assert "Statements of reasons" in kept
    assert "<code>trustdesk-" in kept
    assert "delivered " in kept  # the notice step ran after the decision


def test_a_termination_needs_a_second_moderator(desk: Desk) -> None:
    case_id = desk.notice()
    mia, mia_csrf = desk.client(MIA)
    post(mia, f"/console/cases/{case_id}/claim", mia_csrf)
    proposed = post(
        mia,
        f"/console/cases/{case_id}/decide",
        mia_csrf,
        **(REMOVE | {"restrictions": ["remove", "terminate"]}),
    )
    assert proposed.headers["location"] == f"/console/cases/{case_id}?done=proposed"
    assert desk.case(case_id).status is CaseStatus.AWAITING_APPROVAL
    assert desk.visible()  # nothing done before the approval
    own = mia.get(f"/console/cases/{case_id}").text
    assert "Four eyes" in own
    assert f'action="/console/cases/{case_id}/approve"' not in own
    refused = post(mia, f"/console/cases/{case_id}/approve", mia_csrf)
    assert refused.status_code == 403
    assert "four eyes" in refused.text
    assert desk.case(case_id).status is CaseStatus.AWAITING_APPROVAL

    ola, ola_csrf = desk.client(OLA)
    assert f'action="/console/cases/{case_id}/approve"' in ola.get(f"/console/cases/{case_id}").text
    approved = post(ola, f"/console/cases/{case_id}/approve", ola_csrf)
    assert approved.headers["location"] == f"/console/cases/{case_id}?done=approved"
    assert desk.case(case_id).status is CaseStatus.DECIDED
    assert not desk.visible()
    account = desk.platform.lookup_account(TargetType.USER_ID, desk.author)
    assert account is not None
    assert account.status is AccountStatus.TERMINATED


def test_a_rejected_termination_goes_back_to_the_queue(desk: Desk) -> None:
    case_id = desk.notice()
    mia, mia_csrf = desk.client(MIA)
    post(mia, f"/console/cases/{case_id}/claim", mia_csrf)
    post(mia, f"/console/cases/{case_id}/decide", mia_csrf, **(REMOVE | {"restrictions": ["terminate"]}))
    ola, ola_csrf = desk.client(OLA)
    assert post(ola, f"/console/cases/{case_id}/reject", ola_csrf, note=" ").status_code == 422
    rejected = post(ola, f"/console/cases/{case_id}/reject", ola_csrf, note="A first offence: remove only.")
    assert rejected.headers["location"] == f"/console/cases/{case_id}?done=rejected"
    assert desk.case(case_id).status is CaseStatus.OPEN


def test_an_appeal_is_granted_by_another_moderator_and_the_content_is_restored(desk: Desk) -> None:
    case_id = desk.notice()
    mia, mia_csrf = desk.client(MIA)
    post(mia, f"/console/cases/{case_id}/claim", mia_csrf)
    post(mia, f"/console/cases/{case_id}/decide", mia_csrf, **REMOVE)
    assert not desk.visible()
    told = [n for n in desk.platform.notices(desk.author) if "/appeal?key=" in n.text]
    assert told, "the statement of reasons was delivered with its appeal link"
    key = told[-1].text.split("/appeal?key=", 1)[1].split()[0]
    with unit_of_work(desk.sessions) as session:
        appeal_id = appeals.file_appeal(
            session, desk.clock, key, "It was a quote from the news, to condemn it."
        ).id

    listing = mia.get("/console/appeals").text
    assert "It was a quote from the news, to condemn it." in listing
    assert "The post incites a terrorist attack." in listing  # the original decision
    assert "You took part in this decision" in listing
    assert f'action="/console/appeals/{appeal_id}/decide"' not in listing
    refused = post(mia, f"/console/appeals/{appeal_id}/decide", mia_csrf, outcome="grant", answer="ok")
    assert refused.status_code == 403
    assert "different person" in refused.text
    with desk.sessions() as session:
        assert session.get_one(Appeal, appeal_id).status.value == "open"
    assert not desk.visible()

    ola, ola_csrf = desk.client(OLA)
    assert f'action="/console/appeals/{appeal_id}/decide"' in ola.get("/console/appeals").text
    granted = post(
        ola,
        f"/console/appeals/{appeal_id}/decide",
        ola_csrf,
        outcome="grant",
        answer="Reporting, not incitement.",
    )
    assert granted.headers["location"] == "/console/appeals?done=granted"
    assert desk.case(case_id).status is CaseStatus.REVERSED
    export = desk.platform.export(
        desk.author, [DataCategory.CONTENT], Period(desk.clock.now - timedelta(days=30), desk.clock.now)
    )
    assert any(TEXT in str(r.fields) for r in export.records)  # the content is visible again


FLAGGER = {
    "name": "Hate Aid",
    "country": "DE",
    "contact_email": "n@hateaid.example",
    "expertise": DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH.value,
}
MODERATION_ROUTES = [
    ("GET", "/console/moderation"),
    ("GET", "/console/cases/{case}"),
    ("GET", "/console/cases/{case}/media"),
    ("POST", "/console/cases/{case}/claim"),
    ("POST", "/console/cases/{case}/release"),
    ("POST", "/console/cases/{case}/decide"),
    ("POST", "/console/cases/{case}/approve"),
    ("POST", "/console/cases/{case}/reject"),
    ("GET", "/console/appeals"),
    ("POST", "/console/appeals/{appeal}/decide"),
    ("GET", "/console/strikes"),
    ("GET", "/console/flaggers"),
    ("POST", "/console/flaggers"),
    ("POST", "/console/flaggers/{flagger}/revoke"),
]


def test_a_legal_reviewer_gets_a_403_on_every_moderation_route(desk: Desk) -> None:
    case_id = desk.notice()
    reviewer, csrf = desk.client("rev@platform.example", "legal_reviewer")
    before = desk.audit_count()
    for method, path in MODERATION_ROUTES:
        url = path.format(case=case_id, appeal="x", flagger="x")
        response = reviewer.get(url) if method == "GET" else post(reviewer, url, csrf, **REMOVE)
        assert response.status_code == 403, (method, path)
        assert "your role does not allow this" in response.text
        assert TEXT not in response.text
    assert 'href="/console/moderation"' not in reviewer.get("/console").text
    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Exposure)) == 0
    assert desk.audit_count() == before
    assert desk.case(case_id).claimed_by is None


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(desk: Desk) -> None:
    case_id = desk.notice()
    mia, csrf = desk.client(MIA)
    for token in (None, "forged"):
        for action in ("claim", "decide"):
            response = post(mia, f"/console/cases/{case_id}/{action}", token, **REMOVE)
            assert response.status_code == 403
            assert "the form expired or did not come from this site" in response.text
        flagger = post(mia, "/console/flaggers", token, **FLAGGER)
        assert flagger.status_code == 403
    assert desk.case(case_id).claimed_by is None
    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TrustedFlagger)) == 0
    assert post(mia, f"/console/cases/{case_id}/claim", csrf).status_code == 303


def test_logging_out_releases_the_reviewers_claims(desk: Desk) -> None:
    case_id = desk.notice()
    mia, csrf = desk.client(MIA)
    post(mia, f"/console/cases/{case_id}/claim", csrf)
    assert desk.case(case_id).claimed_by == desk.user_id(MIA)
    out = post(mia, "/console/logout", csrf)
    assert out.status_code == 303
    assert desk.case(case_id).claimed_by is None
    ola, ola_csrf = desk.client(OLA)
    assert post(ola, f"/console/cases/{case_id}/claim", ola_csrf).status_code == 303


def test_the_exposure_cap_hides_the_most_harmful_cases(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    capped = desk.container.settings.model_copy(update={"exposure_cap": 1})
    monkeypatch.setattr(desk.container, "settings", capped)
    grave = desk.notice()
    other = desk.post("Another terror call")
    grave_too = desk.notice(other)
    mild = desk.notice(
        desk.post("Cheap watches, pay first"), category=DsaCategory.SCAMS_AND_FRAUD, keyword=None
    )
    mia, _ = desk.client(MIA)
    before = mia.get("/console/moderation").text
    for case_id in (grave, grave_too, mild):
        assert case_id in before
    assert "0 of 1" in before
    mia.get(f"/console/cases/{grave}")  # one most harmful case seen: the cap is reached
    mia.get(f"/console/cases/{mild}")  # not counted
    after = mia.get("/console/moderation").text
    assert grave not in after
    assert grave_too not in after
    assert mild in after
    assert "You have seen 1 cases of the most harmful categories today (the cap is 1)." in after
    assert "2 such cases are not offered to you" in after
    ola, _ = desk.client(OLA)
    assert grave in ola.get("/console/moderation").text  # the cap is per reviewer

    direct = mia.get(f"/console/cases/{grave_too}").text  # a direct link shows no more than the queue
    assert 'id="exposure-cap"' in direct
    assert "Another terror call" not in direct
    again = mia.get(f"/console/cases/{grave}").text  # a case already seen stays visible
    assert 'id="exposure-cap"' not in again
    assert TEXT in again
    with desk.sessions() as session:
        seen = session.scalars(select(Exposure.case_id).where(Exposure.user_id == desk.user_id(MIA)))
        assert sorted(seen) == sorted([grave, mild])


def test_flaggers_are_registered_with_a_key_shown_once_and_revoked(desk: Desk) -> None:
    mia, csrf = desk.client(MIA)
    bad = post(mia, "/console/flaggers", csrf, **(FLAGGER | {"country": "US"}))
    assert bad.status_code == 422
    assert "not an EU Member State" in bad.text
    assert 'value="Hate Aid"' in bad.text
    good = post(mia, "/console/flaggers", csrf, **(FLAGGER | {"country": "de"}))
    assert good.status_code == 200
    assert "shown this once" in good.text
    assert "tdf_" in good.text
    listing = mia.get("/console/flaggers").text
    assert "Hate Aid" in listing
    assert "tdf_" not in listing
    with desk.sessions() as session:
        (flagger,) = session.scalars(select(TrustedFlagger))
    revoked = post(mia, f"/console/flaggers/{flagger.id}/revoke", csrf)
    assert revoked.headers["location"] == "/console/flaggers?done=revoked"
    assert "revoked" in mia.get("/console/flaggers").text
    again = post(mia, f"/console/flaggers/{flagger.id}/revoke", csrf)
    assert again.status_code == 404


def test_the_strike_policy_is_shown_read_only(desk: Desk) -> None:
    mia, _ = desk.client(MIA)
    html = mia.get("/console/strikes").text
    assert "Strike policy in force" in html
    assert "warn at" in html
    assert "<form" not in html.split('id="policy"', 1)[1]


def test_a_notified_image_opens_a_case_with_its_media_fetched_from_the_platform(desk: Desk) -> None:
    image = (
        Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pdq" / "images" / "bridge-mods"
    ) / "aaa-orig.jpg"
    locator = desk.platform.post_message(
        desk.chat, desk.author, media=image.read_bytes(), sent_at=desk.clock.now - timedelta(hours=1)
    )
    case_id = desk.notice(locator, category=DsaCategory.SCAMS_AND_FRAUD, keyword=None)
    case = desk.case(case_id)
    assert case.content_kind is ContentKind.IMAGE
    assert case.media is not None
    assert case.media["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    mia, _ = desk.client(MIA)
    html = mia.get(f"/console/cases/{case_id}").text
    assert f'<img src="/console/cases/{case_id}/media"' in html
    assert 'class="wellness-blur"' in html
    media = mia.get(f"/console/cases/{case_id}/media")
    assert media.status_code == 200
    assert media.content == image.read_bytes()
    assert media.headers["content-type"] == "image/jpeg"
    assert media.headers["cache-control"] == "no-store"
    assert mia.get("/console/cases/nope/media").status_code == 404
