"""The console's view of a request's signed order: staff only, audited, served as a download with a
sandboxing policy (``lawful.service.open_document``); the request page links each document here."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from trustdesk.db import unit_of_work
from trustdesk.errors import NotFound
from trustdesk.lawful import service
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor
from trustdesk.web.console.common import error_page, refused
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/requests/{tracking_number}/documents/{document_id}")
def document(
    request: Request, tracking_number: str, document_id: str, container: ContainerDep, visitor: ConsoleVisitor
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    try:
        with unit_of_work(container.sessions) as session:
            user = session.get_one(StaffUser, visitor.principal.id)
            lawful = service.get_by_tracking_number(session, tracking_number)
            found = service.open_document(session, container.clock, user, lawful, document_id)
            content, headers = found.content, service.document_response_headers(found)
    except NotFound as exc:
        return error_page(request, visitor, exc)
    return Response(content, media_type="application/pdf", headers=headers)
