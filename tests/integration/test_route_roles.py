"""Every route and every kind of caller: nobody reaches another's area, and nothing answers with a 500.

Routes are discovered from the app, so a new route is walked without editing this test; its area (and so
who may reach it) follows from its path prefix, and an unknown prefix fails the test until it is classified.
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Route

from tests.browser_login import add_staff_login, give_officer_login, log_in
from tests.factories import bearer, officer_key
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.safety import tokens
from trustdesk.staff import service as staff
from trustdesk.web.app import create_app

PUBLIC = (
    "/",
    "/healthz",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/docs/oauth2-redirect",
    "/portal/login",
    "/console/login",
)
DUMMY = {"tracking_number": "TD-2026-AAAA-BBBB", "code": "FR", "path": "css/app.css"}
ROLES = ["admin", "legal_reviewer", "legal_approver", "moderator"]


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]
    face: str | None = None  # portal | console: logs in through the login form
    email: str = ""
    totp_secret: str = ""
    role: str | None = None


def area(path: str) -> str:
    if path.startswith("/api/v1/staff"):
        return "staff_api"
    if path.startswith("/api/v1/requests"):
        return "officer_api"
    if path in ("/api/v1/match", "/api/v1/content-events"):
        return "platform_api"
    if path in PUBLIC or path.startswith(("/static", "/contact")):
        return "public"
    if path.startswith(("/api/v1/notices", "/api/v1/appeals", "/notice", "/appeal")):
        return "public"  # anyone may notify and appeal (DSA Arts 16, 20); a key, not a login, opens a case
    if path.startswith("/portal"):
        return "portal"
    if path.startswith("/console"):
        return "console"
    raise AssertionError(f"route {path} belongs to no known area: classify it in this test")


def flatten(routes: Sequence[BaseRoute]) -> Iterator[APIRoute | Route]:
    """Every endpoint, including those of included routers (which FastAPI keeps nested)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from flatten(nested.routes)
        elif isinstance(route, APIRoute | Route):
            yield route


def routes(container: Container) -> list[tuple[str, str]]:
    pairs = {
        (method, route.path)
        for route in flatten(create_app(container).routes)
        for method in (route.methods or {"GET"})
        if method != "HEAD"
    }
    return sorted(pairs)


def concrete(path: str) -> str:
    return re.sub(
        r"\{(\w+)(:\w+)?\}", lambda m: DUMMY.get(m.group(1), "00000000-0000-0000-0000-000000000000"), path
    )


@pytest.fixture
def callers(sessions: sessionmaker[Session], clock: FrozenClock) -> list[Caller]:
    officer = officer_key(sessions, clock)
    with unit_of_work(sessions) as s:
        platform_token = tokens.issue(s, clock, Actor.operator(), "synapse")
    portal_secret = give_officer_login(sessions, clock, "officer@justice.fr")
    found = [
        Caller("anonymous", {}),
        Caller("officer_key", bearer(officer)),
        Caller("portal", {}, "portal", "officer@justice.fr", portal_secret),
        Caller("platform_token", bearer(platform_token)),
    ]
    for role in ROLES:
        email = f"{role}@platform.example"
        secret = add_staff_login(sessions, clock, email, role)
        with unit_of_work(sessions) as s:
            user = staff.find_user(s, email)
            assert user is not None
            token = staff.issue_token(s, clock, Actor.operator(), user)
        found.append(Caller(f"token_{role}", bearer(token), role=role))
        found.append(Caller(f"console_{role}", {}, "console", email, secret, role))
    return found


def verdict(caller: Caller, where: str, path: str, status: int, location: str) -> str | None:
    """What is wrong with this answer to this caller, if anything."""
    if status >= 500:
        return "server error"
    allowed = (
        where == "public"
        or (where == "officer_api" and caller.name == "officer_key")
        or (where == "staff_api" and caller.name.startswith("token_"))
        or (where == "platform_api" and caller.name == "platform_token")
        or where == caller.face
    )
    refused = status in (401, 403, 404) or (status == 303 and location.startswith(f"/{where}/login"))
    if not allowed and not refused:
        return "reached another's area"
    legal_team_area = where in ("staff_api", "console") and "/requests" in path
    if legal_team_area and caller.role == "moderator" and not refused:
        return "a moderator reached the legal team's requests"
    if where == "console" and "/agencies" in path and caller.role not in (None, "admin") and not refused:
        return "managed agencies without staff:agency:manage"
    return None


def client_for(container: Container, caller: Caller, clock: FrozenClock) -> TestClient:
    client = TestClient(create_app(container), base_url="https://testserver", raise_server_exceptions=False)
    if caller.face:
        log_in(client, caller.face, caller.email, caller.totp_secret, clock)
    client.headers.update(caller.headers)
    return client


def test_every_route_keeps_every_other_caller_out(
    container: Container, callers: list[Caller], clock: FrozenClock
) -> None:
    table = routes(container)
    assert len(table) > 20
    problems = []
    for caller in callers:
        with client_for(container, caller, clock) as client:
            for method, path in table:
                response = client.request(method, concrete(path), follow_redirects=False)
                location = response.headers.get("location", "")
                problem = verdict(caller, area(path), path, response.status_code, location)
                if problem:
                    problems.append(f"{caller.name} {method} {path} -> {response.status_code}: {problem}")
    assert problems == []
