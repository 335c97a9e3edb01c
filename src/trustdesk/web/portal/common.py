"""What every page of the authority portal shares: its times (UTC, and saying so), the template context, the
error page in the portal's layout, the officer of the session, the CSRF check of every POST and the posted
form."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from trustdesk.authorities.models import Officer
from trustdesk.errors import DomainError, Forbidden
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import BadCsrf, Visitor, check_csrf
from trustdesk.web.browser import page as render
from trustdesk.web.portal import forms

__all__ = [
    "PostedForm",
    "fail_page",
    "iso",
    "officer_of",
    "portal_context",
    "refuse_forgery",
    "size_text",
    "utc",
]

ERROR_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not possible now", 422: "Cannot do that"}


def utc(value: datetime | None, *, zone: bool = True) -> str:
    """``2026-11-02 09:00 UTC``: every time on the portal is in UTC, and says so (or its column does)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M" + (" UTC" if zone else ""))


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()


def size_text(size: int) -> str:
    for unit, factor in (("MB", 1_048_576), ("kB", 1_024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit} ({size:,} bytes)"
    return f"{size} bytes"


def portal_context(visitor: Visitor, nav: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "visitor": visitor,
        "face": "portal",
        "nav": nav,
        "utc": utc,
        "iso": iso,
        "humanize": forms.humanize,
        "size_text": size_text,
        **extra,
    }


def fail_page(request: Request, visitor: Visitor, exc: DomainError) -> HTMLResponse:
    """An error page in the portal's own layout (the header keeps the officer and the log-out form)."""
    title = ERROR_TITLES.get(exc.status, "Something went wrong")
    if exc.code == "production_expired":
        title = "Download link expired"
    return render(
        request,
        "portal/error.html",
        portal_context(visitor, error=exc, title=title),
        status_code=exc.status,
    )


def officer_of(session: Session, visitor: Visitor) -> Officer:
    visitor.require(Permission.AUTHORITY_REQUEST_READ)
    officer = session.get(Officer, visitor.principal.id)
    if officer is None or officer.agency_id != visitor.principal.agency_id:
        raise Forbidden("this session does not belong to an officer of an agency", code="permission_denied")
    return officer


def refuse_forgery(request: Request, visitor: Visitor, form: FormData) -> HTMLResponse | None:
    """Every POST carries the session's CSRF token; without it nothing is read further or changed."""
    try:
        check_csrf(visitor, form.get("csrf_token"))
    except BadCsrf as exc:
        return fail_page(request, visitor, exc)
    return None


async def posted_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form (URL-encoded or multipart), its uploaded files closed after the response."""
    async with request.form(max_files=1, max_fields=200) as form:
        yield form


PostedForm = Annotated[FormData, Depends(posted_form)]
