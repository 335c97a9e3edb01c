"""The authority portal: an agency's requests, the new-request form, a request's page and its actions.

Server-rendered pages that work without JavaScript. Every route is one unit of work; every POST checks the
session's CSRF token before anything else; a request of another agency does not exist (404).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from trustdesk.app import Container
from trustdesk.audit import service as audit
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import AuditAction
from trustdesk.authorities import notices
from trustdesk.authorities.models import Agency
from trustdesk.bus.protocol import Subject
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput, NotFound
from trustdesk.intake import triage
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful import execution, monitor, review, service, views
from trustdesk.lawful.catalogue import Instrument, RequestField
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.monitor import SlaState
from trustdesk.lawful.schemas import RequestIn
from trustdesk.lawful.workflow import OPEN_STATUSES, TRANSITIONS, RequestStatus, Transition
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import PortalVisitor, Visitor
from trustdesk.web.browser import page as render
from trustdesk.web.deps import ContainerDep
from trustdesk.web.portal import forms
from trustdesk.web.portal.common import (
    PostedForm,
    fail_page,
    officer_of,
    portal_context,
    refuse_forgery,
    utc,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MAX_MESSAGE_CHARS = 20_000
MAX_REASON_CHARS = 2_000

STATUS_LABELS = {
    RequestStatus.ACKNOWLEDGED: "acknowledged",
    RequestStatus.IN_REVIEW: "in review",
    RequestStatus.CLARIFICATION_REQUESTED: "clarification requested",
    RequestStatus.WAITING: "waiting for the delivery date",
    RequestStatus.DECIDED: "decided",
    RequestStatus.AWAITING_APPROVAL: "awaiting approval",
    RequestStatus.APPROVED: "approved",
    RequestStatus.EXECUTING: "being executed",
    RequestStatus.ANSWERED: "answered",
    RequestStatus.CLOSED: "closed",
    RequestStatus.REFUSED: "refused",
    RequestStatus.WITHDRAWN: "withdrawn",
}
MESSAGE_KINDS = {
    review.CorrespondenceKind.CLARIFICATION_QUESTION.value: "Question from the legal team",
    review.CorrespondenceKind.CLARIFICATION_ANSWER.value: "Your answer",
    review.CorrespondenceKind.CANNOT_COMPLY.value: "Cannot comply",
    review.CorrespondenceKind.EFFECT_GIVEN.value: "Effect given",
    review.CorrespondenceKind.ANSWER.value: "Answer",
    review.CorrespondenceKind.WITHDRAWAL.value: "Withdrawal",
    review.CorrespondenceKind.NOTE.value: "Note",
}
DEADLINE_LABELS = {
    SlaState.OVERDUE: "overdue",
    SlaState.AT_RISK: "due soon",
    SlaState.ON_TIME: "on time",
    SlaState.PAUSED: "clock paused",
}
FLASHES = {
    "sent": "Your message was sent to the legal team.",
    "answered": "Your answer was sent: the legal team resumes its review.",
    "attached": "The document was attached.",
    "withdrawn": "The request was withdrawn.",
}


# --- presentation helpers -------------------------------------------------------------------------


def countdown(due: datetime, now: datetime) -> str:
    """The text ``app.js`` keeps live: ``1d 2h 05m left`` or ``overdue by 0h 10m``."""
    left = deadlines.time_left(due, now)
    seconds = abs(left) // timedelta(seconds=1)
    days, rest = divmod(seconds, 86_400)
    hours, minutes = rest // 3_600, (rest % 3_600) // 60
    text = (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"
    return f"overdue by {text}" if left < timedelta(0) else f"{text} left"


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[: limit + 1] if isinstance(value, str) else ""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def _upload(form: FormData, name: str, limit: int) -> Upload | None:
    """The chosen file, read up to one byte past the limit (the service refuses what is too large)."""
    value = form.get(name)
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    value.file.seek(0)
    return Upload(
        value.filename, value.content_type or "application/octet-stream", value.file.read(limit + 1)
    )


# --- the list ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    tracking_number: str
    instrument: str
    instrument_title: str
    reference: str
    status: str
    status_label: str
    emergency: bool
    received_at: datetime
    due_at: datetime | None
    countdown: str
    deadline: str
    deadline_label: str
    outcome: str | None


def _row(session: Session, container: Container, item: LawfulRequest, now: datetime) -> Row:
    state = monitor.deadline_state(item, now)
    return Row(
        tracking_number=item.tracking_number,
        instrument=item.instrument.value,
        instrument_title=container.catalogue.get(item.instrument).title,
        reference=item.reference,
        status=item.status.value,
        status_label=STATUS_LABELS[item.status],
        emergency=item.emergency,
        received_at=item.received_at,
        due_at=item.due_at,
        countdown=countdown(item.due_at, now) if item.due_at and state else "",
        deadline=state.value if state else "",
        deadline_label=DEADLINE_LABELS[state] if state else "",
        outcome=views.authority_view(session, item)["outcome"],
    )


@router.get("/portal")
def requests_page(
    request: Request, container: ContainerDep, visitor: PortalVisitor, page: str = "1"
) -> HTMLResponse:
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    now = container.clock()
    try:
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            found = service.list_requests(
                session, agency_id=officer.agency_id, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE
            )
            rows = [_row(session, container, item, now) for item in found[:PAGE_SIZE]]
            agency_name = officer.agency.name
            agency_notices = [
                {"id": n.id, "body": n.body, "at": n.created_at}
                for n in notices.pending(session, officer.agency_id)
            ]
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    return render(
        request,
        "portal/list.html",
        portal_context(
            visitor,
            "requests",
            agency_name=agency_name,
            agency_notices=agency_notices,
            rows=rows,
            page_number=number,
            more=len(found) > PAGE_SIZE,
        ),
    )


@router.get("/portal/requests")
def requests_redirect(visitor: PortalVisitor) -> RedirectResponse:
    """A reload after a refused form lands on the list, not on a 405."""
    visitor.require(Permission.AUTHORITY_REQUEST_READ)
    return RedirectResponse("/portal", status_code=303)


# --- the new-request form ---------------------------------------------------------------------------


def _applicable(container: Container, agency: Agency) -> list[Instrument]:
    now = container.clock()
    return [i for i in container.catalogue if i.applies_in(agency.country, now)]


def _form_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    values: forms.Values | None = None,
    errors: forms.Errors | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    try:
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            visitor.require(Permission.AUTHORITY_REQUEST_SUBMIT)
            agency = officer.agency
            instruments = _applicable(container, agency)
            shown = values or forms.empty_values(
                issuer_kind=agency.kind.value,
                issuer_country=agency.country,
                nonce=secrets.token_urlsafe(24),
            )
            agency_name, agency_country = agency.name, agency.country
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    return render(
        request,
        "portal/new.html",
        portal_context(
            visitor,
            "new",
            agency_name=agency_name,
            agency_country=agency_country,
            labels=forms.LABELS,
            values=shown,
            **forms.fields_context(instruments),
            errors=errors or {},
        ),
        status_code=status,
    )


@router.get("/portal/requests/new")
def new_request_page(request: Request, container: ContainerDep, visitor: PortalVisitor) -> HTMLResponse:
    return _form_page(request, container, visitor)


@dataclass(frozen=True)
class Submitted:
    tracking_number: str
    request_id: str
    created: bool
    document_id: str | None


def _submit(
    container: Container, visitor: Visitor, body: RequestIn, key: str, upload: Upload | None
) -> Submitted:
    """Record the request and its signed document in one transaction: both, or neither."""
    for attempt in (1, 2):
        try:
            with unit_of_work(container.sessions) as session:
                officer = officer_of(session, visitor)
                visitor.require(Permission.AUTHORITY_REQUEST_SUBMIT)
                intake = service.submit(
                    session,
                    container.clock,
                    container.catalogue,
                    officer,
                    body,
                    idempotency_key=key,
                    channel="portal",
                    policy=container.policy,
                )
                document_id = None
                if (
                    intake.created
                    and upload is not None
                    and intake.request.status in service.DOCUMENT_STATUSES
                ):
                    document_id = service.attach_document(
                        session,
                        container.clock,
                        officer,
                        intake.request.tracking_number,
                        filename=upload.filename,
                        content_type=upload.content_type,
                        content=upload.content,
                        max_bytes=container.settings.max_document_bytes,
                    ).id
                return Submitted(
                    intake.request.tracking_number, intake.request.id, intake.created, document_id
                )
        except IntegrityError:
            # A concurrent submission of the same form (a double click) claimed the key: the retry finds it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@router.post("/portal/requests")
def submit_request(
    request: Request, container: ContainerDep, visitor: PortalVisitor, form: PostedForm
) -> Response:
    if refused := refuse_forgery(request, visitor, form):
        return refused
    values = forms.read_values(form)
    nonce = values["nonce"]
    if not isinstance(nonce, str) or not forms.NONCE.match(nonce):
        values["nonce"] = secrets.token_urlsafe(24)
        errors = {forms.GENERAL: "The form was incomplete: check the fields and send it again."}
        return _form_page(request, container, visitor, values, errors, status=422)
    body, errors = forms.build_request(values)
    if body is None:
        return _form_page(request, container, visitor, values, errors, status=422)
    upload = _upload(form, "document", container.settings.max_document_bytes)
    try:
        done = _submit(container, visitor, body, f"portal:{nonce}", upload)
    except DomainError as exc:
        errors = forms.domain_error(exc, container.catalogue, str(values["instrument"]))
        return _form_page(request, container, visitor, values, errors, status=exc.status)
    # Committed: only now is the acknowledgement shown and the events published.
    if done.created:
        container.bus.publish(Subject.REQUEST_RECEIVED, {"request_id": done.request_id})
    if done.document_id is not None:
        container.bus.publish(Subject.DOCUMENT_ATTACHED, {"document_id": done.document_id})
    return RedirectResponse(f"/portal/requests/{done.tracking_number}?created=1", status_code=303)


# --- a request --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    at: datetime
    text: str
    status: str = ""


RECEIVED_THROUGH = {"portal": "the portal", "email": "e-mail", "mailroom": "a letter (the mailroom)"}


def _timeline(events: list[AuditEvent]) -> list[Moment]:
    """What happened to the request, from its audit events; never who on the platform's side did it."""
    moments: list[Moment] = []
    for event in events:
        after = event.data.get("after") or {}
        action = event.action
        if action == AuditAction.REQUEST_RECEIVE:
            channel = RECEIVED_THROUGH.get(str(after.get("channel")), "the API")
            moments.append(Moment(event.occurred_at, f"Received through {channel} and acknowledged"))
        elif action == AuditAction.REQUEST_TRANSITION:
            status = RequestStatus(after["status"])
            moments.append(Moment(event.occurred_at, STATUS_LABELS[status], status.value))
        elif action == AuditAction.DOCUMENT_ATTACH:
            digest = str(after.get("sha256", ""))
            moments.append(Moment(event.occurred_at, f"Signed document attached (SHA-256 {digest[:12]}…)"))
        elif action == AuditAction.CORRESPONDENCE_ADD:
            kind = MESSAGE_KINDS.get(str(after.get("kind")), "Message")
            who = "Your agency" if after.get("direction") == "from_authority" else "The legal team"
            moments.append(Moment(event.occurred_at, f"{who} wrote: {kind.lower()}"))
        elif action == AuditAction.PRODUCTION_BUILD:
            moments.append(Moment(event.occurred_at, "Production package ready for download"))
        elif action == AuditAction.PRODUCTION_DOWNLOAD:
            moments.append(Moment(event.occurred_at, "Production package downloaded"))
    return moments


def _request_context(
    session: Session, container: Container, item: LawfulRequest, now: datetime
) -> dict[str, Any]:
    seen = views.authority_view(session, item)
    messages = [
        {
            "direction": m.direction,
            "kind": MESSAGE_KINDS.get(m.kind, "Message"),
            "body": m.body,
            "at": m.created_at,
            "from_us": m.direction == "from_authority",
        }
        for m in review.correspondence_of(session, item)
    ]
    question = None
    if item.status is RequestStatus.CLARIFICATION_REQUESTED:
        asked = [
            m
            for m in review.correspondence_of(session, item)
            if m.kind == review.CorrespondenceKind.CLARIFICATION_QUESTION.value
        ]
        question = asked[-1].body if asked else None
    production = execution.latest_production(session, item)
    state = monitor.deadline_state(item, now)
    return {
        "item": item,
        "instrument": container.catalogue.get(item.instrument),
        "status_label": STATUS_LABELS[item.status],
        "targets": [(t.type.value, t.value) for t in item.targets],
        "documents": list(item.documents),
        "deadline": state.value if state else "",
        "deadline_label": DEADLINE_LABELS[state] if state else "",
        "countdown": countdown(item.due_at, now) if item.due_at and state else "",
        "outcome": seen["outcome"],
        "grounds": seen["grounds"],
        "messages": messages,
        "question": question,
        "production": production,
        "production_expired": production is not None and now >= production.expires_at,
        "timeline": _timeline(audit.events_for(session, "lawful_request", item.id)),
        "can_write": item.status in OPEN_STATUSES or item.status is RequestStatus.ANSWERED,
        "can_attach": item.status in OPEN_STATUSES,
        "can_withdraw": (item.status, Transition.WITHDRAW) in TRANSITIONS,
    }


def _request_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    tracking_number: str,
    *,
    flash: str | None = None,
    values: dict[str, str] | None = None,
    errors: forms.Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    now = container.clock()
    try:
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            try:
                item = service.get_for_agency(session, tracking_number, officer.agency_id)
            except NotFound:  # the number an e-mail's acknowledgement gave, before triage records it
                mailed = triage.received_for_agency(session, tracking_number, officer.agency_id)
                if mailed is None:
                    raise
                return render(
                    request, "portal/received.html", portal_context(visitor, "requests", message=mailed)
                )
            if flash == "created":
                flash = f"Acknowledged: tracking number {item.tracking_number}" + (
                    f", due {utc(item.due_at)}." if item.due_at else "."
                )
                instrument = container.catalogue.get(item.instrument)
                if RequestField.ORDER_DOCUMENT in instrument.required_fields and not item.documents:
                    flash += f" Attach the signed order (PDF): a {instrument.title} requires it."
            context = _request_context(session, container, item, now)
            # Rendered inside the unit of work: the page reads the request's relationships.
            return render(
                request,
                "portal/request.html",
                portal_context(
                    visitor,
                    "requests",
                    flash=flash,
                    values=values or {},
                    errors=errors or {},
                    **context,
                ),
                status_code=status,
            )
    except DomainError as exc:
        return fail_page(request, visitor, exc)


@router.get("/portal/requests/{tracking_number}")
def request_page(
    tracking_number: str,
    request: Request,
    container: ContainerDep,
    visitor: PortalVisitor,
    created: str = "",
    done: str = "",
) -> HTMLResponse:
    flash = "created" if created == "1" else FLASHES.get(done)
    return _request_page(request, container, visitor, tracking_number, flash=flash)


def _after(tracking_number: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/portal/requests/{tracking_number}?done={done}", status_code=303)


@router.post("/portal/requests/{tracking_number}/correspondence")
def write(
    tracking_number: str, request: Request, container: ContainerDep, visitor: PortalVisitor, form: PostedForm
) -> Response:
    if refused := refuse_forgery(request, visitor, form):
        return refused
    body = _text(form, "body", MAX_MESSAGE_CHARS)
    values = {"body": body}
    try:
        if not body.strip():
            raise InvalidInput("Write a message first.", field="body")
        if len(body) > MAX_MESSAGE_CHARS:
            raise InvalidInput(f"A message has at most {MAX_MESSAGE_CHARS:,} characters.", field="body")
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            visitor.require(Permission.AUTHORITY_REQUEST_SUBMIT)
            item = service.get_for_agency(session, tracking_number, officer.agency_id)
            answering = item.status is RequestStatus.CLARIFICATION_REQUESTED
            review.officer_writes(
                session, container.clock, officer, item, container.catalogue.get(item.instrument), body
            )
            tracking = item.tracking_number
    except NotFound as exc:
        return fail_page(request, visitor, exc)
    except DomainError as exc:
        errors = {"body": exc.message[:1].upper() + exc.message[1:]}
        return _request_page(
            request, container, visitor, tracking_number, values=values, errors=errors, status=exc.status
        )
    return _after(tracking, "answered" if answering else "sent")


@router.post("/portal/requests/{tracking_number}/documents")
def attach(
    tracking_number: str, request: Request, container: ContainerDep, visitor: PortalVisitor, form: PostedForm
) -> Response:
    if refused := refuse_forgery(request, visitor, form):
        return refused
    limit = container.settings.max_document_bytes
    upload = _upload(form, "document", limit)
    try:
        if upload is None:
            raise InvalidInput("Choose the signed document (PDF) to attach.", field="document")
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            visitor.require(Permission.AUTHORITY_REQUEST_SUBMIT)
            item = service.get_for_agency(session, tracking_number, officer.agency_id)
            document = service.attach_document(
                session,
                container.clock,
                officer,
                item.tracking_number,
                filename=upload.filename,
                content_type=upload.content_type,
                content=upload.content,
                max_bytes=limit,
            )
            document_id, tracking = document.id, item.tracking_number
    except NotFound as exc:
        return fail_page(request, visitor, exc)
    except DomainError as exc:
        errors = {"document": exc.message[:1].upper() + exc.message[1:]}
        return _request_page(request, container, visitor, tracking_number, errors=errors, status=exc.status)
    container.bus.publish(Subject.DOCUMENT_ATTACHED, {"document_id": document_id})
    return _after(tracking, "attached")


@router.post("/portal/requests/{tracking_number}/withdraw")
def withdraw(
    tracking_number: str, request: Request, container: ContainerDep, visitor: PortalVisitor, form: PostedForm
) -> Response:
    if refused := refuse_forgery(request, visitor, form):
        return refused
    reason = _text(form, "reason", MAX_REASON_CHARS).strip()
    confirmed = isinstance(form.get("confirm"), str)
    values = {"reason": reason, "confirm": "on" if confirmed else ""}
    try:
        if not reason:
            raise InvalidInput("Give the reason for the withdrawal.", field="reason")
        if len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"The reason has at most {MAX_REASON_CHARS:,} characters.", field="reason")
        if not confirmed:
            raise InvalidInput("Tick the box to confirm the withdrawal.", field="confirm")
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            visitor.require(Permission.AUTHORITY_REQUEST_SUBMIT)
            item = service.get_for_agency(session, tracking_number, officer.agency_id)
            review.withdraw(session, container.clock, officer, item, reason)
            # As the API does: what was preserved for this request is released (removed content stays kept).
            for hold in execution.holds_of(session, item):
                if hold.released_at is None and hold.reason != "removed_content":
                    execution.release_hold(
                        session,
                        container.clock,
                        review.officer_actor(officer),
                        hold.id,
                        container.connector,
                        "the request was withdrawn",
                    )
            tracking = item.tracking_number
    except NotFound as exc:
        return fail_page(request, visitor, exc)
    except DomainError as exc:
        field = exc.field if exc.field in ("reason", "confirm") else "reason"
        errors = {field: exc.message[:1].upper() + exc.message[1:]}
        return _request_page(
            request, container, visitor, tracking_number, values=values, errors=errors, status=exc.status
        )
    return _after(tracking, "withdrawn")


@router.get("/portal/requests/{tracking_number}/production")
def download(
    tracking_number: str, request: Request, container: ContainerDep, visitor: PortalVisitor
) -> Response:
    try:
        with unit_of_work(container.sessions) as session:
            officer = officer_of(session, visitor)
            item = service.get_for_agency(session, tracking_number, officer.agency_id)
            production = execution.download_production(session, container.clock, officer, item)
            content, digest = production.content, production.sha256
            name = f"{item.tracking_number}.tar.age"
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": digest},
    )
