"""The console's callback verification (issue 11): recording the call to the agency on a directory number
that lifts a held request's hold, or, not confirmed, refuses it as forged and locks the agency. The request
page (``lawful``) shows the risk, rule by rule, and this form."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from trustdesk.errors import InvalidInput
from trustdesk.lawful import callbacks
from trustdesk.lawful.models import LawfulRequest
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor
from trustdesk.web.console.common import Csrf, Text, refused
from trustdesk.web.console.lawful import act
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
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop
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
