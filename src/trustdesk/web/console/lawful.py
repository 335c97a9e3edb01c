"""The console's lawful-request pages: the queue (by time left to the legal deadline) and one request with its
recommendation (its actions: ``lawful_actions``)."""

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit import service as audit
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import ActorKind, AuditAction
from trustdesk.authorities import notices
from trustdesk.authorities.models import Agency
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, NotFound
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful import documents, enforcing, monitor, review, service, views
from trustdesk.lawful.models import LawfulRequest, LegalWindow
from trustdesk.lawful.package import PackageError
from trustdesk.lawful.vocabulary import WindowKind
from trustdesk.lawful.workflow import OPEN_STATUSES, RequestStatus
from trustdesk.platform.protocol import PlatformError
from trustdesk.staff import service as staff
from trustdesk.staff.roles import Permission
from trustdesk.vocabulary import DataCategory, InstrumentCode
from trustdesk.web.browser import ConsoleVisitor, Visitor, page
from trustdesk.web.console.common import (
    FIGURE_WINDOW,
    QUEUE_LIMIT,
    error_page,
    failure,
    flash_for,
    frame,
    label,
    refused,
    time_left,
    when,
)
from trustdesk.web.console.preview import disclosure_preview
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)

# --- the queue ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    tracking_number: str
    reference: str
    instrument: str
    agency: str
    country: str
    status: str
    emergency: bool
    state: str
    due_at: datetime | None
    time_left_seconds: int | None
    target_at: datetime | None = None
    """The desk's internal target (also stopped by the desk's own questions), when it differs."""
    configurable: bool = False
    """The catalogue's deadline is configurable: ``due_at`` is the platform's target, not the law's."""

    @property
    def countdown(self) -> str:
        return time_left(self.time_left_seconds)


def queue_rows(session: Session, container: Container) -> list[QueueRow]:
    """Open requests by time left to the legal deadline (overdue first; an emergency wins a tie), paused
    last: the monitor's order (`monitor.sla`). Emergencies keep their badge but not the top."""
    rows = monitor.sla(session, container.clock, limit=QUEUE_LIMIT)
    about = {
        tracking: (reference, name, country, target_at)
        for tracking, reference, name, country, target_at in session.execute(
            select(
                LawfulRequest.tracking_number,
                LawfulRequest.reference,
                Agency.name,
                Agency.country,
                LawfulRequest.target_at,
            )
            .join(Agency, Agency.id == LawfulRequest.agency_id)
            .where(LawfulRequest.tracking_number.in_([row.tracking_number for row in rows]))
        )
    }
    return [
        QueueRow(
            tracking_number=row.tracking_number,
            reference=about[row.tracking_number][0],
            instrument=row.instrument,
            agency=about[row.tracking_number][1],
            country=about[row.tracking_number][2],
            status=row.status,
            emergency=row.emergency,
            state=row.state,
            due_at=row.due_at,
            time_left_seconds=row.time_left_seconds,
            target_at=None if about[row.tracking_number][3] == row.due_at else about[row.tracking_number][3],
            configurable=container.catalogue.get(InstrumentCode(row.instrument)).deadline.configurable,
        )
        for row in rows
        if row.tracking_number in about
    ]


def median_seconds(pairs: Sequence[tuple[datetime, datetime]]) -> float | None:
    if not pairs:
        return None
    return statistics.median((end - start).total_seconds() for start, end in pairs)


def figures(session: Session, container: Container, queue: Sequence[QueueRow]) -> dict[str, Any]:
    """The desk's figures. Medians are over requests received in the last 90 days, from the records:
    acknowledgement = the receipt's audit event (same transaction), answer = ``answered_at``."""
    since = container.clock() - FIGURE_WINDOW
    open_count = session.scalar(
        select(func.count()).select_from(LawfulRequest).where(LawfulRequest.status.in_(OPEN_STATUSES))
    )
    acknowledged = session.execute(
        select(LawfulRequest.received_at, AuditEvent.occurred_at)
        .join(
            AuditEvent,
            and_(
                AuditEvent.subject_id == LawfulRequest.id,
                AuditEvent.subject_type == "lawful_request",
                AuditEvent.action == AuditAction.REQUEST_RECEIVE.value,
            ),
        )
        .where(LawfulRequest.received_at >= since)
    ).all()
    answered = session.execute(
        select(LawfulRequest.received_at, LawfulRequest.answered_at).where(
            LawfulRequest.received_at >= since, LawfulRequest.answered_at.is_not(None)
        )
    ).all()
    consistency = review.consistency(session)
    return {
        "open": open_count or 0,
        "emergencies": sum(1 for row in queue if row.emergency),
        "at_risk": sum(1 for row in queue if row.state == monitor.SlaState.AT_RISK),
        "overdue": sum(1 for row in queue if row.state == monitor.SlaState.OVERDUE),
        "acknowledge": median_seconds([(r, a) for r, a in acknowledged]),
        "acknowledged": len(acknowledged),
        "answer": median_seconds([(r, a) for r, a in answered if a is not None]),
        "answered": len(answered),
        "decisions": consistency["decisions"],
        "deviating": consistency["deviating"],
        "deviation_share": consistency["deviation_share"],
    }


@router.get("")
def queue(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    with unit_of_work(container.sessions) as session:
        rows = queue_rows(session, container)
        numbers = figures(session, container, rows)
    return page(
        request,
        "console/queue.html",
        frame(visitor, "queue", rows=rows, figures=numbers, limit=QUEUE_LIMIT, flash=flash_for(done)),
    )


# --- one request ---------------------------------------------------------------------------------------


NOISE = frozenset(
    {
        "agency_id",
        "api_key_id",
        "catalogue_version",
        "correspondence_id",
        "decision_id",
        "notice_id",
        "platform_notice_id",
        "policy_version",
        "production_id",
        "removal_id",
    }
)
"""Audit data that identifies rows for machines; the timeline leaves it out (the log keeps it)."""
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def shown(value: object, names: dict[str, str]) -> str:
    """One audit value in words: names for staff ids, readable times, digests shortened."""
    if isinstance(value, list):
        return ", ".join(shown(item, names) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if value in names:
            return names[value]
        if HEX_DIGEST.fullmatch(value):
            return value[:12] + "…"
        if TIMESTAMP.match(value):
            return when(value)
        return label(value) if value.isidentifier() and value.islower() else value
    return str(value)


def timeline(session: Session, lawful: LawfulRequest, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every audit event about the request, oldest first, with who acted, in words."""
    events = []
    for event in audit.events_for(session, "lawful_request", lawful.id):
        data = dict(event.data or {})
        before, after = data.pop("before", None) or {}, data.pop("after", None) or {}
        if event.action == AuditAction.REQUEST_TRANSITION.value:
            detail = f"{label(before.get('status'))} → {label(after.get('status'))}"
        else:
            detail = "; ".join(
                f"{label(key)}: {shown(value, names)}"
                for key, value in (data | after).items()
                if key not in NOISE and value not in (None, "", [])
            )
        if event.actor_kind == ActorKind.OFFICER.value:
            who = f"officer of {lawful.agency.name}"
        elif event.actor_kind == ActorKind.STAFF.value:
            who = names.get(event.actor_id or "", "staff")
        else:
            who = event.actor_kind
        events.append(
            {
                "at": event.occurred_at,
                "action": event.action,
                "actor_kind": event.actor_kind,
                "who": who,
                "detail": detail[:400],
            }
        )
    return events


WINDOW_WORDS = {
    WindowKind.VALIDATION: "validation of an emergency order by a judge or prosecutor (48 hours, Art. 4(5))",
    WindowKind.OBJECTION: "the enforcing authority may object after an emergency delivery (96 hours)",
    WindowKind.ENFORCING_REVIEW: "the enforcing authority may raise grounds for refusal (10 days)",
    WindowKind.SCRUTINY_REQUEST: "scrutiny of a cross-border removal order may be requested (48 hours)",
    WindowKind.SCRUTINY_DECISION: "the authority decides on the scrutiny (72 hours)",
    WindowKind.COMPLAINT: "a content provider's complaint about a removal is answered (2 weeks)",
    WindowKind.CONFIDENTIALITY: "the content provider is not yet told of the removal (6 weeks, +6 once)",
    WindowKind.RETENTION: "removed content and its data are kept (6 calendar months)",
}
"""Each legal window in words a reviewer understands (the periods are the law's)."""


def legal_windows(session: Session, lawful: LawfulRequest, now: datetime) -> list[dict[str, Any]]:
    """The request's legal windows, oldest first: what each is, when it is due, its state and outcome."""
    rows = session.scalars(
        select(LegalWindow)
        .where(LegalWindow.request_id == lawful.id)
        .order_by(LegalWindow.opened_at, LegalWindow.id)
    )
    shown = []
    for window in rows:
        if window.closed_at is not None:
            state = "closed"
        elif window.due_at is not None and window.due_at < now:
            state = "overdue"
        else:
            state = "open"
        shown.append(
            {
                "kind": window.kind.value,
                "words": WINDOW_WORDS.get(window.kind, label(window.kind.value)),
                "opened_at": window.opened_at,
                "due_at": window.due_at,
                "closed_at": window.closed_at,
                "state": state,
                "outcome": window.outcome,
                "note": window.note,
            }
        )
    return shown


def request_context(
    session: Session, container: Container, visitor: Visitor, tracking_number: str
) -> dict[str, Any]:
    lawful = service.get_by_tracking_number(session, tracking_number)
    instrument = container.catalogue.get(lawful.instrument)
    seen = views.staff_view(session, lawful, container.catalogue, container.policy, container.connector)
    decision = review.current_decision(session, lawful)
    names = {user.id: user.name for user in staff.list_users(session)}
    principal = visitor.principal
    status = lawful.status
    now = container.clock()

    can_decide = principal.can(Permission.STAFF_REQUEST_DECIDE)
    can_approve = principal.can(Permission.STAFF_REQUEST_APPROVE)
    approve_blocker = None
    if status is RequestStatus.AWAITING_APPROVAL:
        if not can_approve:
            approve_blocker = (
                "Approving needs a legal approver (staff:request:approve); your roles do not grant it."
            )
        elif decision is not None and decision.decided_by == principal.id:
            approve_blocker = (
                "You recorded this decision. Four eyes: a different legal approver must approve or reject it."
            )

    preview, preview_error = None, None
    if status is RequestStatus.AWAITING_APPROVAL and decision is not None and can_approve:
        try:
            preview = disclosure_preview(lawful, decision, container.connector, container.execution)
        except (PlatformError, PackageError) as exc:
            preview_error = f"The preview could not be built: {failure(exc).message}"

    delivery = enforcing.delivery_waits_until(session, lawful) if status is RequestStatus.WAITING else None
    recipient_change = (
        notices.last_recipient_change(session, lawful.agency)
        if status is RequestStatus.AWAITING_APPROVAL
        else None
    )
    recommendation = seen["recommendation"]
    return {
        "lawful": lawful,
        "instrument": instrument,
        "windows": legal_windows(session, lawful, now),
        "recommendation": recommendation,
        "decision": seen["decision"],
        "correspondence": seen["correspondence"],
        "production": seen["production"],
        "holds": seen["holds"],
        "removals": seen["removals"],
        "user_notices": seen["user_notices"],
        "verification": seen["verification"],
        "names": names,
        "state": (state.value if (state := monitor.deadline_state(lawful, now)) else None),
        "left": time_left(
            None if lawful.due_at is None else deadlines.time_left(lawful.due_at, now) // timedelta(seconds=1)
        ),
        "categories": [c.value for c in DataCategory if c.value in lawful.data_categories],
        "outcomes": [o.value for o in review.DecisionOutcome],
        "can_decide": can_decide,
        "can_approve": can_approve,
        "can_audit": principal.can(Permission.STAFF_AUDIT_READ),
        "approve_blocker": approve_blocker,
        "preview": preview,
        "preview_error": preview_error,
        "delivery": delivery,
        "opened": documents.opened_by(session, lawful, principal.id),
        "recipient_change": recipient_change,
        "events": timeline(session, lawful, names) if principal.can(Permission.STAFF_AUDIT_READ) else [],
    }


def request_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    tracking_number: str,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    action: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    try:
        with unit_of_work(container.sessions) as session:
            context = request_context(session, container, visitor, tracking_number)
            context.update(flash=flash, error=error, action=action, form=form or {})
            return page(
                request,
                "console/request.html",
                frame(visitor, "queue", **context),
                status_code=error.status if error else 200,
            )
    except NotFound as exc:
        return error_page(request, visitor, exc)
    except PlatformError as exc:
        return error_page(request, visitor, failure(exc))


@router.get("/requests/{tracking_number}")
def show(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    done: str | None = None,
) -> HTMLResponse:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    return request_page(request, container, visitor, tracking_number, flash=flash_for(done))
