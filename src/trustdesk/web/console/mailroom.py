"""The console's mailroom and triage queue: every message that arrived by e-mail or was scanned from a letter
and waits for a legal reviewer, with its authenticity verdict and the reasons for it, the agency it was
attributed to (or why none), what was read from it, and its attachments (downloads: staff only, audited,
sandboxed); and the form that scans a letter or fax into the queue (``staff:mailroom:upload``).

The upload posts to ``/console/mailroom/documents`` so that the body limit of document uploads applies.
"""

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from trustdesk.app import Container
from trustdesk.authorities import service as authorities
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput
from trustdesk.intake import mailroom
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, Visitor, page
from trustdesk.web.console.common import error_page, frame, refused
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)


async def posted_form(request: Request) -> AsyncIterator[FormData]:
    async with request.form(max_files=1, max_fields=20) as form:
        yield form


PostedForm = Annotated[FormData, Depends(posted_form)]


def _row(message: Any, attachments: list[Any], agencies: dict[str, str]) -> dict[str, Any]:
    verdict = message.authenticity or {}
    return {
        "id": message.id,
        "channel": message.channel,
        "received_at": message.received_at,
        "sender": message.sender,
        "recipient": message.recipient,
        "subject": message.subject,
        "sha256": message.sha256,
        "verdict": verdict,
        "agency": agencies.get(message.agency_id or ""),
        "extracted": message.extracted or {},
        "note": message.note,
        "tracking_number": message.tracking_number,
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": len(a.content),
             "problem": a.problem, "sha256": a.sha256}
            for a in attachments
        ],
    }  # fmt: skip


def triage_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        agencies = {a.id: a.name for a in authorities.list_agencies(session)}
        rows = [
            _row(m, mailroom.attachments_of(session, m.id), agencies) for m in mailroom.list_triage(session)
        ]
    return page(
        request,
        "console/mailroom.html",
        frame(
            visitor, "mailroom", rows=rows, flash=flash, error=error, form=form or {},
            may_upload=visitor.principal.can(Permission.STAFF_MAILROOM_UPLOAD),
            addresses=container.channels.intake_addresses,
        ),
        status_code=error.status if error else 200,
    )  # fmt: skip


@router.get("/mailroom")
def triage(request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str = "") -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    flash = "Letter added to the triage queue." if done == "uploaded" else None
    return triage_page(request, container, visitor, flash=flash)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/mailroom/documents")
def upload(request: Request, container: ContainerDep, visitor: ConsoleVisitor, form: PostedForm) -> Response:
    if stop := refused(request, visitor, Permission.STAFF_MAILROOM_UPLOAD, form.get("csrf_token"), post=True):
        return stop
    values = {k: _field(form, k) for k in ("postmark", "sender_name", "sender_address", "note")}
    limit = container.settings.max_document_bytes
    try:
        scan = form.get("file")
        if not isinstance(scan, UploadFile) or not scan.filename:
            raise InvalidInput("choose the scanned letter (a PDF)", field="file")
        scan.file.seek(0)
        content = scan.file.read(limit + 1)
        try:
            postmark = date.fromisoformat(values["postmark"])
        except ValueError:
            raise InvalidInput("the postmark is a date: YYYY-MM-DD", field="postmark") from None
        arrivals = container.arrivals
        with unit_of_work(container.sessions) as session:
            user = session.get_one(StaffUser, visitor.principal.id)
            letter = mailroom.upload_letter(
                session, container.clock, user, content, scan.filename, postmark=postmark,
                sender_name=values["sender_name"], sender_address=values["sender_address"],
                note=values["note"], max_bytes=limit, titles=arrivals.titles,
            )  # fmt: skip
            urgent, letter_id = arrivals.triage(session, container.clock, letter), letter.id
    except DomainError as exc:
        return triage_page(request, container, visitor, error=exc, form=values)
    arrivals.after_commit(letter_id, urgent)  # an emergency letter pages the person on call
    return RedirectResponse("/console/mailroom?done=uploaded", status_code=303)


@router.get("/mailroom/attachments/{attachment_id}")
def attachment(
    request: Request, attachment_id: str, container: ContainerDep, visitor: ConsoleVisitor
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    try:
        with unit_of_work(container.sessions) as session:
            user = session.get_one(StaffUser, visitor.principal.id)
            found = mailroom.open_attachment(session, container.clock, user, attachment_id)
            content, headers = found.content, mailroom.attachment_headers(found)
            media_type = (
                "application/pdf" if found.content_type == "application/pdf" else "application/octet-stream"
            )
    except DomainError as exc:
        return error_page(request, visitor, exc)
    return Response(content, media_type=media_type, headers=headers)
