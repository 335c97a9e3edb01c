"""The console's on-call pages (issue 13, item 3): the rota and the pages of an emergency request.

``/console/oncall`` (``staff:request:read``) shows who is on call this week and next, first and backups;
those with ``staff:oncall:manage`` (admin, legal approver) add and remove shifts there. The request page
lists the request's pages (who, when, level, status) through the template global ``oncall_pages``; the
paged person (or anyone of the legal desk) acknowledges with ``POST /console/pages/{page_id}/acknowledge``.
Every form carries the session's CSRF token; a refused action shows the page again and changes nothing.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, object_session

from trustdesk.app import Container
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput, NotFound
from trustdesk.lawful.models import LawfulRequest
from trustdesk.oncall import paging, rota
from trustdesk.oncall.models import Page
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, Visitor, page, templates
from trustdesk.web.console.common import Csrf, error_page, frame, refused
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)

DONE = {"added": "Shift added to the rota.", "removed": "Shift removed from the rota."}
Field = Annotated[str, Form()]


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of the week of ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def parse_time(value: str, field: str) -> datetime:
    """A time from the form: ISO 8601; without a zone it is UTC (the console shows UTC)."""
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{field.replace('_', ' ')} is not a date and time (YYYY-MM-DDTHH:MM)", field=field
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def parse_position(value: str) -> int:
    try:
        return int(value.strip() or "0")
    except ValueError:
        raise InvalidInput("the position is a whole number (0: paged first)", field="position") from None


def rota_rows(session: Session, start: datetime, end: datetime, now: datetime) -> list[dict[str, Any]]:
    names = {user.id: user for user in staff.list_users(session)}
    rows = []
    for shift in rota.shifts_between(session, start, end):
        user = names.get(shift.user_id)
        rows.append(
            {
                "shift": shift,
                "name": user.name if user else shift.user_id,
                "email": user.email if user else "",
                "now": shift.starts_at <= now < shift.ends_at,
            }
        )
    return rows


def oncall_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    now = container.clock()
    start = week_start(now)
    with unit_of_work(container.sessions) as session:
        weeks = [
            {"label": label, "start": s, "rows": rota_rows(session, s, s + timedelta(days=7), now)}
            for label, s in (("This week", start), ("Next week", start + timedelta(days=7)))
        ]
        current = [
            {"position": shift.position, "user": session.get_one(StaffUser, shift.user_id)}
            for shift in rota.on_call(session, now)
        ]
        legal = [user for user in staff.list_users(session) if rota.is_legal(user)]
        return page(
            request,
            "console/oncall.html",
            frame(
                visitor,
                "oncall",
                weeks=weeks,
                current=current,
                legal=legal,
                may_manage=visitor.principal.can(Permission.STAFF_ONCALL_MANAGE),
                escalate_minutes=container.settings.oncall_escalate_minutes,
                flash=flash,
                error=error,
                form=form or {},
            ),
            status_code=error.status if error else 200,
        )


def _acting(session: Session, visitor: Visitor) -> StaffUser:
    return session.get_one(StaffUser, visitor.principal.id)


@router.get("/oncall")
def show_rota(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    return oncall_page(request, container, visitor, flash=DONE.get(done or ""))


@router.post("/oncall")
def add_shift(
    request: Request,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    user: Field = "",
    starts_at: Field = "",
    ends_at: Field = "",
    position: Field = "0",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_ONCALL_MANAGE, csrf_token, post=True)) is not None:
        return stop
    form = {"user": user, "starts_at": starts_at, "ends_at": ends_at, "position": position}
    try:
        with unit_of_work(container.sessions) as session:
            if not user.strip():
                raise InvalidInput("choose who is on call", field="user")
            person = session.get(StaffUser, user.strip()) or staff.find_user(session, user)
            if person is None:
                raise InvalidInput(f"no staff user {user}", field="user")
            rota.add_shift(
                session,
                container.clock,
                _acting(session, visitor),
                user=person,
                starts_at=parse_time(starts_at, "starts_at"),
                ends_at=parse_time(ends_at, "ends_at"),
                position=parse_position(position),
            )
    except DomainError as exc:
        return oncall_page(request, container, visitor, error=exc, form=form)
    return RedirectResponse("/console/oncall?done=added", status_code=303)


@router.post("/oncall/{shift_id}/remove")
def remove_shift(
    request: Request, shift_id: str, container: ContainerDep, visitor: ConsoleVisitor, csrf_token: Csrf = None
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_ONCALL_MANAGE, csrf_token, post=True)) is not None:
        return stop
    try:
        with unit_of_work(container.sessions) as session:
            rota.remove_shift(session, container.clock, _acting(session, visitor), shift_id)
    except NotFound as exc:
        return error_page(request, visitor, exc)
    except DomainError as exc:
        return oncall_page(request, container, visitor, error=exc)
    return RedirectResponse("/console/oncall?done=removed", status_code=303)


@router.post("/pages/{page_id}/acknowledge")
def acknowledge(
    request: Request, page_id: str, container: ContainerDep, visitor: ConsoleVisitor, csrf_token: Csrf = None
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, csrf_token, post=True)) is not None:
        return stop
    try:
        with unit_of_work(container.sessions) as session:
            found = paging.acknowledge(session, container.clock, _acting(session, visitor), page_id)
            if found.request_id is None:  # a message still in triage: back to it in the mailroom
                back = f"/console/mailroom/{found.inbound_id}#pages"
            else:
                paged = session.get_one(LawfulRequest, found.request_id)
                back = f"/console/requests/{paged.tracking_number}#pages"
    except DomainError as exc:
        return error_page(request, visitor, exc)
    return RedirectResponse(back, status_code=303)


def page_rows(session: Session, pages: list[Page], visitor: Visitor) -> list[dict[str, Any]]:
    """Pages as the request page and the mailroom's message page list them: who, and whether this visitor
    may acknowledge it."""
    names = {user.id: user.name for user in staff.list_users(session)}
    may_read = visitor.principal.can(Permission.STAFF_REQUEST_READ)
    return [
        {
            "page": p,
            "who": names.get(p.user_id, p.user_id) if p.user_id else "nobody on call: the fallback channel",
            "may_acknowledge": p.status != paging.ACKNOWLEDGED
            and (p.user_id == visitor.principal.id or may_read),
            "mine": p.user_id == visitor.principal.id,
        }
        for p in pages
    ]


def request_pages(lawful: LawfulRequest, visitor: Visitor) -> list[dict[str, Any]]:
    """The pages of the request shown on its page (read in the page's own unit of work)."""
    session = object_session(lawful)
    if session is None:
        return []
    return page_rows(session, paging.pages_of(session, lawful.id), visitor)


templates.env.globals["oncall_pages"] = request_pages
"""The request page (``console/request.html``) lists the request's pages with this."""
