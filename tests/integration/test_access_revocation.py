"""Revoking access: staff tokens expire and carry a scope, officers' keys and everyone's browser sessions
are revoked from the CLI and the console, and a deactivated account's credentials all stop at once."""

import json
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import PASSWORD, add_staff_login, give_officer_login, log_in, totp_key
from tests.factories import bearer, officer_key
from tests.integration.conftest import Run
from trustdesk.app import Container, build_container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor
from trustdesk.auth import service as auth
from trustdesk.auth.service import Face
from trustdesk.authorities import access as officer_access
from trustdesk.authorities import service as authorities
from trustdesk.clock import FrozenClock
from trustdesk.config import Settings
from trustdesk.db import make_engine, unit_of_work
from trustdesk.errors import InvalidInput, Unauthenticated
from trustdesk.staff import service as staff
from trustdesk.web.app import create_app
from trustdesk.web.browser import COOKIES

QUEUE = "/api/v1/staff/requests"
DECIDE = "/api/v1/staff/requests/TD-2026-NONE-0000/decide"


def token_for(
    sessions: sessionmaker[Session], clock: FrozenClock, email: str, role: str, scope: str, days: int = 30
) -> str:
    add_staff_login(sessions, clock, email, role)
    with unit_of_work(sessions) as session:
        user = staff.find_user(session, email)
        assert user is not None
        return staff.issue_token(session, clock, Actor.operator(), user, scope=scope, days=days)


def browser(container: Container) -> TestClient:
    return TestClient(create_app(container), base_url="https://testserver", raise_server_exceptions=False)


def actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


# --- staff tokens: expiry and scope -----------------------------------------------------------------------


def test_an_expired_token_is_refused_with_401(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    token = token_for(sessions, clock, "ana@platform.example", "legal_reviewer", "all", days=1)
    assert client.get(QUEUE, headers=bearer(token)).status_code == 200
    clock.advance(timedelta(days=1))
    refused = client.get(QUEUE, headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_expired"
    assert "expired" in refused.json()["detail"]


def test_a_token_may_do_only_what_its_scope_names(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    reader = token_for(sessions, clock, "ana@platform.example", "legal_reviewer", "staff:request:read")
    assert client.get(QUEUE, headers=bearer(reader)).status_code == 200
    out_of_scope = client.post(DECIDE, json={"outcome": "comply"}, headers=bearer(reader))
    assert out_of_scope.status_code == 403
    assert out_of_scope.json()["code"] == "token_scope"
    with unit_of_work(sessions) as session:
        ana = staff.find_user(session, "ana@platform.example")
        assert ana is not None
        everything = staff.issue_token(session, clock, Actor.operator(), ana, scope="all")
    # with the whole scope the same call passes the check and finds no such request
    assert client.post(DECIDE, json={"outcome": "comply"}, headers=bearer(everything)).status_code == 404


def test_the_scope_never_adds_to_the_roles(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    add_staff_login(sessions, clock, "ana@platform.example", "legal_reviewer")
    with unit_of_work(sessions) as session:
        ana = staff.find_user(session, "ana@platform.example")
        assert ana is not None
        with pytest.raises(InvalidInput, match="do not grant staff:request:approve"):
            staff.issue_token(session, clock, Actor.operator(), ana, scope="staff:request:approve")


def test_a_revoked_token_and_a_deactivated_users_token_are_refused(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    first = token_for(sessions, clock, "ana@platform.example", "legal_reviewer", "all")
    with unit_of_work(sessions) as session:
        ana = staff.find_user(session, "ana@platform.example")
        assert ana is not None
        record, second = staff.new_token(session, clock, Actor.operator(), ana, scope="all")
        (older,) = [t for t in staff.list_tokens(session, ana) if t.id != record.id]
        staff.revoke_token(session, clock, Actor.operator(), older.id, "left on a shared laptop")
    assert client.get(QUEUE, headers=bearer(first)).json()["code"] == "token_revoked"
    assert client.get(QUEUE, headers=bearer(second)).status_code == 200
    with unit_of_work(sessions) as session:
        ana = staff.find_user(session, "ana@platform.example")
        assert ana is not None
        staff.deactivate_user(session, clock, Actor.operator(), ana, "left the company")
    assert client.get(QUEUE, headers=bearer(second)).status_code == 401


# --- officers: keys and sessions --------------------------------------------------------------------------


def test_a_revoked_key_is_refused_and_the_officers_other_keys_still_work(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    first = officer_key(sessions, clock)
    with unit_of_work(sessions) as session:
        officer = officer_access.get_officer(session, "officer@justice.fr")
        (old,) = officer_access.keys_of(session, officer)
        _, second = officer_access.issue_key(session, clock, Actor.operator(), officer)
        officer_access.revoke_key(session, clock, Actor.operator(), old.id, "pasted into a ticket")
    assert client.get("/api/v1/requests", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/requests", headers=bearer(second)).status_code == 200


def test_a_deactivated_officers_session_cookie_and_keys_stop_at_once(
    container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock)
    secret = give_officer_login(sessions, clock, "officer@justice.fr")
    admin_secret = add_staff_login(sessions, clock, "admin@platform.example", "admin")
    with browser(container) as officer, browser(container) as admin:
        log_in(officer, "portal", "officer@justice.fr", secret, clock)
        cookie = officer.cookies.get(COOKIES[Face.PORTAL])
        assert cookie
        assert officer.get("/portal").status_code == 200
        csrf = log_in(admin, "console", "admin@platform.example", admin_secret, clock)
        with sessions() as session:
            officer_id = officer_access.get_officer(session, "officer@justice.fr").id
        page = admin.get("/console/access")
        assert page.status_code == 200
        assert "officer@justice.fr" in page.text
        no_reason = admin.post(f"/console/access/officers/{officer_id}/deactivate", data={"csrf_token": csrf})
        assert no_reason.status_code == 422  # nothing changed: the officer still works
        assert officer.get("/portal").status_code == 200
        done = admin.post(
            f"/console/access/officers/{officer_id}/deactivate",
            data={"csrf_token": csrf, "reason": "the agency reports the account compromised"},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    with browser(container) as replay:  # the old cookie, replayed from another client
        replay.cookies.set(COOKIES[Face.PORTAL], cookie, path="/portal")
        answer = replay.get("/portal", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/portal/login")
        assert replay.get("/api/v1/requests", headers=bearer(key)).status_code == 401
    assert "authorities:officer:deactivate" in actions(sessions)


def test_an_admin_ends_a_staff_session_from_the_console_and_its_cookie_stops_working(
    container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    secret = add_staff_login(sessions, clock, "ana@platform.example", "legal_reviewer")
    admin_secret = add_staff_login(sessions, clock, "admin@platform.example", "admin")
    with browser(container) as ana, browser(container) as admin:
        log_in(ana, "console", "ana@platform.example", secret, clock)
        cookie = ana.cookies.get(COOKIES[Face.CONSOLE])
        csrf = log_in(admin, "console", "admin@platform.example", admin_secret, clock)
        with sessions() as session:
            user = staff.find_user(session, "ana@platform.example")
            assert user is not None
            (live,) = auth.live_sessions(session, clock, Face.CONSOLE, user.id)
        assert live.id in admin.get("/console/access").text
        refused = ana.post(f"/console/access/sessions/{live.id}/revoke", data={"reason": "x"})
        assert refused.status_code == 403  # a reviewer may not, and without a CSRF token nobody may
        ended = admin.post(
            f"/console/access/sessions/{live.id}/revoke",
            data={"csrf_token": csrf, "reason": "laptop stolen"},
            follow_redirects=False,
        )
        assert ended.status_code == 303
    with browser(container) as replay:
        replay.cookies.set(COOKIES[Face.CONSOLE], cookie, path="/console")
        assert replay.get("/console", follow_redirects=False).headers["location"].startswith("/console/login")


def test_a_staff_user_ends_their_own_other_sessions(
    container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    secret = add_staff_login(sessions, clock, "ana@platform.example", "legal_reviewer")
    with browser(container) as laptop, browser(container) as phone:
        csrf = log_in(laptop, "console", "ana@platform.example", secret, clock)
        log_in(phone, "console", "ana@platform.example", secret, clock)
        listed = laptop.get("/console/sessions")
        assert listed.status_code == 200
        assert listed.text.count('<tr id="session-') == 2
        ended = laptop.post(
            "/console/sessions/revoke",
            data={"csrf_token": csrf, "session_id": "others"},
            follow_redirects=False,
        )
        assert ended.status_code == 303
        assert phone.get("/console", follow_redirects=False).status_code == 303
        assert laptop.get("/console").status_code == 200


# --- the CLI ----------------------------------------------------------------------------------------------


def agency(run: Run) -> str:
    created = run(
        "authority", "add", "--name", "Parquet de Paris", "--country", "FR", "--kind", "prosecutor",
        "--domain", "justice.fr", "--json",
    )  # fmt: skip
    agency_id: str = json.loads(created.stdout)["id"]
    return agency_id


def cli_actions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    finally:
        engine.dispose()


def test_staff_tokens_from_the_cli_have_a_validated_scope_an_expiry_and_can_be_revoked(
    run: Run, database_url: str
) -> None:
    run("user", "add", "--email", "ana@platform.example", "--role", "legal_reviewer")
    bad = run("user", "token", "--email", "ana@platform.example", "--scope", "staff:everything", expect=2)
    assert "unknown permission staff:everything" in bad.stderr
    assert "staff:request:read" in bad.stderr  # the error lists what a scope may name
    too_long = run(
        "user", "token", "--email", "ana@platform.example", "--scope", "all", "--days", "366", expect=2
    )
    assert "1 to 365 days" in too_long.stderr
    assert json.loads(run("user", "tokens", "--email", "ana@platform.example", "--json").stdout) == []

    issued = json.loads(
        run(
            "user", "token", "--email", "ana@platform.example", "--scope", "staff:request:read",
            "--scope", "staff:request:decide", "--days", "7", "--label", "triage bot", "--json",
        ).stdout
    )  # fmt: skip
    assert issued["token"].startswith("tds_")
    assert issued["scope"] == "staff:request:decide staff:request:read"
    (listed,) = json.loads(run("user", "tokens", "--email", "ana@platform.example", "--json").stdout)
    assert "token" not in listed
    assert (listed["id"], listed["label"], listed["revoked_at"]) == (issued["id"], "triage bot", None)

    assert "--reason" in run("user", "revoke-token", issued["id"], expect=2).output
    run("user", "revoke-token", issued["id"], "--reason", "bot retired")
    (listed,) = json.loads(run("user", "tokens", "--email", "ana@platform.example", "--json").stdout)
    assert listed["revoked_at"] is not None
    again = run("user", "revoke-token", issued["id"], "--reason", "twice", expect=2)
    assert "already revoked" in again.stderr
    assert cli_actions(database_url).count("staff:token:revoke") == 1


def test_officer_keys_are_listed_issued_revoked_and_an_officer_deactivated_from_the_cli(
    run: Run, database_url: str
) -> None:
    agency_id = agency(run)
    added = json.loads(
        run(
            "officer", "add", "--authority", agency_id, "--name", "Claire Martin",
            "--email", "claire.martin@justice.fr", "--json",
        ).stdout
    )  # fmt: skip
    second = json.loads(run("officer", "issue-key", "claire.martin@justice.fr", "--json").stdout)
    assert second["api_key"].startswith("tdk_")
    assert second["api_key"] != added["api_key"]
    shown = json.loads(run("officer", "keys", added["id"], "--json").stdout)
    assert [k["revoked_at"] for k in shown["keys"]] == [None, None]
    assert run("officer", "revoke-key", second["id"], "--reason", "  ", expect=2).stderr.startswith(
        "error: say why"
    )
    run("officer", "revoke-key", second["id"], "--reason", "sent by e-mail")
    shown = json.loads(run("officer", "keys", "claire.martin@justice.fr", "--json").stdout)
    assert [k["id"] for k in shown["keys"] if k["revoked_at"]] == [second["id"]]

    unknown = run("officer", "deactivate", "nobody@justice.fr", "--reason", "x", expect=2)
    assert "no officer nobody@justice.fr" in unknown.stderr
    gone = json.loads(
        run("officer", "deactivate", added["id"], "--reason", "left the service", "--json").stdout
    )
    assert gone["api_keys"] == [shown["keys"][0]["id"]]
    assert json.loads(run("officer", "keys", added["id"], "--json").stdout)["active"] is False
    assert "deactivated" in run("officer", "issue-key", added["id"], expect=2).stderr
    assert (
        "already deactivated" in run("officer", "deactivate", added["id"], "--reason", "x", expect=2).stderr
    )
    events = cli_actions(database_url)
    assert events.count("authorities:api_key:revoke") == 1
    assert events.count("authorities:officer:deactivate") == 1


def test_staff_sessions_are_listed_and_ended_and_a_user_deactivated_from_the_cli(
    run: Run, database_url: str
) -> None:
    run("user", "add", "--email", "ana@platform.example", "--role", "legal_reviewer")
    run("user", "token", "--email", "ana@platform.example", "--scope", "all")
    container = build_container(Settings(database_url=database_url, reference_platform_url="sqlite://"))
    try:
        secret = pyotp.random_base32()
        with unit_of_work(container.sessions) as session:
            ana = staff.find_user(session, "ana@platform.example")
            assert ana is not None
            auth.set_credentials(
                session, container.clock, Actor.operator(), ana, PASSWORD, secret, key=totp_key()
            )
        tokens = []
        for _ in range(2):
            with unit_of_work(container.sessions) as session:
                code = (
                    pyotp.TOTP(secret).now()
                    if not tokens
                    else pyotp.TOTP(secret).at(container.clock(), counter_offset=1)
                )
                result = auth.login(
                    session, container.clock, Face.CONSOLE, "ana@platform.example", PASSWORD, code,
                    "192.0.2.1", key=totp_key(),
                )  # fmt: skip
                assert result.token, result.message
                tokens.append(result.token)
        listed = json.loads(run("user", "sessions", "ana@platform.example", "--json").stdout)
        assert len(listed) == 2
        run("session", "revoke", listed[0]["id"], "--reason", "unknown browser")
        assert len(json.loads(run("user", "sessions", "ana@platform.example", "--json").stdout)) == 1
        assert "already ended" in run("session", "revoke", listed[0]["id"], "--reason", "x", expect=2).stderr
        gone = json.loads(
            run("user", "deactivate", "ana@platform.example", "--reason", "left", "--json").stdout
        )
        assert len(gone["tokens"]) == 1
        assert gone["sessions"] == [listed[1]["id"]]
        with unit_of_work(container.sessions) as session:
            assert all(auth.resolve(session, container.clock, Face.CONSOLE, t) is None for t in tokens)
        assert run("user", "sessions", "ana@platform.example").stdout.strip() == "no live sessions"
    finally:
        container.engine.dispose()
    events = cli_actions(database_url)
    assert events.count("auth:session:revoke") == 2  # the one session, then the rest at deactivation
    assert events.count("staff:user:deactivate") == 1


def test_authorities_service_is_still_the_one_that_authenticates(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A revoked key is refused by the same function every officer route uses."""
    key = officer_key(sessions, clock)
    with unit_of_work(sessions) as session:
        officer = officer_access.get_officer(session, "officer@justice.fr")
        officer_access.deactivate(session, clock, Actor.operator(), officer, "compromised")
    with sessions() as session, pytest.raises(Unauthenticated):
        authorities.authenticate_key(session, key)
