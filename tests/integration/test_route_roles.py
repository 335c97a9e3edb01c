"""Every route, every caller, on SQLite and PostgreSQL: allowed exactly where the role table says so.

What each caller may do is derived, never observed: ``ROUTES`` below declares, for every route of the app,
the permission it needs (or that anyone, any signed-in session, or the platform service may call it), and
the callers' permissions come from ``trustdesk.staff.roles`` (``ROLE_PERMISSIONS`` for each staff role,
``OFFICER_PERMISSIONS`` for the officer). A route of the app missing from ``ROUTES`` (or an entry the app
no longer has) fails the test until it is declared.

The walk calls every route as every caller: anonymous; the officer (logged in on the portal, and with
their API key); the platform service (its token); and each staff role of ``Role`` (logged in on the
console, and with a staff API token). Every path parameter is an object that exists (``tests.route_world``
seeds them), every console and portal form POST carries the session's real CSRF token and every public
form the public pages' one; a bearer credential is sent to the token-authenticated APIs only (a public
route given a bad ``Authorization`` rightly refuses it). Bodies are empty or minimal: past the permission
check, a validation error is expected and fine.

- allowed: the permission check passed: no 401 or 403, no redirect to the login, no 404 (every id exists),
  and never a 5xx;
- denied, to a caller with the face's credential but not the permission: exactly 403;
- denied, to a caller without the face's credential: 401 on an API, a redirect to the face's login on a
  page.

How this was shown to catch the bugs it names (each mutation applied by hand to ``src/``, the walk run on
SQLite, then reverted; none was ever committed):

(a) a request page opened to moderators: in ``trustdesk/web/console/lawful.py`` ``show`` refused only
    callers lacking ``STAFF_CASE_MODERATE`` *and* ``STAFF_REQUEST_READ`` → the walk failed with
    ``moderator GET /console/requests/{tracking_number} -> 200: expected 403``;
(b) the permission check removed from one console action: the ``refused(...)`` line of
    ``verify_agency`` in ``trustdesk/web/console/agencies.py`` deleted → the walk failed with
    ``legal_reviewer POST /console/agencies/{agency_id}/verify -> 422: expected 403`` (and the same for
    the approver and the moderator);
(c) the check removed from one API route: ``decide`` in ``trustdesk/lawful/staff_routes.py`` given the
    ``Reader`` dependency instead of ``Decider`` → the walk failed with
    ``admin POST /api/v1/staff/requests/{tracking_number}/decide -> 422: expected 403`` (and the same for
    the approver); likewise ``request_scrutiny`` in ``trustdesk/lawful/removal_routes.py`` (whose service
    does not check again) → ``admin POST /api/v1/staff/requests/{tracking_number}/scrutiny -> 422``.
    Swapping the dependency of ``close`` alone is rightly *not* reported: ``review.close`` checks
    ``staff:request:decide`` itself, so the admin still gets its 403.
(The old walk, with made-up ids and no CSRF token, passed under all three.)
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Mount, Route

from tests.browser_login import CSRF, add_staff_login, log_in
from tests.factories import bearer
from tests.route_world import ACCESS_ROUTES, OFFICER_EMAIL, SIGNING_ROUTES, RouteWorld, build_route_world
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.staff import service as staff
from trustdesk.staff.roles import OFFICER_PERMISSIONS, ROLE_PERMISSIONS, Permission, Role
from trustdesk.web.app import create_app

ANYONE = "anyone"
SIGNED_IN = "any signed-in session of the face"
PLATFORM = "the platform service"
Need = Permission | str

P = Permission
ROUTES: dict[tuple[str, str], Need] = {
    # public: documentation, health, the point of contact, notices and appeals, the login pages
    ("GET", "/"): ANYONE,
    ("GET", "/healthz"): ANYONE,
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/docs"): ANYONE,
    ("GET", "/docs/oauth2-redirect"): ANYONE,
    ("GET", "/redoc"): ANYONE,
    ("GET", "/static"): ANYONE,
    ("GET", "/static-offline-docs"): ANYONE,
    ("GET", "/contact"): ANYONE,
    ("GET", "/contact/instruments"): ANYONE,
    ("GET", "/contact/signing-key.pem"): ANYONE,
    ("GET", "/contact/{code}"): ANYONE,
    ("GET", "/notice"): ANYONE,
    ("POST", "/notice"): ANYONE,
    ("GET", "/notice/{reference}"): ANYONE,
    ("GET", "/appeal"): ANYONE,
    ("POST", "/appeal"): ANYONE,
    ("GET", "/appeal/{reference}"): ANYONE,
    ("POST", "/api/v1/notices"): ANYONE,
    ("GET", "/api/v1/notices/{reference}"): ANYONE,
    ("POST", "/api/v1/appeals"): ANYONE,
    ("GET", "/api/v1/appeals/{reference}"): ANYONE,
    ("GET", "/portal/login"): ANYONE,
    ("POST", "/portal/login"): ANYONE,
    ("GET", "/console/login"): ANYONE,
    ("POST", "/console/login"): ANYONE,
    ("GET", "/transparency"): ANYONE,
    ("POST", "/transparency/receipt"): ANYONE,
    ("GET", "/transparency/reports/{report_id}/{name}"): ANYONE,
    ("GET", "/api/v1/channels"): ANYONE,
    ("GET", "/api/v1/transparency/reports"): ANYONE,
    ("GET", "/api/v1/transparency/reports/{report_id}"): ANYONE,
    # the platform service
    ("POST", "/api/v1/match"): PLATFORM,
    ("POST", "/api/v1/content-events"): PLATFORM,
    # the officers' API
    ("POST", "/api/v1/requests"): P.AUTHORITY_REQUEST_SUBMIT,
    ("GET", "/api/v1/requests"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/api/v1/requests/{tracking_number}"): P.AUTHORITY_REQUEST_READ,
    ("POST", "/api/v1/requests/{tracking_number}/documents"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/correspondence"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/withdraw"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/validation"): P.AUTHORITY_REQUEST_SUBMIT,
    ("GET", "/api/v1/requests/{tracking_number}/production"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/api/v1/requests/{tracking_number}/holds"): P.AUTHORITY_REQUEST_READ,
    ("POST", "/api/v1/requests/{tracking_number}/holds/end"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/holds/confirm-production"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/holds/extend"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/removals/retention"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/api/v1/requests/{tracking_number}/removals/confidentiality"): P.AUTHORITY_REQUEST_SUBMIT,
    # the legal team's API
    ("GET", "/api/v1/staff/requests"): P.STAFF_REQUEST_READ,
    ("GET", "/api/v1/staff/requests/consistency"): P.STAFF_REQUEST_READ,
    ("GET", "/api/v1/staff/requests/{tracking_number}"): P.STAFF_REQUEST_READ,
    ("GET", "/api/v1/staff/requests/{tracking_number}/documents/{document_id}"): P.STAFF_REQUEST_READ,
    ("POST", "/api/v1/staff/requests/{tracking_number}/decide"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/approve"): P.STAFF_REQUEST_APPROVE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/reject"): P.STAFF_REQUEST_APPROVE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/clarify"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/enforcing"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/conflict"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/execute"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/answer"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/close"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/callback"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/scrutiny"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/scrutiny/decision"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/api/v1/staff/requests/{tracking_number}/complaints"): P.STAFF_REQUEST_DECIDE,
    (
        "POST",
        "/api/v1/staff/requests/{tracking_number}/complaints/{complaint_id}/answer",
    ): P.STAFF_REQUEST_DECIDE,
    # the portal
    ("GET", "/portal"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/portal/requests"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/portal/requests/new"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/portal/requests"): P.AUTHORITY_REQUEST_SUBMIT,
    ("GET", "/portal/requests/{tracking_number}"): P.AUTHORITY_REQUEST_READ,
    ("POST", "/portal/requests/{tracking_number}/correspondence"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/portal/requests/{tracking_number}/documents"): P.AUTHORITY_REQUEST_SUBMIT,
    ("POST", "/portal/requests/{tracking_number}/withdraw"): P.AUTHORITY_REQUEST_SUBMIT,
    ("GET", "/portal/requests/{tracking_number}/production"): P.AUTHORITY_REQUEST_READ,
    ("POST", "/portal/notices/{notice_id}/acknowledge"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/portal/dossier"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/portal/dossier/dossier.json"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/portal/dossier/signature.json"): P.AUTHORITY_REQUEST_READ,
    ("GET", "/portal/dossier/dossier.html"): P.AUTHORITY_REQUEST_READ,
    # the transparency log: public reads, and the officer's own receipt
    ("GET", "/api/v1/tlog/checkpoint"): ANYONE,
    ("GET", "/api/v1/tlog/heads"): ANYONE,
    ("GET", "/api/v1/tlog/leaves"): ANYONE,
    ("GET", "/api/v1/tlog/proof/inclusion"): ANYONE,
    ("GET", "/api/v1/tlog/proof/consistency"): ANYONE,
    ("GET", "/api/v1/requests/{tracking_number}/log-receipt"): P.AUTHORITY_REQUEST_READ,
    ("POST", "/portal/logout"): SIGNED_IN,
    # the console: lawful requests
    ("GET", "/console"): P.STAFF_REQUEST_READ,
    ("GET", "/console/requests/{tracking_number}"): P.STAFF_REQUEST_READ,
    ("GET", "/console/requests/{tracking_number}/documents/{document_id}"): P.STAFF_REQUEST_READ,
    ("POST", "/console/requests/{tracking_number}/decide"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/requests/{tracking_number}/clarify"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/requests/{tracking_number}/approve"): P.STAFF_REQUEST_APPROVE,
    ("POST", "/console/requests/{tracking_number}/reject"): P.STAFF_REQUEST_APPROVE,
    ("POST", "/console/requests/{tracking_number}/execute"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/requests/{tracking_number}/answer"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/requests/{tracking_number}/close"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/requests/{tracking_number}/callback"): P.STAFF_REQUEST_DECIDE,
    ("GET", "/console/conflicts"): P.STAFF_REQUEST_READ,
    # the console: mailroom and triage (issue 13)
    ("GET", "/console/mailroom"): P.STAFF_REQUEST_READ,
    ("POST", "/console/mailroom/documents"): P.STAFF_MAILROOM_UPLOAD,
    ("GET", "/console/mailroom/attachments/{attachment_id}"): P.STAFF_REQUEST_READ,
    ("GET", "/console/mailroom/{message_id}"): P.STAFF_REQUEST_READ,
    ("POST", "/console/mailroom/{message_id}/record"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/mailroom/{message_id}/attach"): P.STAFF_REQUEST_DECIDE,
    ("POST", "/console/mailroom/{message_id}/reject"): P.STAFF_REQUEST_DECIDE,
    ("GET", "/console/oncall"): P.STAFF_REQUEST_READ,
    ("POST", "/console/oncall"): P.STAFF_ONCALL_MANAGE,
    ("POST", "/console/oncall/{shift_id}/remove"): P.STAFF_ONCALL_MANAGE,
    ("POST", "/console/pages/{page_id}/acknowledge"): P.STAFF_REQUEST_READ,
    # the console: agencies
    ("GET", "/console/agencies"): P.STAFF_AGENCY_MANAGE,
    ("POST", "/console/agencies"): P.STAFF_AGENCY_MANAGE,
    ("POST", "/console/agencies/{agency_id}/verify"): P.STAFF_AGENCY_MANAGE,
    ("POST", "/console/agencies/{agency_id}/recipient"): P.STAFF_AGENCY_MANAGE,
    # the console: moderation
    ("GET", "/console/moderation"): P.STAFF_CASE_MODERATE,
    ("GET", "/console/cases/{case_id}"): P.STAFF_CASE_MODERATE,
    ("GET", "/console/cases/{case_id}/media"): P.STAFF_CASE_MODERATE,
    ("POST", "/console/cases/{case_id}/claim"): P.STAFF_CASE_MODERATE,
    ("POST", "/console/cases/{case_id}/release"): P.STAFF_CASE_MODERATE,
    ("POST", "/console/cases/{case_id}/decide"): P.STAFF_CASE_MODERATE,
    ("POST", "/console/cases/{case_id}/approve"): P.STAFF_CASE_MODERATE,
    ("POST", "/console/cases/{case_id}/reject"): P.STAFF_CASE_MODERATE,
    ("GET", "/console/strikes"): P.STAFF_CASE_MODERATE,
    ("GET", "/console/appeals"): P.STAFF_CASE_MODERATE,
    ("POST", "/console/appeals/{appeal_id}/decide"): P.STAFF_CASE_MODERATE,
    ("GET", "/console/flaggers"): P.STAFF_FLAGGER_MANAGE,
    ("POST", "/console/flaggers"): P.STAFF_FLAGGER_MANAGE,
    ("POST", "/console/flaggers/{flagger_id}/revoke"): P.STAFF_FLAGGER_MANAGE,
    ("POST", "/console/logout"): SIGNED_IN,
}
"""Every route of the app and what it needs: a permission of the role table, or anyone, any signed-in
session of its face, or the platform service's token."""
ROUTES |= ACCESS_ROUTES  # the access block of tests/route_world.py (revocation and enrolment)
ROUTES |= SIGNING_ROUTES  # the signing block of tests/route_world.py (agency keys and supervisors)

# The credential each face takes; the route's path says which face it belongs to.
OFFICER_KEY, STAFF_TOKEN, PLATFORM_TOKEN = "officer API key", "staff API token", "platform token"
PORTAL, CONSOLE = "portal session", "console session"
TOKENS = (OFFICER_KEY, STAFF_TOKEN, PLATFORM_TOKEN)


def credential_of(path: str) -> str | None:
    """The credential the route's face takes; None: a public route (which must need nothing)."""
    if path.startswith("/api/v1/staff/"):
        return STAFF_TOKEN
    if path.startswith("/api/v1/requests"):
        return OFFICER_KEY
    if path in ("/api/v1/match", "/api/v1/content-events"):
        return PLATFORM_TOKEN
    if path.startswith("/portal"):
        return PORTAL
    if path.startswith("/console"):
        return CONSOLE
    return None


@dataclass
class Caller:
    name: str
    credentials: frozenset[str] = frozenset()
    permissions: frozenset[Permission] = frozenset()
    token: str | None = None
    face: str | None = None  # portal | console: logged in through the login form
    email: str = ""
    secret: str = ""
    csrf: dict[str, str] = field(default_factory=dict)  # per face: portal, console, public


def allowed(caller: Caller, method: str, path: str) -> bool:
    """From the declared need and the role table only, never from an answer."""
    need = ROUTES[(method, path)]
    if need == ANYONE:
        return True
    if credential_of(path) not in caller.credentials:
        return False
    return need in (SIGNED_IN, PLATFORM) or need in caller.permissions


# --- the app's routes -----------------------------------------------------------------------------------


def flatten(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Every endpoint and mount, including those of included routers (which FastAPI keeps nested)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from flatten(nested.routes)
        else:
            yield route


def app_routes(container: Container) -> set[tuple[str, str]]:
    found = set()
    for route in flatten(create_app(container).routes):
        if isinstance(route, Mount):
            found.add(("GET", route.path))
        elif isinstance(route, APIRoute | Route):
            found |= {(method, route.path) for method in route.methods or {"GET"} if method != "HEAD"}
        else:  # pragma: no cover - a kind of route this walk does not know
            raise AssertionError(f"unknown kind of route {route!r}: teach the walk to call it")
    return found


def test_every_route_of_the_app_is_declared_and_public_routes_need_nothing(container: Container) -> None:
    found = app_routes(container)
    assert sorted(found - ROUTES.keys()) == [], "declare what these routes need in ROUTES"
    assert sorted(ROUTES.keys() - found) == [], "these routes are gone: remove them from ROUTES"
    for (method, path), need in ROUTES.items():
        assert (need == ANYONE) == (credential_of(path) is None or path.endswith("/login")), (method, path)


# --- calling one route as one caller --------------------------------------------------------------------

MOUNTED = {"/static": "/static/css/app.css", "/static-offline-docs": "/static-offline-docs/swagger-ui.css"}
FORM_FACES = ("/portal", "/console", "/notice", "/appeal")


def url_of(world: RouteWorld, method: str, path: str) -> str:
    if path in MOUNTED:
        return MOUNTED[path]
    params = world.params()
    if "{complaint_id}" in path:
        params["tracking_number"] = world.tco_tracking_number  # the complaint is about the removal order
    if path.startswith(("/appeal/", "/api/v1/appeals/")):
        return path.format(reference=world.appeal_reference) + f"?key={world.appeal_key}"
    if path.startswith(("/notice/", "/api/v1/notices/")):
        return path.format(reference=world.notice_reference) + f"?key={world.notice_key}"
    if path == "/appeal":
        return f"/appeal?key={world.appeal_key}"
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)


def call(client: TestClient, world: RouteWorld, caller: Caller, method: str, path: str) -> Response:
    url = url_of(world, method, path)
    headers = bearer(caller.token) if caller.token and credential_of(path) in TOKENS else {}
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method == "POST":
        if path.startswith(FORM_FACES) and not path.endswith("/login"):
            face = path.split("/")[1] if path.startswith(("/portal", "/console")) else "public"
            kwargs["data"] = {"csrf_token": caller.csrf.get(face, "")} | (
                {"key": world.appeal_key} if path == "/appeal" else {}
            )
        elif path.endswith("/login"):
            kwargs["data"] = {}
        else:
            kwargs["json"] = {}
    return client.request(method, url, **kwargs)


def problem_with(caller: Caller, method: str, path: str, response: Response) -> str | None:
    """What is wrong with this answer to this caller, if anything."""
    status, location = response.status_code, response.headers.get("location", "")
    if status >= 500:
        return "server error"
    credential = credential_of(path)
    face = path.split("/")[1]
    to_login = status == 303 and location.startswith(f"/{face}/login?next=")
    if allowed(caller, method, path):
        if status in (401, 403) or to_login:
            return "refused, but the role table allows it"
        if status == 404:
            return "404 for an object that exists"
        return None
    if credential in caller.credentials:
        return None if status == 403 else "expected 403"
    if credential in TOKENS:
        return None if status == 401 else "expected 401"
    return None if to_login else f"expected a redirect to /{face}/login"


# --- the callers ----------------------------------------------------------------------------------------


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> RouteWorld:
    return build_route_world(client, container, sessions, clock)


@pytest.fixture
def callers(world: RouteWorld, sessions: sessionmaker[Session], clock: FrozenClock) -> list[Caller]:
    found = [
        Caller("anonymous"),
        Caller(
            "officer",
            frozenset({PORTAL, OFFICER_KEY}),
            OFFICER_PERMISSIONS,
            token=world.lawful.fr_key,
            face="portal",
            email=OFFICER_EMAIL,
            secret=world.officer_secret,
        ),
        Caller("platform", frozenset({PLATFORM_TOKEN}), token=world.platform_token),
    ]
    for role in Role:
        email = f"walk-{role.value}@platform.example"
        secret = add_staff_login(sessions, clock, email, role.value)
        with unit_of_work(sessions) as session:
            user = staff.find_user(session, email)
            assert user is not None
            token = staff.issue_token(session, clock, Actor.operator(), user)
        found.append(
            Caller(
                role.value,
                frozenset({CONSOLE, STAFF_TOKEN}),
                ROLE_PERMISSIONS[role],
                token=token,
                face="console",
                email=email,
                secret=secret,
            )
        )
    return found


def client_for(container: Container, caller: Caller, clock: FrozenClock) -> TestClient:
    client = TestClient(create_app(container), base_url="https://testserver", raise_server_exceptions=False)
    if caller.face:
        caller.csrf[caller.face] = log_in(client, caller.face, caller.email, caller.secret, clock)
    public = CSRF.search(client.get("/notice").text)
    assert public, "the public notice form carries its CSRF token"
    caller.csrf["public"] = public.group(1)
    return client


def walk_order(route: tuple[str, str]) -> tuple[bool, str, str]:
    """Logging out last: it ends the session the other routes are called in."""
    method, path = route
    return (path.endswith("/logout"), path, method)


def test_every_route_answers_every_caller_as_the_role_table_says(
    container: Container, world: RouteWorld, callers: list[Caller], clock: FrozenClock
) -> None:
    routes = sorted(app_routes(container), key=walk_order)
    problems, calls = [], 0
    for caller in callers:
        with client_for(container, caller, clock) as client:
            for method, path in routes:
                response = call(client, world, caller, method, path)
                calls += 1
                problem = problem_with(caller, method, path, response)
                if problem:
                    problems.append(f"{caller.name} {method} {path} -> {response.status_code}: {problem}")
    assert problems == []
    assert calls == len(callers) * len(ROUTES)
