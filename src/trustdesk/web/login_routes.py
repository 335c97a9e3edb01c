"""Log in and out of the portal (officers) and the console (staff): password plus mandatory TOTP."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trustdesk.auth import service as auth
from trustdesk.auth.addresses import client_of
from trustdesk.auth.service import Face
from trustdesk.auth.totp import key_at
from trustdesk.db import unit_of_work
from trustdesk.safety import cases
from trustdesk.web.browser import (
    COOKIES,
    ConsoleVisitor,
    LoginThrottle,
    PortalVisitor,
    Visitor,
    check_csrf,
    page,
    safe_next,
    set_session_cookie,
)
from trustdesk.web.deps import ContainerDep

router = APIRouter(include_in_schema=False)
throttle = LoginThrottle()
TITLES = {Face.PORTAL: "authority portal", Face.CONSOLE: "staff console"}
INTROS = {
    Face.PORTAL: "For officers of verified authorities; your account is tied to your agency's domain.",
    Face.CONSOLE: "For the platform's legal and trust & safety staff.",
}


def _login_page(
    request: Request,
    face: Face,
    *,
    next_url: str = "",
    error: str | None = None,
    email: str = "",
    status: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        "login.html",
        {
            "face": face.value,
            "face_title": TITLES[face],
            "intro": INTROS[face],
            "next": next_url,
            "error": error,
            "email": email,
            "flash": flash,
        },
        status_code=status,
    )


def _login(
    request: Request, container: ContainerDep, face: Face, email: str, password: str, code: str, next_url: str
) -> Response:
    settings = container.settings
    client = client_of(request, settings.trusted_proxies)
    if not throttle.allow(client):
        return _login_page(
            request,
            face,
            next_url=next_url,
            email=email,
            status=429,
            error="Too many attempts from your network: wait a minute.",
        )
    key = key_at(settings.totp_key_path)
    with unit_of_work(container.sessions) as session:
        result = auth.login(session, container.clock, face, email, password, code, client, key=key)
    if result.retry_after is not None:
        response: Response = _login_page(
            request, face, next_url=next_url, email=email, error=result.message, status=429
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if not result.ok or result.token is None:
        return _login_page(request, face, next_url=next_url, email=email, error=result.message, status=401)
    response = RedirectResponse(safe_next(next_url, face), status_code=303)
    set_session_cookie(response, face, result.token, settings.cookie_secure)
    return response


def _logout(
    request: Request, container: ContainerDep, visitor: Visitor, csrf_token: str, face: Face
) -> Response:
    check_csrf(visitor, csrf_token)
    token = request.cookies.get(COOKIES[face], "")
    with unit_of_work(container.sessions) as session:
        found = auth.resolve(session, container.clock, face, token)
        if found is not None:
            if face is Face.CONSOLE:
                # the reviewer's claims go back to the queue
                cases.release_all(session, container.clock, found[1].id)
            auth.logout(session, container.clock, found[0])
    response = RedirectResponse(f"/{face.value}/login", status_code=303)
    response.delete_cookie(COOKIES[face], path=f"/{face.value}")
    return response


Email = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=16)]
Next = Annotated[str, Form(max_length=500)]
Csrf = Annotated[str, Form(max_length=100)]


ENROLLED = "Your account is set up. Log in with your password and the next code of your app."
"""Shown after an enrolment (``?enrolled=1``): the code that confirmed it is used, a newer one logs in."""


@router.get("/portal/login")
def portal_login_page(request: Request, next: str = "", enrolled: bool = False) -> HTMLResponse:  # noqa: A002 - the query parameter's name
    return _login_page(request, Face.PORTAL, next_url=next, flash=ENROLLED if enrolled else None)


@router.post("/portal/login")
def portal_login(
    request: Request,
    container: ContainerDep,
    email: Email,
    password: Password,
    code: Code,
    next: Next = "",  # noqa: A002
) -> Response:
    return _login(request, container, Face.PORTAL, email, password, code, next)


@router.post("/portal/logout")
def portal_logout(
    request: Request, container: ContainerDep, visitor: PortalVisitor, csrf_token: Csrf
) -> Response:
    return _logout(request, container, visitor, csrf_token, Face.PORTAL)


@router.get("/console/login")
def console_login_page(request: Request, next: str = "", enrolled: bool = False) -> HTMLResponse:  # noqa: A002
    return _login_page(request, Face.CONSOLE, next_url=next, flash=ENROLLED if enrolled else None)


@router.post("/console/login")
def console_login(
    request: Request,
    container: ContainerDep,
    email: Email,
    password: Password,
    code: Code,
    next: Next = "",  # noqa: A002
) -> Response:
    return _login(request, container, Face.CONSOLE, email, password, code, next)


@router.post("/console/logout")
def console_logout(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, csrf_token: Csrf
) -> Response:
    return _logout(request, container, visitor, csrf_token, Face.CONSOLE)
