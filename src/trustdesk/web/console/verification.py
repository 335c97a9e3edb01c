"""The console's callback verification (issue 11): recording the call to the agency on a directory number
that lifts a held request's hold, or, not confirmed, refuses it as forged and locks the agency. The request
page (``lawful``) shows the risk, rule by rule, and this form; ``/callback`` offers the agency's
supervisors, each on the number from an official directory it was recorded with, as the numbers to call
(choosing one fills in the number, the directory and the person)."""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.authorities import keys
from trustdesk.authorities import service as authorities
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput
from trustdesk.lawful import callbacks, service
from trustdesk.lawful.models import LawfulRequest
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, page
from trustdesk.web.console.common import Csrf, Text, error_page, frame, refused
from trustdesk.web.console.lawful_actions import act
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.post("/requests/{tracking_number}/callback")
def record_callback(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    number: Text = "",
    directory: Text = "",
    person_reached: Text = "",
    note: Text = "",
    outcome: Text = "",
    supervisor_id: Text = "",
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop
    if supervisor_id.strip():  # called on the supervisor's directory number: what was recorded with it
        chosen = _supervisor(container, tracking_number, supervisor_id.strip())
        if isinstance(chosen, DomainError):
            return error_page(request, visitor, chosen)
        number = number.strip() or chosen.phone
        directory = directory.strip() or chosen.directory
        person_reached = person_reached.strip() or f"{chosen.name}, {chosen.title}"
    form = {"number": number, "directory": directory, "person_reached": person_reached, "note": note}
    body = callbacks.CallbackIn(
        number=number, directory=directory, person_reached=person_reached, confirmed=outcome == "confirmed",
        note=note,
    )  # fmt: skip

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        if outcome not in ("confirmed", "failed"):
            raise InvalidInput("say whether the agency confirmed the request", field="outcome")
        return callbacks.record_callback(session, container.clock, user, lawful, body)

    response = act(
        request, container, visitor, tracking_number, "callback", action, done="callback", form=form
    )
    if outcome == "failed" and response.status_code == 303:
        callbacks.alert_failed_callback(container.sessions, container.notifier, tracking_number)
    return response


@dataclass(frozen=True)
class Supervisor:
    id: str
    name: str
    title: str
    phone: str
    directory: str


def _supervisors(session: Session, tracking_number: str) -> tuple[LawfulRequest, list[Supervisor]]:
    lawful = service.get_by_tracking_number(session, tracking_number)
    found = [
        Supervisor(s.id, s.name, s.title, s.phone, s.directory)
        for s in keys.list_supervisors(session, lawful.agency_id)
    ]
    return lawful, found


def _supervisor(container: Container, tracking_number: str, supervisor_id: str) -> Supervisor | DomainError:
    """The current supervisor of the request's agency chosen on the form, or why not."""
    try:
        with unit_of_work(container.sessions) as session:
            _, found = _supervisors(session, tracking_number)
    except DomainError as exc:
        return exc
    for supervisor in found:
        if supervisor.id == supervisor_id:
            return supervisor
    return InvalidInput("this is not a current supervisor of the requesting agency", field="supervisor_id")


@router.get("/requests/{tracking_number}/callback")
def callback_form(
    request: Request, tracking_number: str, container: ContainerDep, visitor: ConsoleVisitor
) -> HTMLResponse:
    """The callback form with the agency's supervisors and their directory numbers as the numbers to call."""
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, post=False)) is not None:
        return stop
    try:
        with unit_of_work(container.sessions) as session:
            lawful, found = _supervisors(session, tracking_number)
            agency = authorities.get_agency(session, lawful.agency_id)
            context = {
                "tracking_number": lawful.tracking_number,
                "status": lawful.status.value,
                "held": lawful.held_for_callback,
                "agency_name": agency.name,
                "supervisors": found,
            }
    except DomainError as exc:
        return error_page(request, visitor, exc)
    return page(request, "console/callback.html", frame(visitor, "queue", **context))
