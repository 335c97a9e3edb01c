"""The enrolment page (``/enrol/{token}``): an account created from the CLI chooses its password, adds
its TOTP secret to an authenticator app and confirms one current code (`trustdesk.auth.enrolment`).

No cookie and no CSRF token: the form is bound to the link's own 256-bit token, which a cross-site page
cannot know. The page shows the secret, so it is never cached (the security headers say ``no-store``) and
sends no referrer. A refused attempt shows the page again with the reason and changes nothing; an
unknown, used or expired link shows an error page.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trustdesk.app import Container
from trustdesk.auth import enrolment
from trustdesk.auth import service as auth
from trustdesk.auth.totp import key_at
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput, NotFound
from trustdesk.web.browser import page
from trustdesk.web.deps import ContainerDep

router = APIRouter(include_in_schema=False)
MAX_TOKEN = 100


def _secret(container: Container) -> str:
    return container.settings.secret_key.get_secret_value()


def _gone(request: Request, exc: DomainError) -> HTMLResponse:
    return page(request, "enrol/gone.html", {"error": exc}, status_code=exc.status)


def _form(
    request: Request, container: Container, token: str, *, error: DomainError | None = None
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        opened = enrolment.open_link(session, container.clock, token, _secret(container))
        return page(
            request,
            "enrol/form.html",
            {
                "token": token,
                "email": opened.account.email,
                "name": opened.account.name,
                "kind": opened.kind,
                "secret": opened.secret,
                "uri": opened.uri,
                "resets": opened.resets,
                "expires_at": opened.expires_at,
                "min_length": auth.MIN_PASSWORD_LENGTH,
                "error": error,
            },
            status_code=error.status if error else 200,
        )


def _checked(token: str) -> str:
    if len(token) > MAX_TOKEN:
        raise NotFound(
            "this enrolment link is unknown: check that it was copied whole", code="enrolment_unknown"
        )
    return token


@router.get("/enrol/{token}")
def enrol_page(request: Request, token: str, container: ContainerDep) -> HTMLResponse:
    try:
        return _form(request, container, _checked(token))
    except DomainError as exc:
        return _gone(request, exc)


Field = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=16)]


@router.post("/enrol/{token}")
def enrol(
    request: Request,
    token: str,
    container: ContainerDep,
    password: Field,
    confirm: Field,
    code: Code,
) -> Response:
    key = key_at(container.settings.totp_key_path)
    try:
        with unit_of_work(container.sessions) as session:
            opened = enrolment.complete(
                session,
                container.clock,
                _checked(token),
                password=password,
                confirm=confirm,
                code=code,
                key=key,
                server_secret=_secret(container),
            )
            face = enrolment.face_of(opened.kind)
    except InvalidInput as exc:
        try:
            return _form(request, container, token, error=exc)
        except DomainError as gone:
            return _gone(request, gone)
    except DomainError as exc:
        return _gone(request, exc)
    return RedirectResponse(f"/{face}/login?enrolled=1", status_code=303)
