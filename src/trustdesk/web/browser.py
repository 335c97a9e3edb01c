"""What the browser faces share: cookies, the logged-in principal, CSRF checks, login throttling, rendering.

Pages are server-rendered and work without JavaScript; scripts only enhance (countdowns, refresh).
"""

import hmac
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from trustdesk.app import Container
from trustdesk.auth import service as auth
from trustdesk.auth.service import Face, Principal
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, Forbidden
from trustdesk.staff.roles import Permission
from trustdesk.web.deps import get_container

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
COOKIES = {Face.PORTAL: "td_portal", Face.CONSOLE: "td_console"}
LOGIN_PATHS = {Face.PORTAL: "/portal/login", Face.CONSOLE: "/console/login"}


class LoginRequired(Exception):
    """Raised by page dependencies when no live session exists; answered with a redirect to log in."""

    def __init__(self, face: Face, next_url: str) -> None:
        super().__init__(face.value)
        self.face = face
        self.next_url = next_url


class BadCsrf(Forbidden):
    code = "csrf_failed"


@dataclass(frozen=True)
class Visitor:
    """A logged-in person in a browser: who, the session, and the CSRF token for its forms."""

    principal: Principal
    session_id: str
    csrf: str

    def require(self, permission: Permission) -> None:
        if not self.principal.can(permission):
            raise Forbidden(f"your role does not allow this ({permission.value})", code="permission_denied")


def _visitor(request: Request, container: Container, face: Face) -> Visitor:
    token = request.cookies.get(COOKIES[face])
    if token:
        with unit_of_work(container.sessions) as session:
            found = auth.resolve(session, container.clock, face, token)
            if found is not None:
                web_session, principal = found
                return Visitor(principal, web_session.id, web_session.csrf_token)
    raise LoginRequired(face, request.url.path)


def portal_visitor(request: Request, container: Annotated[Container, Depends(get_container)]) -> Visitor:
    return _visitor(request, container, Face.PORTAL)


def console_visitor(request: Request, container: Annotated[Container, Depends(get_container)]) -> Visitor:
    return _visitor(request, container, Face.CONSOLE)


PortalVisitor = Annotated[Visitor, Depends(portal_visitor)]
ConsoleVisitor = Annotated[Visitor, Depends(console_visitor)]


def check_csrf(visitor: Visitor, submitted: object) -> None:
    """Every state-changing form carries the session's CSRF token (synchronizer token pattern)."""
    if not isinstance(submitted, str) or not hmac.compare_digest(submitted, visitor.csrf):
        raise BadCsrf("the form expired or did not come from this site; reload the page and try again")


class LoginThrottle:
    """At most ``limit`` login attempts per client address per minute, on top of the delays per account
    and address."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[client]
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context or {}, status_code=status_code)


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"{LOGIN_PATHS[exc.face]}?next={quote(exc.next_url, safe='/')}", status_code=303)


def safe_next(value: str | None, face: Face) -> str:
    """Only a local path of the same face: never an open redirect."""
    prefix = f"/{face.value}"
    if value and value.startswith(prefix) and not value.startswith("//") and "\\" not in value:
        return value
    return prefix


def error_page(request: Request, exc: DomainError) -> HTMLResponse:
    return page(request, "error.html", {"error": exc}, status_code=exc.status)


def set_session_cookie(
    response: HTMLResponse | RedirectResponse, face: Face, token: str, secure: bool
) -> None:
    response.set_cookie(
        COOKIES[face],
        token,
        httponly=True,
        secure=secure,
        samesite="strict",
        path=f"/{face.value}",
        max_age=int(auth.SESSION_MAX.total_seconds()),
    )
