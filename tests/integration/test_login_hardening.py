"""Login hardening (issue 11): single-use TOTP codes, encrypted TOTP secrets, no enumeration by timing,
delays per account and address, client addresses behind trusted proxies."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import PASSWORD, add_staff_login, give_officer_login, log_in, totp_key
from tests.databases import TemplateDatabase
from tests.factories import officer_key
from trustdesk.app import Container, build_container
from trustdesk.auth import service as auth
from trustdesk.auth.models import LoginAttempt
from trustdesk.auth.service import Face
from trustdesk.auth.totp import key_at
from trustdesk.authorities.models import Officer
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings
from trustdesk.db import make_engine, unit_of_work
from trustdesk.staff.models import StaffUser
from trustdesk.web.app import create_app

EMAIL = "officer@justice.fr"
ATTACKER = "203.0.113.66"
REVIEWER = "198.51.100.7"


@pytest.fixture
def officer(sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    officer_key(sessions, clock)
    return give_officer_login(sessions, clock, EMAIL)


def code_at(secret: str, clock: FrozenClock, steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.now) + steps)


def login(
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    code: str,
    *,
    password: str = PASSWORD,
    email: str = EMAIL,
    client: str = REVIEWER,
    face: Face = Face.PORTAL,
) -> auth.LoginResult:
    with unit_of_work(sessions) as session:
        return auth.login(session, clock, face, email, password, code, client, key=totp_key())


def attempt(client: TestClient, code: str, *, password: str = PASSWORD, via: str | None = None) -> Response:
    headers = {"X-Forwarded-For": via} if via else {}
    return client.post(
        "/portal/login",
        data={"email": EMAIL, "password": password, "code": code},
        headers=headers,
        follow_redirects=False,
    )


# --- 1. a TOTP code is accepted once ---------------------------------------------------------------


def test_a_code_is_accepted_once_and_an_older_one_never_after_a_newer(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str
) -> None:
    code = code_at(officer, clock)
    assert login(sessions, clock, code).ok
    replayed = login(sessions, clock, code)  # within the window, e.g. read over a shoulder
    assert not replayed.ok
    assert replayed.message == "Wrong e-mail, password or code."
    assert login(sessions, clock, code_at(officer, clock, +1)).ok  # the next step's code still works
    assert not login(sessions, clock, code_at(officer, clock, -1)).ok  # an older step's never again
    clock.advance(timedelta(seconds=60))
    assert login(sessions, clock, code_at(officer, clock)).ok


def test_a_reused_code_is_refused_over_http_too(client: TestClient, clock: FrozenClock, officer: str) -> None:
    code = code_at(officer, clock)
    assert attempt(client, code).status_code == 303
    client.cookies.clear()
    assert attempt(client, code).status_code == 401


def test_staff_codes_are_single_use_too(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    secret = add_staff_login(sessions, clock, "rui@platform.example", "legal_reviewer")
    code = code_at(secret, clock)
    assert login(sessions, clock, code, email="rui@platform.example", face=Face.CONSOLE).ok
    assert not login(sessions, clock, code, email="rui@platform.example", face=Face.CONSOLE).ok
    with sessions() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.email == "rui@platform.example"))
        assert user is not None
        assert user.totp_last_step == pyotp.TOTP(secret).timecode(clock.now)


@pytest.fixture
def committed(database_url: str, clock: FrozenClock) -> Iterator[tuple[sessionmaker[Session], str]]:
    """A database whose transactions really commit, with an officer who can log in."""
    engine = make_engine(database_url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    officer_key(sessions, clock)
    yield sessions, give_officer_login(sessions, clock, EMAIL)
    engine.dispose()


def test_two_concurrent_logins_with_one_code_do_not_both_succeed(
    committed: tuple[sessionmaker[Session], str], clock: FrozenClock
) -> None:
    sessions, secret = committed
    code = code_at(secret, clock)
    key = totp_key()
    first_checked, second_started = threading.Event(), threading.Event()
    results: dict[str, bool] = {}

    def first() -> None:
        with sessions() as session, session.begin():
            results["first"] = auth.login(session, clock, Face.PORTAL, EMAIL, PASSWORD, code, "a", key=key).ok
            first_checked.set()
            second_started.wait(10)
            threading.Event().wait(0.5)  # the second has read the account and reached its UPDATE
        # commits here

    def second() -> None:
        first_checked.wait(10)
        with sessions() as session, session.begin():
            second_started.set()
            results["second"] = auth.login(
                session, clock, Face.PORTAL, EMAIL, PASSWORD, code, "b", key=key
            ).ok

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results.values()) == [False, True], results


# --- 2. TOTP secrets are encrypted at rest ---------------------------------------------------------


def test_secrets_are_stored_encrypted_with_a_key_file_outside_the_database(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str, tmp_path: Path
) -> None:
    with sessions() as session:
        stored = session.scalar(select(Officer.totp_secret).where(Officer.email == EMAIL))
    assert stored is not None
    assert stored.startswith("v1:")
    assert officer not in stored
    key_file = tmp_path / "var" / "totp-key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert login(sessions, clock, code_at(officer, clock)).ok


def test_a_legacy_plaintext_secret_works_once_and_is_encrypted_at_that_login(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str
) -> None:
    with unit_of_work(sessions) as session:  # as migration 0010 leaves a secret set before it
        session.execute(update(Officer).where(Officer.email == EMAIL).values(totp_secret=officer))
    assert login(sessions, clock, code_at(officer, clock)).ok
    with sessions() as session:
        account = session.scalar(select(Officer).where(Officer.email == EMAIL))
        assert account is not None
        assert account.totp_secret is not None
        assert account.totp_secret.startswith("v1:")
        assert totp_key().open(account.id, account.totp_secret).secret == officer
        assert auth.has_totp_secret(account, officer, totp_key())
    assert login(sessions, clock, code_at(officer, clock, +1)).ok


def test_a_secret_under_another_key_refuses_the_login(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str, tmp_path: Path
) -> None:
    other = key_at(tmp_path / "another-key")
    with unit_of_work(sessions) as session:
        assert not auth.login(
            session, clock, Face.PORTAL, EMAIL, PASSWORD, code_at(officer, clock), REVIEWER, key=other
        ).ok


# --- 3. no account enumeration by timing -----------------------------------------------------------


def test_an_unknown_email_costs_one_argon2_verification_against_the_dummy_hash(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = auth.verify_password

    def spy(stored_hash: str, password: str) -> bool:
        calls.append(stored_hash)
        return real(stored_hash, password)

    monkeypatch.setattr(auth, "verify_password", spy)
    assert not login(sessions, clock, code_at(officer, clock), email="nobody@justice.fr").ok
    assert calls == [auth._dummy_hash()]
    assert calls[0].startswith("$argon2id$")
    assert auth._dummy_hash() is auth._dummy_hash()

    calls.clear()
    assert not login(sessions, clock, code_at(officer, clock), password="wrong password!").ok
    assert len(calls) == 1
    assert calls[0] != auth._dummy_hash()


def test_an_officer_without_a_password_costs_the_same_verification(
    sessions: sessionmaker[Session], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer_key(sessions, clock)  # an officer with an API key but no web login
    calls: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda stored, _password: calls.append(stored) or False)
    assert not login(sessions, clock, "000000").ok
    assert calls == [auth._dummy_hash()]


# --- 4. delays per account and address, never a lockout of the account -----------------------------


def test_failures_from_one_address_never_lock_the_account_for_another(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str
) -> None:
    for _ in range(12):
        login(sessions, clock, "000000", password="wrong password!", client=ATTACKER)
        clock.advance(timedelta(seconds=1))
    waiting = login(sessions, clock, code_at(officer, clock), client=ATTACKER)
    assert not waiting.ok
    assert waiting.retry_after is not None
    assert waiting.retry_after > 0
    assert login(sessions, clock, code_at(officer, clock), client=REVIEWER).ok  # the reviewer, at once


def test_the_wait_doubles_with_each_failure_and_stops_at_fifteen_minutes(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str
) -> None:
    waits: list[int] = []
    for _ in range(16):
        result = login(sessions, clock, "000000", password="wrong password!", client=ATTACKER)
        assert result.retry_after is None  # each attempt came after the wait: it was checked
        with sessions() as session:
            waits.append(int(auth.wait_for(session, clock, EMAIL, ATTACKER).total_seconds()))
        if waits[-1]:
            refused = login(sessions, clock, code_at(officer, clock), client=ATTACKER)
            assert (refused.ok, refused.retry_after) == (False, waits[-1])  # not even checked
        clock.advance(timedelta(seconds=waits[-1]))
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:9] == [2, 4, 8, 16, 32]
    assert waits[-1] == 15 * 60
    with sessions() as session:
        throttled = session.scalars(select(LoginAttempt).where(LoginAttempt.throttled)).all()
    assert {a.client for a in throttled} == {ATTACKER}
    assert not any(a.succeeded for a in throttled)
    # a success from the address starts its count afresh
    clock.advance(timedelta(minutes=15))
    assert login(sessions, clock, code_at(officer, clock), client=ATTACKER).ok
    login(sessions, clock, "000000", password="wrong password!", client=ATTACKER)
    assert login(sessions, clock, "000000", client=ATTACKER).retry_after is None


def test_failures_at_other_accounts_do_not_count(
    sessions: sessionmaker[Session], clock: FrozenClock, officer: str
) -> None:
    for n in range(8):
        login(sessions, clock, "000000", email=f"u{n}@justice.fr", client=REVIEWER)
    assert login(sessions, clock, code_at(officer, clock), client=REVIEWER).ok


# --- 5. client addresses behind a trusted reverse proxy --------------------------------------------


@pytest.fixture
def behind_proxy(
    template: TemplateDatabase, sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> Iterator[TestClient]:
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=template.url,
        reference_platform_url="sqlite://",
        signing_key_path=tmp_path / "signing.pem",
        trusted_proxies=["10.0.0.0/8"],  # type: ignore[list-item]
    )
    container: Container = build_container(settings, clock=clock, sessions=sessions)
    app = create_app(container)
    with TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False, client=("10.0.0.2", 50000)
    ) as c:
        yield c
    container.engine.dispose()


def clients_recorded(sessions: sessionmaker[Session]) -> list[str | None]:
    with sessions() as session:
        return list(session.scalars(select(LoginAttempt.client).order_by(LoginAttempt.at, LoginAttempt.id)))


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    behind_proxy: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, officer: str
) -> None:
    for _ in range(5):
        attempt(behind_proxy, "000000", password="wrong password!", via=f"6.6.6.6, {ATTACKER}")
    waiting = attempt(behind_proxy, code_at(officer, clock), via=ATTACKER)
    assert waiting.status_code == 429
    assert waiting.headers["retry-after"] == "2"
    # the reviewer, through the same proxy, is not made to wait
    assert attempt(behind_proxy, code_at(officer, clock), via=REVIEWER).status_code == 303
    assert set(clients_recorded(sessions)) == {ATTACKER, REVIEWER}


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(
    client: TestClient, sessions: sessionmaker[Session], officer: str
) -> None:
    attempt(client, "000000", password="wrong password!", via=ATTACKER)
    assert clients_recorded(sessions) == ["testclient"]


def test_log_in_helper_still_logs_in_twice_in_one_step(
    client: TestClient, clock: FrozenClock, officer: str
) -> None:
    """The test helper picks a fresh code each time (a person would wait for the next one)."""
    for _ in range(3):
        client.cookies.clear()
        log_in(client, "portal", EMAIL, officer, clock)
