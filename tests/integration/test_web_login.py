"""Logging in to the portal and the console: password plus TOTP, delays, throttling, cookies, sessions."""

from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import PASSWORD, add_staff_login, fresh_code, give_officer_login, log_in
from tests.factories import officer_key
from trustdesk.auth.models import LoginAttempt, WebSession
from trustdesk.clock import FrozenClock
from trustdesk.web import login_routes
from trustdesk.web.browser import LoginThrottle


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_routes, "throttle", LoginThrottle())


@pytest.fixture
def officer(sessions: sessionmaker[Session], clock: FrozenClock) -> tuple[str, str]:
    officer_key(sessions, clock)
    return "officer@justice.fr", give_officer_login(sessions, clock, "officer@justice.fr")


def attempt(
    client: TestClient, face: str, email: str, password: str, code: str, next_url: str = ""
) -> Response:
    return client.post(
        f"/{face}/login",
        data={"email": email, "password": password, "code": code, "next": next_url},
        follow_redirects=False,
    )


def test_the_right_password_and_code_open_a_session_with_a_strict_cookie(
    client: TestClient, officer: tuple[str, str], clock: FrozenClock
) -> None:
    email, secret = officer
    response = attempt(
        client, "portal", email, PASSWORD, pyotp.TOTP(secret).at(clock.now), "/portal/requests/new"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/requests/new"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Path=/portal" in cookie


@pytest.mark.parametrize("wrong", ["password", "code", "email"])
def test_a_wrong_password_code_or_email_is_refused_the_same_way(
    client: TestClient,
    officer: tuple[str, str],
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    wrong: str,
) -> None:
    email, secret = officer
    code = pyotp.TOTP(secret).at(clock.now)
    values = {"email": email, "password": PASSWORD, "code": code}
    values[wrong] = {
        "password": "wrong password!",
        "code": str((int(code) + 1) % 1_000_000).zfill(6),
        "email": "nobody@justice.fr",
    }[wrong]
    response = attempt(client, "portal", values["email"], values["password"], values["code"])
    assert response.status_code == 401
    assert "Wrong e-mail, password or code." in response.text
    assert "set-cookie" not in response.headers
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_five_failures_make_the_address_wait_before_its_next_attempt(
    client: TestClient, officer: tuple[str, str], clock: FrozenClock
) -> None:
    email, secret = officer
    for _ in range(5):
        attempt(client, "portal", email, "wrong password!", "000000")
    waiting = attempt(client, "portal", email, PASSWORD, pyotp.TOTP(secret).at(clock.now))
    assert waiting.status_code == 429
    assert waiting.headers["retry-after"] == "2"
    assert "Too many failed attempts from your address" in waiting.text
    clock.advance(timedelta(seconds=2))
    assert attempt(client, "portal", email, PASSWORD, pyotp.TOTP(secret).at(clock.now)).status_code == 303


def test_one_address_is_throttled_whatever_the_accounts(client: TestClient) -> None:
    statuses = [
        attempt(client, "console", f"u{n}@platform.example", "x" * 12, "000000").status_code
        for n in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_officers_and_staff_cannot_cross_faces(
    client: TestClient, officer: tuple[str, str], sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    email, secret = officer
    staff_secret = add_staff_login(sessions, clock, "rui@platform.example", "legal_reviewer")
    # An officer's credentials do not open the console, nor a staff member's the portal.
    assert attempt(client, "console", email, PASSWORD, pyotp.TOTP(secret).at(clock.now)).status_code == 401
    assert (
        attempt(
            client, "portal", "rui@platform.example", PASSWORD, pyotp.TOTP(staff_secret).at(clock.now)
        ).status_code
        == 401
    )
    log_in(client, "portal", email, secret, clock)
    console = client.get("/console", follow_redirects=False)
    assert console.status_code == 303
    assert console.headers["location"].startswith("/console/login")


def test_a_session_ends_when_idle_and_on_logout(
    client: TestClient, officer: tuple[str, str], clock: FrozenClock
) -> None:
    email, secret = officer
    csrf = log_in(client, "portal", email, secret, clock)
    clock.advance(timedelta(minutes=31))
    assert client.get("/portal", follow_redirects=False).status_code == 303

    clock.advance(timedelta(minutes=1))
    csrf = log_in(client, "portal", email, secret, clock)
    assert (
        client.post("/portal/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code
        == 403
    )
    stolen = client.cookies.get("td_portal")
    assert stolen
    assert client.post("/portal/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/portal", follow_redirects=False).status_code == 303

    # The old cookie, replayed after the logout (say, copied before it), opens nothing: the session is over
    # on the server, not only forgotten by this browser.
    client.cookies.set("td_portal", stolen, domain="testserver.local", path="/portal")
    assert client.cookies.get("td_portal") == stolen
    replayed = client.get("/portal", follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/portal/login?next=/portal"
    again = client.post("/portal/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/portal/login?next=")


def test_a_console_cookie_replayed_after_logout_is_refused(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    secret = add_staff_login(sessions, clock, "rui@platform.example", "legal_reviewer")
    csrf = log_in(client, "console", "rui@platform.example", secret, clock)
    stolen = client.cookies.get("td_console")
    assert stolen
    assert client.get("/console", follow_redirects=False).status_code == 200
    out = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/console/login")

    client.cookies.set("td_console", stolen, domain="testserver.local", path="/console")
    replayed = client.get("/console", follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/console/login?next=/console"


def test_the_next_parameter_never_leaves_the_site(
    client: TestClient, officer: tuple[str, str], clock: FrozenClock
) -> None:
    email, secret = officer
    for evil in ["https://evil.example/", "//evil.example", "/console", "/portal\\@evil"]:
        response = attempt(client, "portal", email, PASSWORD, fresh_code(secret, clock), evil)
        assert response.headers["location"] == "/portal", evil


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/portal/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "<script>" not in page.text
    assert '<label for="code">' in page.text
