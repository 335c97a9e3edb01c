"""The console's face of triage (issue 13): one message of the mailroom's queue, and what a legal reviewer
decides about it (``trustdesk.intake.triage``).

``GET /console/mailroom/{message_id}`` (``staff:request:read``) shows the message: its authenticity verdict
and the reasons for it, what was read from it, its attachments, the on-call pages sent about it, and what
became of it. Those with ``staff:request:decide`` get three forms:

- **record as a request** (``POST .../record``): the portal's own request fields
  (``portal/_request_fields.html``), prefilled from what was read (`prefill`), and the officer who sent it
  (an officer of the agency the mail is authenticated as; any officer when it is not, and the request is then
  held for a callback). After the commit ``REQUEST_RECEIVED`` is published, exactly as the portal does, so
  that the preservation on receipt and the on-call page run;
- **attach to a request** (``POST .../attach``): a message from the authority in that request's file;
- **not a request** (``POST .../reject``): with a reason.

Every POST checks the session's CSRF token and the permission first; a refused action shows the page again
with the reason at its field, and nothing is changed (the unit of work rolls back).
"""

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from trustdesk.app import Container
from trustdesk.authorities.models import Agency, Officer
from trustdesk.bus.protocol import Subject
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput, NotFound
from trustdesk.intake import mailroom, store, triage
from trustdesk.intake.models import InboundMessage
from trustdesk.lawful.catalogue import Catalogue, Instrument
from trustdesk.lawful.models import LawfulRequest, RequestDocument
from trustdesk.oncall import paging
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.vocabulary import TargetType
from trustdesk.web.browser import ConsoleVisitor, Visitor, page
from trustdesk.web.console.common import error_page, frame, refused
from trustdesk.web.console.oncall import page_rows
from trustdesk.web.deps import ContainerDep
from trustdesk.web.portal import forms

__all__ = ["prefill", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_FIELDS: Final = 200
MAX_TRACKING: Final = 64
OFFICER = "officer_id"
LABELS: Final[Mapping[str, str]] = {
    **forms.LABELS,
    "reference": "The authority's reference",
    OFFICER: "Sent by",
}
"""The portal's labels, in the reviewer's words where the portal speaks to the officer."""
DONE: Final = {"rejected": "Marked as not a request: the message stays kept, with your reason."}
STATUS_WORDS: Final = {
    store.TRIAGE: "waiting in triage",
    triage.ACCEPTED: "recorded as a request",
    triage.ATTACHED: "attached to a request",
    triage.REJECTED: "not a request",
}
PREFILL_TARGETS: Final = (
    ("phone_numbers", TargetType.PHONE),
    ("usernames", TargetType.USERNAME),
    ("links", TargetType.CONTENT_URL),
)
"""What was read from a message -> the target lines of the portal's format (``type:value``)."""


async def posted_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form (URL-encoded; no file: the message's own PDFs are attached)."""
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        yield form


PostedForm = Annotated[FormData, Depends(posted_form)]


def _field(form: FormData, name: str, limit: int = forms.MAX_FIELD_CHARS) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


# --- prefills ---------------------------------------------------------------------------------------------


def prefill(extracted: Mapping[str, Any], catalogue: Catalogue, agency: Agency | None) -> forms.Values:
    """The request form as triage read the message: the instrument when it names exactly one the catalogue
    knows, its first reference, its phone numbers, user names and links as targets, the emergency box, and
    the attributed agency's country and kind as the issuing authority's. A reviewer confirms or corrects."""
    values = forms.empty_values(
        issuer_kind="" if agency is None else agency.kind.value,
        issuer_country="" if agency is None else agency.country,
        nonce="",
    )
    named = list(dict.fromkeys(str(code) for code in extracted.get("instruments") or []))
    if len(named) == 1 and named[0] in catalogue:
        values["instrument"] = named[0]
    references = extracted.get("references") or []
    if references:
        values["reference"] = str(references[0])
    lines = [f"{kind.value}:{value}" for key, kind in PREFILL_TARGETS for value in extracted.get(key) or []]
    values["targets"] = "\n".join(lines)
    values["emergency"] = "on" if extracted.get("emergency") else ""
    return values


# --- the page ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordForm:
    """What the record form shows again: the values typed, the errors at their fields, the officer chosen."""

    values: forms.Values
    errors: forms.Errors
    officer_id: str


def _officers(session: Session, agency_id: str | None) -> list[Officer]:
    """The active officers of the attributed agency, or of every agency when the message is not attributed."""
    query = select(Officer).join(Agency, Agency.id == Officer.agency_id).where(Officer.active.is_(True))
    if agency_id is not None:
        query = query.where(Officer.agency_id == agency_id)
    return list(session.scalars(query.order_by(Agency.name, Officer.name, Officer.email)))


def _officer_groups(officers: list[Officer]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for officer in officers:
        agency = officer.agency
        group = groups.setdefault(
            agency.id,
            {
                "label": f"{agency.name} ({agency.country})"
                + ("" if agency.verified else " — not verified: its requests are refused"),
                "officers": [],
            },
        )
        group["officers"].append({"id": officer.id, "name": officer.name, "email": officer.email})
    return list(groups.values())


def _chosen_officer(message: InboundMessage, officers: list[Officer]) -> str:
    """The officer whose registered address sent an attributed mail, if one did."""
    sender = (message.sender or "").strip().lower()
    if message.agency_id is None or not sender:
        return ""
    return next((o.id for o in officers if o.email.lower() == sender), "")


def _instruments(catalogue: Catalogue, countries: set[str], at: datetime) -> list[Instrument]:
    """The instruments an authority of these countries can use on the day the message was received."""
    if not countries:
        return list(catalogue)
    return [i for i in catalogue if any(i.applies_in(country, at) for country in countries)]


def _message_view(session: Session, message: InboundMessage) -> dict[str, Any]:
    verdict = message.authenticity or {}
    agency = session.get(Agency, message.agency_id) if message.agency_id else None
    request = session.get(LawfulRequest, message.request_id) if message.request_id else None
    decided_by = session.get(StaffUser, message.decided_by) if message.decided_by else None
    return {
        "id": message.id,
        "channel": message.channel,
        "status": message.status,
        "status_words": STATUS_WORDS.get(message.status, message.status),
        "in_triage": message.status == store.TRIAGE,
        "received_at": message.received_at,
        "created_at": message.created_at,
        "sender": message.sender,
        "recipient": message.recipient,
        "subject": message.subject,
        "message_id": message.message_id,
        "sha256": message.sha256,
        "verdict": verdict,
        "agency": agency.name if agency else None,
        "extracted": message.extracted or {},
        "note": message.note,
        "tracking_number": message.tracking_number,
        "request_tracking_number": request.tracking_number if request else None,
        "decided_by": decided_by.name if decided_by else None,
        "decided_at": message.decided_at,
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": len(a.content),
             "problem": a.problem, "sha256": a.sha256}
            for a in mailroom.attachments_of(session, message.id)
        ],
    }  # fmt: skip


def message_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    message_id: str,
    *,
    record: RecordForm | None = None,
    action: str | None = None,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
    flash: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The message's page; with ``record``, the request form as it was sent, its errors at the fields; with
    ``action`` and ``error``, the attach or reject form's refusal."""
    with unit_of_work(container.sessions) as session:
        message = session.get(InboundMessage, message_id)
        if message is None:
            return error_page(
                request, visitor, NotFound(f"no inbound message {message_id}", code="inbound_not_found")
            )
        agency = session.get(Agency, message.agency_id) if message.agency_id else None
        officers = _officers(session, message.agency_id)
        countries = {agency.country} if agency else {o.agency.country for o in officers}
        instruments = _instruments(container.catalogue, countries, message.received_at)
        shown = record or RecordForm(
            prefill(message.extracted or {}, container.catalogue, agency),
            {},
            _chosen_officer(message, officers),
        )
        context = frame(
            visitor,
            "mailroom",
            message=_message_view(session, message),
            pages=page_rows(session, paging.pages_of_inbound(session, message.id), visitor),
            may_decide=visitor.principal.can(Permission.STAFF_REQUEST_DECIDE),
            officer_groups=_officer_groups(officers),
            officer_id=shown.officer_id,
            attributed=agency is not None,
            agency_country=agency.country if agency else "",
            labels=LABELS,
            humanize=forms.humanize,
            **forms.fields_context(instruments),
            values=shown.values,
            errors=shown.errors,
            action=action,
            error=error,
            form=form or {},
            flash=flash,
        )
        return page(request, "console/inbound.html", context, status_code=status)


@router.get("/mailroom/{message_id}")
def show(
    request: Request, message_id: str, container: ContainerDep, visitor: ConsoleVisitor, done: str = ""
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    return message_page(request, container, visitor, message_id, flash=DONE.get(done))


# --- record it as a request -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    request_id: str
    tracking_number: str
    document_ids: list[str]
    refused_on_receipt: bool
    """Refused at once (the instrument does not apply there): already answered, nothing to announce."""


def _record(container: Container, visitor: Visitor, message_id: str, body: Any, officer_id: str) -> Recorded:
    with unit_of_work(container.sessions) as session:
        user = session.get_one(StaffUser, visitor.principal.id)
        lawful = triage.accept(
            session, container.clock, user, message_id, body, officer_id=officer_id,
            catalogue=container.catalogue, policy=container.policy, replies=container.arrivals.replies,
            max_document_bytes=container.settings.max_document_bytes,
        )  # fmt: skip
        documents = session.scalars(
            select(RequestDocument.id)
            .where(RequestDocument.request_id == lawful.id)
            .order_by(RequestDocument.uploaded_at, RequestDocument.id)
        )
        return Recorded(lawful.id, lawful.tracking_number, list(documents), lawful.receipt_ground is not None)


def _record_errors(exc: DomainError, catalogue: Catalogue, instrument: str) -> forms.Errors:
    """A service's refusal at the field of the form it names."""
    if exc.field == OFFICER:
        return {OFFICER: exc.message[:1].upper() + exc.message[1:] + "."}
    return forms.domain_error(exc, catalogue, instrument)


@router.post("/mailroom/{message_id}/record")
def record(
    request: Request, message_id: str, container: ContainerDep, visitor: ConsoleVisitor, form: PostedForm
) -> Response:
    if stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, form.get("csrf_token"), post=True):
        return stop
    values = forms.read_values(form)
    officer_id = _field(form, OFFICER, 64).strip()
    body, errors = forms.build_request(values)
    if not officer_id:
        errors[OFFICER] = "Choose the officer who sent it."
    if body is None or errors:
        shown = RecordForm(values, errors, officer_id)
        return message_page(
            request, container, visitor, message_id, record=shown, action="record", status=422
        )
    try:
        done = _record(container, visitor, message_id, body, officer_id)
    except DomainError as exc:
        if exc.code == "inbound_not_found":
            return error_page(request, visitor, exc)
        errors = _record_errors(exc, container.catalogue, str(values["instrument"]))
        shown = RecordForm(values, errors, officer_id)
        return message_page(
            request, container, visitor, message_id, record=shown, action="record", status=exc.status
        )
    # Committed: only now are the events published (the preservation on receipt, the on-call page).
    if not done.refused_on_receipt:
        container.bus.publish(Subject.REQUEST_RECEIVED, {"request_id": done.request_id})
    for document_id in done.document_ids:
        container.bus.publish(Subject.DOCUMENT_ATTACHED, {"document_id": document_id})
    return RedirectResponse(f"/console/requests/{done.tracking_number}?done=recorded", status_code=303)


# --- attach it to a request, or reject it -----------------------------------------------------------------


def _refusal(
    request: Request,
    container: Container,
    visitor: Visitor,
    message_id: str,
    exc: DomainError,
    action: str,
    form: dict[str, str],
) -> Response:
    if exc.code == "inbound_not_found":
        return error_page(request, visitor, exc)
    return message_page(
        request, container, visitor, message_id, action=action, error=exc, form=form, status=exc.status
    )


@router.post("/mailroom/{message_id}/attach")
def attach(
    request: Request, message_id: str, container: ContainerDep, visitor: ConsoleVisitor, form: PostedForm
) -> Response:
    if stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, form.get("csrf_token"), post=True):
        return stop
    tracking_number = _field(form, "tracking_number", MAX_TRACKING).strip()
    try:
        if not tracking_number:
            raise InvalidInput("give the tracking number of the request", field="tracking_number")
        with unit_of_work(container.sessions) as session:
            user = session.get_one(StaffUser, visitor.principal.id)
            found = triage.attach(
                session, container.clock, user, message_id, tracking_number, container.catalogue
            )
            canonical = found.tracking_number
    except DomainError as exc:
        values = {"tracking_number": tracking_number}
        return _refusal(request, container, visitor, message_id, exc, "attach", values)
    return RedirectResponse(f"/console/requests/{canonical}?done=mail_attached", status_code=303)


@router.post("/mailroom/{message_id}/reject")
def reject(
    request: Request, message_id: str, container: ContainerDep, visitor: ConsoleVisitor, form: PostedForm
) -> Response:
    if stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, form.get("csrf_token"), post=True):
        return stop
    reason = _field(form, "reason", triage.MAX_REASON + 1)
    try:
        with unit_of_work(container.sessions) as session:
            user = session.get_one(StaffUser, visitor.principal.id)
            triage.reject(
                session, container.clock, user, message_id, reason, replies=container.arrivals.replies
            )
    except DomainError as exc:
        return _refusal(request, container, visitor, message_id, exc, "reject", {"reason": reason})
    return RedirectResponse(f"/console/mailroom/{message_id}?done=rejected", status_code=303)
