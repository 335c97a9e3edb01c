"""The public notice and appeal pages: forms without JavaScript, CSRF by double-submit cookie, escaping."""

import re
from datetime import timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration import test_due_process
from tests.integration.test_due_process import NO_ACTION, REMOVE, Desk, claim, decide
from trustdesk.safety.models import Appeal, Notice
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.web.public.moderation import CSRF_COOKIE

Response = Any  # the test client's response
desk = test_due_process.desk  # the fixture: an author, a reader, a posted message, two moderators

HOSTILE = '<script>alert("x")</script> calls for an attack'


def csrf_of(response: Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found is not None
    return found.group(1)


def form(desk: Desk, **overrides: Any) -> dict[str, Any]:
    fields = {
        "location": desk.locator,
        "category": DsaCategory.RISK_FOR_PUBLIC_SECURITY.value,
        "keyword": DsaKeyword.TERRORIST_CONTENT.value,
        "reason": "It calls for an attack on a railway station.",
        "notifier_name": "Jo Doe",
        "notifier_email": "jo@example.org",
        "good_faith": "yes",
    }
    return {k: v for k, v in (fields | overrides).items() if v is not None}


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def send(client: TestClient, desk: Desk, **overrides: Any) -> Response:
    token = csrf_of(client.get("/notice"))
    return client.post("/notice", data=form(desk, **overrides) | {"csrf_token": token})


def test_the_home_page_links_the_notice_form(client: TestClient) -> None:
    assert 'href="/notice"' in client.get("/").text


def test_the_notice_form_works_without_javascript(client: TestClient, desk: Desk) -> None:
    page = client.get("/notice")
    assert page.status_code == 200
    assert 'method="post" action="/notice"' in page.text
    assert f'value="{DsaCategory.SCAMS_AND_FRAUD.value}">Scams and fraud</option>' in page.text
    assert "optional only for child sexual abuse" in page.text
    assert 'name="good_faith"' in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_a_notice_is_acknowledged_with_its_reference_and_key_once(client: TestClient, desk: Desk) -> None:
    ack = send(client, desk)
    assert ack.status_code == 201, ack.text
    with desk.sessions() as session:
        notice = session.scalars(select(Notice)).one()
    assert notice.reference in ack.text
    key = re.search(r"<code>(tdn_[^<]+)</code>", ack.text)
    assert key is not None
    link = f"/notice/{notice.reference}?key={key.group(1)}"
    assert f'href="{link}"' in ack.text
    status = client.get(link)
    assert status.status_code == 200
    assert "waiting for a person" in status.text
    assert key.group(1) not in status.text  # shown once
    assert "jo@example.org" not in status.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"location": None}, "location", "fill in this field"),
        ({"good_faith": None}, "good_faith", "believe in good faith"),
        ({"notifier_name": None}, "notifier_name", "give your name"),
        ({"location": "ref://chat/999/message/999"}, "location", "no content at"),
        ({"reason": "short"}, "reason", "at least 10 characters"),
    ],
)
def test_a_bad_notice_shows_the_form_again_with_the_message_and_the_values(
    client: TestClient, desk: Desk, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = send(client, desk, **overrides)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error" role="alert">[^<]*{re.escape(message)}', response.text)
    assert 'value="jo@example.org"' in response.text or field == "notifier_email"
    assert 'value="' + DsaCategory.RISK_FOR_PUBLIC_SECURITY.value + '" selected' in response.text
    assert count(desk.sessions, Notice) == 0


def test_a_child_sexual_abuse_notice_may_be_anonymous(client: TestClient, desk: Desk) -> None:
    response = send(
        client, desk, notifier_name=None, notifier_email=None,
        category=DsaCategory.PROTECTION_OF_MINORS.value, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL.value,
    )  # fmt: skip
    assert response.status_code == 201


def test_a_throttled_notifier_sees_the_form_with_429(client: TestClient, desk: Desk) -> None:
    anonymous = {
        "notifier_name": None,
        "notifier_email": None,
        "category": DsaCategory.PROTECTION_OF_MINORS.value,
        "keyword": DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL.value,
    }
    token = csrf_of(client.get("/notice"))
    for _ in range(20):
        assert client.post("/notice", data=form(desk, **anonymous) | {"csrf_token": token}).status_code == 201
    response = client.post("/notice", data=form(desk, **anonymous) | {"csrf_token": token})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3600"
    assert "at most 20 notices an hour" in response.text
    assert count(desk.sessions, Notice) == 20


@pytest.mark.parametrize("token", [None, "forged-token-forged-token-forged-token"])
def test_a_notice_without_the_csrf_token_is_refused(
    client: TestClient, desk: Desk, token: str | None
) -> None:
    client.get("/notice")
    data = form(desk) | ({"csrf_token": token} if token else {})
    response = client.post("/notice", data=data)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert count(desk.sessions, Notice) == 0


def test_a_notice_without_the_cookie_is_refused(client: TestClient, desk: Desk) -> None:
    token = csrf_of(client.get("/notice"))
    client.cookies.clear()
    response = client.post("/notice", data=form(desk) | {"csrf_token": token})
    assert response.status_code == 403
    assert count(desk.sessions, Notice) == 0


def test_a_hostile_reason_is_escaped(client: TestClient, desk: Desk) -> None:
    response = send(client, desk, reason=HOSTILE, good_faith=None)
    assert response.status_code == 422
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    hostile_location = send(client, desk, location='"><script>alert(1)</script>')
    assert "<script>alert(1)" not in hostile_location.text


def test_a_wrong_key_or_reference_is_404(client: TestClient, desk: Desk) -> None:
    send(client, desk)
    with desk.sessions() as session:
        reference = session.scalars(select(Notice.reference)).one()
    assert client.get(f"/notice/{reference}?key=tdn_wrong").status_code == 404
    assert client.get(f"/notice/{reference}").status_code == 404
    assert client.get("/notice/NT-2026-AAAA-BBBB?key=tdn_wrong").status_code == 404


def decided(client: TestClient, desk: Desk, decision: Any = NO_ACTION) -> tuple[str, str]:
    ack = send(client, desk)
    key = re.search(r"<code>(tdn_[^<]+)</code>", ack.text)
    assert key is not None
    with desk.sessions() as session:
        notice = session.scalars(select(Notice)).one()
    claim(desk, desk.mia, notice.case_id)
    decide(desk, desk.mia, notice.case_id, decision)
    return notice.reference, key.group(1)


def test_a_notifier_appeals_from_the_status_page_and_follows_the_appeal(
    client: TestClient, desk: Desk
) -> None:
    reference, key = decided(client, desk)
    status = client.get(f"/notice/{reference}?key={key}")
    assert "Not acted upon" in status.text
    assert f'href="/appeal?key={key}"' in status.text
    page = client.get(f"/appeal?key={key}")
    assert page.status_code == 200
    assert "free" in page.text
    assert "six months" in page.text
    assert "never a machine" in page.text
    sent = client.post(
        "/appeal",
        data={"key": key, "body": "It is a call to violence.", "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/appeal/AP-2026-")
    followed = client.get(sent.headers["location"])
    assert followed.status_code == 200
    assert "a person will decide it" in followed.text
    wrong = sent.headers["location"].split("?")[0] + "?key=tdn_wrong"
    assert client.get(wrong).status_code == 404
    assert count(desk.sessions, Appeal) == 1


def test_an_empty_appeal_shows_the_form_again(client: TestClient, desk: Desk) -> None:
    _, key = decided(client, desk)
    page = client.get(f"/appeal?key={key}")
    response = client.post("/appeal", data={"key": key, "body": " ", "csrf_token": csrf_of(page)})
    assert response.status_code == 422
    assert 'id="body-error"' in response.text
    assert count(desk.sessions, Appeal) == 0


def test_an_appeal_without_the_csrf_token_is_refused(client: TestClient, desk: Desk) -> None:
    _, key = decided(client, desk)
    client.get(f"/appeal?key={key}")
    response = client.post("/appeal", data={"key": key, "body": "It is a call to violence."})
    assert response.status_code == 403
    assert count(desk.sessions, Appeal) == 0


def test_an_actioned_notice_has_no_appeal_409(client: TestClient, desk: Desk) -> None:
    reference, key = decided(client, desk, REMOVE)
    assert "/appeal?" not in client.get(f"/notice/{reference}?key={key}").text
    response = client.get(f"/appeal?key={key}")
    assert response.status_code == 409
    assert "acted upon" in response.text


def test_an_appeal_after_six_months_is_409(client: TestClient, desk: Desk) -> None:
    _, key = decided(client, desk)
    token = csrf_of(client.get(f"/appeal?key={key}"))
    desk.clock.now = desk.clock.now + relativedelta(months=6) + timedelta(seconds=1)
    response = client.post("/appeal", data={"key": key, "body": "Too late?", "csrf_token": token})
    assert response.status_code == 409
    assert "closed on" in response.text
    assert count(desk.sessions, Appeal) == 0


def test_a_bad_appeal_key_is_404(client: TestClient, desk: Desk) -> None:
    assert client.get("/appeal?key=tdn_wrong").status_code == 404
    assert client.get("/appeal").status_code == 404
