"""The enforcing authority and the validating authority of an EPOC (Regulation (EU) 2023/1543 Arts 4, 8,
10, 12): what they answer, and what the desk does with it.

- Grounds for refusal raised before delivery (Art. 12): nothing is delivered; the request is refused and
  the issuing authority told.
- "No grounds" early (Art. 10(2)): the delivery no longer waits for the end of the 10 days.
- An objection within 96 hours of an emergency delivery (Art. 10(4)): the data must not be used.
- An emergency order issued without validation (Art. 4(5)): the validation follows within 48 hours; a
  refused validation stops the use of the data.

Every function changes one request inside the caller's transaction and leaves audit events.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.models import LawfulRequest, LegalWindow, Production
from trustdesk.lawful.review import CorrespondenceKind, correspond, transition
from trustdesk.lawful.vocabulary import EnforcingAnswer, EnforcingGround, ValidationStatus, WindowKind
from trustdesk.lawful.workflow import RequestStatus, Transition
from trustdesk.vocabulary import IssuerKind

__all__ = [
    "OBJECTION_WINDOW",
    "delivery_waits_until",
    "end_wait",
    "open_objection_window",
    "protective_end",
    "record_enforcing_answer",
    "record_validation",
    "windows_of",
]

OBJECTION_WINDOW = timedelta(hours=96)
"""Art. 10(4), used when the catalogue gives no ``objection_window``."""
UTC_ZONE = ZoneInfo("UTC")


def protective_end(start: datetime, period: timedelta, zone: ZoneInfo | None = None) -> datetime:
    """The end of a period protecting someone else's right to object (Reg. 1182/71): the lawful clock's
    ``protective_period_end``; never earlier than the exact elapsed time."""
    return max(deadlines.protective_period_end(start, period, zone or UTC_ZONE), start + period)


def windows_of(session: Session, request: LawfulRequest, kind: WindowKind) -> list[LegalWindow]:
    return list(
        session.scalars(
            select(LegalWindow)
            .where(LegalWindow.request_id == request.id, LegalWindow.kind == kind)
            .order_by(LegalWindow.opened_at, LegalWindow.id)
        )
    )


def delivery_waits_until(session: Session, request: LawfulRequest) -> datetime | None:
    """The end of the open window in which the notified enforcing authority may still raise grounds for
    refusal (Arts 10(2), 12): no delivery before it. None when nothing waits."""
    for window in windows_of(session, request, WindowKind.ENFORCING_REVIEW):
        if window.closed_at is None:
            return window.due_at
    return None


def end_wait(session: Session, request: LawfulRequest, at: datetime) -> None:
    """The enforcing authority's 10 days are over: its window closes as elapsed."""
    _close_windows(session, request, WindowKind.ENFORCING_REVIEW, at, "elapsed")


def _close_windows(
    session: Session, request: LawfulRequest, kind: WindowKind, at: datetime, outcome: str
) -> None:
    for window in windows_of(session, request, kind):
        if window.closed_at is None:
            window.closed_at, window.outcome = at, outcome


def _stop_use(session: Session, request: LawfulRequest, at: datetime, reason: str) -> None:
    """The data produced must not be used: recorded, and every production link expires now."""
    request.use_stopped_at, request.use_stopped_reason = at, reason
    for production in session.scalars(select(Production).where(Production.request_id == request.id)):
        production.expires_at = min(production.expires_at, at)


def open_objection_window(
    session: Session,
    request: LawfulRequest,
    delivered_at: datetime,
    *,
    period: timedelta | None = None,
    zone: ZoneInfo | None = None,
) -> LegalWindow | None:
    """After an emergency delivery whose enforcing authority was notified, it may object within 96 hours
    (Art. 10(4)); for the executor to call on delivery. None when nothing is to be watched."""
    if not (request.emergency and request.enforcing_notification):
        return None
    if windows_of(session, request, WindowKind.OBJECTION):
        return None
    window = LegalWindow(
        request_id=request.id,
        kind=WindowKind.OBJECTION,
        opened_at=delivered_at,
        due_at=protective_end(delivered_at, period or OBJECTION_WINDOW, zone),
    )
    session.add(window)
    session.flush()
    return window


_GROUND_TEXT = {
    EnforcingGround.IMMUNITY_OR_PRIVILEGE: "the data is protected by immunities or privileges",
    EnforcingGround.PRESS_FREEDOM: "the data is covered by rules on freedom of the press and expression",
    EnforcingGround.FUNDAMENTAL_RIGHTS_BREACH: "execution would manifestly breach a fundamental right",
    EnforcingGround.NE_BIS_IN_IDEM: "execution would be contrary to the principle of ne bis in idem",
    EnforcingGround.NO_DOUBLE_CRIMINALITY: "the conduct is not an offence under the law of the "
    "enforcing State",
}


def record_enforcing_answer(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    answer: EnforcingAnswer | str,
    *,
    ground: EnforcingGround | str | None = None,
    note: str | None = None,
) -> None:
    """Record what the notified enforcing authority said (Arts 10, 12).

    GROUNDS_RAISED (needs ``ground``): nothing is delivered, the request is refused and the issuing
    authority told. NO_GROUNDS: the delivery no longer waits. OBJECTED (after an emergency delivery): the
    data must not be used; the production link expires and the issuing authority is told."""
    try:
        answer = EnforcingAnswer(answer)
        ground = EnforcingGround(ground) if ground is not None else None
    except ValueError as exc:
        raise InvalidInput(str(exc), field="answer" if ground is None else "ground") from None
    if request.enforcing_answer is not None:
        raise Conflict(
            f"{request.tracking_number}: the enforcing authority's answer ({request.enforcing_answer}) is "
            "already recorded",
            code="enforcing_answer_recorded",
        )
    if answer is EnforcingAnswer.GROUNDS_RAISED and ground is None:
        raise InvalidInput("say which ground for refusal the enforcing authority raised", field="ground")
    if answer is not EnforcingAnswer.GROUNDS_RAISED and ground is not None:
        raise InvalidInput("only a refusal names a ground", field="ground")
    now = clock()
    before = request.status
    request.enforcing_answer, request.enforcing_ground, request.enforcing_answered_at = answer, ground, now
    text = (note or "").strip()
    if answer is EnforcingAnswer.GROUNDS_RAISED:
        assert ground is not None
        _close_windows(session, request, WindowKind.ENFORCING_REVIEW, now, answer.value)
        transition(session, clock, actor, request, Transition.ENFORCING_REFUSAL)
        _stop_use(session, request, now, "enforcing_refusal")
        body = (
            "We cannot comply with this order: the enforcing authority raised a ground for refusal "
            f"({ground.value}: {_GROUND_TEXT[ground]}), so nothing is delivered "
            "(Regulation (EU) 2023/1543 Art. 12)."
        )
        correspond(session, clock, actor, request, CorrespondenceKind.CANNOT_COMPLY, f"{body} {text}".strip())
        request.answered_at = now
    elif answer is EnforcingAnswer.NO_GROUNDS:
        _close_windows(session, request, WindowKind.ENFORCING_REVIEW, now, answer.value)
        if request.status is RequestStatus.WAITING:
            transition(session, clock, actor, request, Transition.END_WAIT)
    else:
        open_windows = [w for w in windows_of(session, request, WindowKind.OBJECTION) if w.closed_at is None]
        if not open_windows:
            raise Conflict(
                f"{request.tracking_number} has no open objection window: an objection follows an "
                "emergency delivery notified to the enforcing authority (Art. 10(4))",
                code="no_objection_window",
            )
        _close_windows(session, request, WindowKind.OBJECTION, now, answer.value)
        _stop_use(session, request, now, "objection")
        correspond(
            session,
            clock,
            actor,
            request,
            CorrespondenceKind.NOTE,
            "The enforcing authority objected to this emergency production (Regulation (EU) 2023/1543 "
            "Art. 10(4)): the data must not be used, and its download link has expired. "
            f"{text}".strip(),
        )
    audit.record(
        session,
        clock,
        actor,
        AuditAction.ENFORCING_ANSWER,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "before": {"status": before.value},
            "after": {
                "status": request.status.value,
                "enforcing_answer": answer.value,
                "enforcing_ground": ground.value if ground else None,
                "use_stopped_at": request.use_stopped_at.isoformat() if request.use_stopped_at else None,
            },
        },
    )


def record_validation(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    status: ValidationStatus | str,
    *,
    validator_name: str | None = None,
    validator_kind: IssuerKind | str | None = None,
    validated_at: datetime | None = None,
) -> None:
    """The later validation of an emergency order (Art. 4(5)): VALIDATED names the validating authority
    and closes the validation window; REFUSED stops the use of the data (production links expire) and
    tells the issuing authority."""
    try:
        status = ValidationStatus(status)
        kind = IssuerKind(validator_kind) if validator_kind is not None else None
    except ValueError as exc:
        raise InvalidInput(str(exc), field="status") from None
    if status is ValidationStatus.PENDING:
        raise InvalidInput("record validated or refused", field="status")
    if request.validation_status is not ValidationStatus.PENDING:
        raise Conflict(
            f"{request.tracking_number} awaits no validation "
            f"({request.validation_status.value if request.validation_status else 'none needed'})",
            code="no_validation_pending",
        )
    now = clock()
    if status is ValidationStatus.VALIDATED:
        if not (validator_name or "").strip() or kind is None:
            raise InvalidInput("name the validating authority and its kind", field="authority")
        when = validated_at or now
        if when > now:
            raise InvalidInput("validated_at is in the future", field="validated_at")
        request.validator_name, request.validator_kind, request.validated_at = validator_name, kind, when
    request.validation_status = status
    _close_windows(session, request, WindowKind.VALIDATION, now, status.value)
    if status is ValidationStatus.REFUSED:
        _stop_use(session, request, now, "validation_refused")
        correspond(
            session,
            clock,
            actor,
            request,
            CorrespondenceKind.NOTE,
            "The validation of this emergency order was refused (Regulation (EU) 2023/1543 Art. 4(5)): "
            "the data produced must not be used, and its download link has expired.",
        )
    audit.record(
        session,
        clock,
        actor,
        AuditAction.VALIDATION_RECORD,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "validation_status": status.value,
                "validator_kind": kind.value if kind else None,
                "use_stopped_at": request.use_stopped_at.isoformat() if request.use_stopped_at else None,
            }
        },
    )
