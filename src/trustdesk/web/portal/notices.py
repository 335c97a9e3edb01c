"""The portal's notices about the agency's own account (``authorities.notices``): an officer acknowledges
one, and it leaves every officer's list of requests."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from trustdesk.authorities import notices
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError
from trustdesk.web.browser import PortalVisitor
from trustdesk.web.deps import ContainerDep
from trustdesk.web.portal.common import PostedForm, fail_page, officer_of, refuse_forgery

router = APIRouter(include_in_schema=False)


@router.post("/portal/notices/{notice_id}/acknowledge")
def acknowledge(
    notice_id: str, request: Request, container: ContainerDep, visitor: PortalVisitor, form: PostedForm
) -> Response:
    if refused := refuse_forgery(request, visitor, form):
        return refused
    try:
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            notices.acknowledge(session, container.clock, officer, notice_id)
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    return RedirectResponse("/portal", status_code=303)
