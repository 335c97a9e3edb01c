"""Enrolment links: an account made from the CLI chooses its password and enrols its authenticator on a
one-time page, then logs in with password and TOTP."""

import json
import re

import pyotp
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import PASSWORD, add_staff_login, log_in
from tests.integration.conftest import Run
from trustdesk.app import Container, build_container
from trustdesk.audit.vocabulary import Actor
from trustdesk.auth import enrolment
from trustdesk.auth.models import Enrolment
from trustdesk.clock import FrozenClock
from trustdesk.config import Settings
from trustdesk.db import unit_of_work
from trustdesk.staff import service as staff
from trustdesk.web.app import create_app

SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
NEW_PASSWORD = "a long new passphrase"
EMAIL = "ana@platform.example"


def new_user_link(sessions: sessionmaker[Session], clock: FrozenClock, email: str = EMAIL) -> str:
    with unit_of_work(sessions) as session:
        user = staff.add_user(session, clock, Actor.operator(), email=email, roles=["legal_reviewer"]).user
        return enrolment.issue(session, clock, Actor.operator(), user)


def secret_on(client: TestClient, token: str) -> str:
    page = client.get(f"/enrol/{token}")
    assert page.status_code == 200, page.text
    found = SECRET.search(page.text)
    assert found, page.text
    return found.group(1)


def enrol(
    client: TestClient, token: str, code: str, password: str = NEW_PASSWORD, confirm: str | None = None
) -> Response:
    return client.post(
        f"/enrol/{token}",
        data={"password": password, "confirm": password if confirm is None else confirm, "code": code},
        follow_redirects=False,
    )


def login(client: TestClient, face: str, email: str, password: str, code: str) -> Response:
    return client.post(
        f"/{face}/login", data={"email": email, "password": password, "code": code}, follow_redirects=False
    )


def test_enrolment_end_to_end_then_login_with_totp(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    token = new_user_link(sessions, clock)
    secret = secret_on(client, token)
    assert secret == secret_on(client, token)  # the same secret on every view of the page
    totp = pyotp.TOTP(secret)
    step = totp.timecode(clock.now)

    done = enrol(client, token, totp.generate_otp(step))
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/console/login?enrolled=1"
    assert "Your account is set up" in client.get(done.headers["location"]).text

    assert login(client, "console", EMAIL, NEW_PASSWORD, totp.generate_otp(step)).status_code == 401  # used
    assert login(client, "console", EMAIL, NEW_PASSWORD, totp.generate_otp(step + 1)).status_code == 303
    assert client.get("/console").status_code == 200
    with sessions() as session:
        user = staff.find_user(session, EMAIL)
        assert user is not None
        assert user.totp_secret is not None
        assert user.totp_secret.startswith("v1:")  # sealed, never the plaintext
        assert secret not in user.totp_secret


def test_a_used_link_is_refused_and_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    token = new_user_link(sessions, clock)
    totp = pyotp.TOTP(secret_on(client, token))
    assert enrol(client, token, totp.at(clock.now)).status_code == 303
    with sessions() as session:
        before = staff.find_user(session, EMAIL)
        assert before is not None
        sealed = before.totp_secret
    again = enrol(client, token, totp.at(clock.now, counter_offset=1), password="someone else's password")
    assert again.status_code == 410
    assert "already used" in again.text
    assert client.get(f"/enrol/{token}").status_code == 410
    with sessions() as session:
        after = staff.find_user(session, EMAIL)
        assert after is not None
        assert after.totp_secret == sealed


def test_unknown_and_expired_links_show_an_error_page(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    unknown = client.get("/enrol/not-a-real-link")
    assert unknown.status_code == 404
    assert "unknown" in unknown.text
    token = new_user_link(sessions, clock)
    clock.advance(enrolment.LIFETIME)
    expired = client.get(f"/enrol/{token}")
    assert expired.status_code == 410
    assert "expired" in expired.text
    assert enrol(client, token, "000000").status_code == 410


def test_a_wrong_code_or_bad_password_is_refused_and_the_link_stays_usable(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    token = new_user_link(sessions, clock)
    totp = pyotp.TOTP(secret_on(client, token))
    wrong = enrol(client, token, "000000" if totp.at(clock.now) != "000000" else "111111")
    assert wrong.status_code == 422
    assert "Not done; nothing was changed." in wrong.text
    assert "not the current one" in wrong.text
    short = enrol(client, token, totp.at(clock.now), password="short")
    assert short.status_code == 422
    assert "at least 12 characters" in short.text
    differ = enrol(client, token, totp.at(clock.now), confirm="another long passphrase")
    assert differ.status_code == 422
    with sessions() as session:
        user = staff.find_user(session, EMAIL)
        assert user is not None
        assert user.totp_secret is None
        (record,) = session.scalars(select(Enrolment)).all()
        assert record.used_at is None
    assert enrol(client, token, totp.at(clock.now)).status_code == 303


def test_a_new_link_voids_the_old_and_replaces_credentials_only_when_used(
    container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    old_secret = add_staff_login(sessions, clock, EMAIL, "legal_reviewer")
    with unit_of_work(sessions) as session:
        user = staff.find_user(session, EMAIL)
        assert user is not None
        first = enrolment.issue(session, clock, Actor.operator(), user)
        second = enrolment.issue(session, clock, Actor.operator(), user)
    app = create_app(container)
    with (
        TestClient(app, base_url="https://testserver") as old_browser,
        TestClient(app, base_url="https://testserver") as client,
    ):
        log_in(old_browser, "console", EMAIL, old_secret, clock)  # the old credentials still work
        assert client.get(f"/enrol/{first}").status_code == 410
        page = client.get(f"/enrol/{second}")
        assert "replaces both" in page.text
        totp = pyotp.TOTP(secret_on(client, second))
        assert enrol(client, second, totp.at(clock.now)).status_code == 303
        assert old_browser.get("/console", follow_redirects=False).status_code == 303  # its session ended
        code = pyotp.TOTP(old_secret).at(clock.now, counter_offset=1)
        assert login(client, "console", EMAIL, PASSWORD, code).status_code == 401
        assert (
            login(client, "console", EMAIL, NEW_PASSWORD, totp.at(clock.now, counter_offset=1)).status_code
            == 303
        )


# --- from the CLI ----------------------------------------------------------------------------------------


def test_user_add_prints_a_link_that_enrols_the_account_for_the_console(run: Run, database_url: str) -> None:
    added = json.loads(run("user", "add", "--email", EMAIL, "--role", "legal_reviewer", "--json").stdout)
    assert "password" not in added
    url = added["enrolment_url"]
    assert url.startswith("http://127.0.0.1:8080/enrol/")
    text = run("user", "enrol", EMAIL).stdout
    assert "enrolment link http://127.0.0.1:8080/enrol/" in text
    fresh = text.split("enrolment link ", 1)[1].split()[0]
    container = build_container(Settings(database_url=database_url, reference_platform_url="sqlite://"))
    try:
        with TestClient(create_app(container), base_url="https://testserver") as client:
            assert client.get(url.removeprefix("http://127.0.0.1:8080")).status_code == 410  # voided
            path = fresh.removeprefix("http://127.0.0.1:8080")
            totp = pyotp.TOTP(secret_on(client, path.removeprefix("/enrol/")))
            now = container.clock()
            assert enrol(client, path.removeprefix("/enrol/"), totp.at(now)).status_code == 303
            answer = login(client, "console", EMAIL, NEW_PASSWORD, totp.at(now, counter_offset=1))
            assert answer.status_code == 303
    finally:
        container.engine.dispose()
    assert "already" not in run("user", "enrol", EMAIL).stdout  # a reset link for an enrolled account


def test_officer_add_prints_its_key_and_a_portal_enrolment_link(run: Run) -> None:
    agency = json.loads(
        run(
            "authority", "add", "--name", "Parquet", "--country", "FR", "--kind", "prosecutor",
            "--domain", "justice.fr", "--json",
        ).stdout
    )["id"]  # fmt: skip
    text = run(
        "officer", "add", "--authority", agency, "--name", "Claire", "--email", "claire@justice.fr"
    ).stdout
    assert "api_key tdk_" in text
    assert "enrolment link http://127.0.0.1:8080/enrol/" in text
    again = json.loads(run("officer", "enrol", "claire@justice.fr", "--json").stdout)
    assert again["enrolment_url"].startswith("http://127.0.0.1:8080/enrol/")
    assert "no officer" in run("officer", "enrol", "nobody@justice.fr", expect=2).stderr
    run("officer", "deactivate", "claire@justice.fr", "--reason", "left")
    assert "deactivated" in run("officer", "enrol", "claire@justice.fr", expect=2).stderr
