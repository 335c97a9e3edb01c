"""Review of lawful requests: recommendation, decision, four eyes, clarification, withdrawal, answer.

Every function changes one request inside the caller's transaction and leaves audit events; the state
changes go through the transition table in ``workflow.py`` and nothing else.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, Forbidden, InvalidInput
from trustdesk.lawful import callbacks, documents
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.catalogue import Instrument, PauseRule
from trustdesk.lawful.facts import (
    TargetLookup,
    facts_for,
    look_up_targets,
    present_fields,
    recommendation_for,
)
from trustdesk.lawful.models import Correspondence, Decision, LawfulRequest, LegalWindow, RequestPause
from trustdesk.lawful.vocabulary import ClarificationKind, EnforcingAnswer, WindowKind
from trustdesk.lawful.workflow import OPEN_STATUSES, RequestStatus, Transition, next_status
from trustdesk.policy.engine import Recommendation
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require
from trustdesk.vocabulary import DataCategory, InstrumentKind


class DecisionOutcome(StrEnum):
    """What a reviewer may decide; a clarification is asked with ``clarify``, not decided."""

    COMPLY = "comply"
    PARTIAL = "partial"
    REFUSE = "refuse"


class CorrespondenceKind(StrEnum):
    CLARIFICATION_QUESTION = "clarification_question"
    CLARIFICATION_ANSWER = "clarification_answer"
    CANNOT_COMPLY = "cannot_comply"  # in the spirit of e-Evidence Form 3 (Annex III)
    EFFECT_GIVEN = "effect_given"
    ANSWER = "answer"
    WITHDRAWAL = "withdrawal"
    NOTE = "note"


DISCLOSING_KINDS = frozenset({InstrumentKind.PRODUCTION, InstrumentKind.INFORMATION})
__all__ = ["TargetLookup", "facts_for", "look_up_targets", "present_fields", "recommendation_for"]


def staff_actor(user: StaffUser) -> Actor:
    return Actor(ActorKind.STAFF, user.id)


def officer_actor(officer: Officer) -> Actor:
    return Actor(ActorKind.OFFICER, officer.id)


# --- transitions ------------------------------------------------------------------------------------


def transition(
    session: Session, clock: Clock, actor: Actor, request: LawfulRequest, move: Transition
) -> None:
    before = request.status
    request.status = next_status(before, move)
    if request.status is RequestStatus.CLOSED:
        request.closed_at = clock()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.REQUEST_TRANSITION,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "transition": move.value,
            "before": {"status": before.value},
            "after": {"status": request.status.value},
        },
    )


def correspond(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    kind: CorrespondenceKind,
    body: str,
) -> Correspondence:
    text = body.strip()
    if not text:
        raise InvalidInput("a message needs a text", field="body")
    if len(text) > 20_000:
        raise InvalidInput("a message has at most 20,000 characters", field="body")
    direction = "from_authority" if actor.kind is ActorKind.OFFICER else "to_authority"
    message = Correspondence(
        request_id=request.id,
        direction=direction,
        kind=kind.value,
        body=text,
        author_kind=actor.kind.value,
        author_id=actor.id or "-",
        created_at=clock(),
    )
    session.add(message)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.CORRESPONDENCE_ADD,
        subject_type="lawful_request",
        subject_id=request.id,
        data={"after": {"correspondence_id": message.id, "kind": kind.value, "direction": direction}},
    )
    return message


def correspondence_of(session: Session, request: LawfulRequest) -> list[Correspondence]:
    return list(
        session.scalars(
            select(Correspondence)
            .where(Correspondence.request_id == request.id)
            .order_by(Correspondence.created_at, Correspondence.id)
        )
    )


def start_review(session: Session, clock: Clock, user: StaffUser, request: LawfulRequest) -> None:
    require(user, Permission.STAFF_REQUEST_DECIDE)
    transition(session, clock, staff_actor(user), request, Transition.START_REVIEW)


def _ensure_in_review(session: Session, clock: Clock, user: StaffUser, request: LawfulRequest) -> None:
    require(user, Permission.STAFF_REQUEST_DECIDE)
    if request.status is RequestStatus.ACKNOWLEDGED:
        start_review(session, clock, user, request)


# --- decisions and four eyes -----------------------------------------------------------------------


def current_decision(session: Session, request: LawfulRequest) -> Decision | None:
    """The latest decision not rejected by an approver."""
    return session.scalar(
        select(Decision)
        .where(Decision.request_id == request.id, Decision.rejected.is_(False))
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(1)
    )


def _record_law(
    session: Session,
    clock: Clock,
    request: LawfulRequest,
    instrument: Instrument,
    recommendation: Recommendation,
    chosen: set[DataCategory] | None,
) -> None:
    """What a decision records beside itself: whether the enforcing authority is notified (Art. 8: the
    engine says so and a decided category needs it) and the principle conflicts (the register)."""
    from trustdesk.lawful.conflicts import record_conflicts  # conflicts imports review

    if chosen is not None:
        request.enforcing_notification = recommendation.enforcing_notification and bool(
            instrument.enforcing_notification & chosen
        )
    record_conflicts(session, clock, Actor.system(), request, recommendation)


def decide(
    session: Session,
    clock: Clock,
    user: StaffUser,
    request: LawfulRequest,
    instrument: Instrument,
    recommendation: Recommendation,
    *,
    outcome: DecisionOutcome | str,
    categories: Iterable[DataCategory | str] | None = None,
    justification: str | None = None,
    documents_confirmed: bool = False,
) -> Decision:
    """Record a reviewer's decision. Deviating from the recommendation needs a written justification;
    complying with a request that came with a signed order needs the reviewer to have opened it and to
    confirm it (``documents_confirmed``, see `trustdesk.lawful.documents`)."""
    _ensure_in_review(session, clock, user, request)
    try:
        outcome = DecisionOutcome(outcome)
    except ValueError:
        raise InvalidInput(
            f"unknown outcome {outcome!r}; decide comply, partial or refuse (ask with clarify)",
            field="outcome",
        ) from None
    requested = {DataCategory(c) for c in request.data_categories}
    if categories is None:
        chosen = set(recommendation.allowed_categories) if outcome is not DecisionOutcome.REFUSE else set()
    else:
        try:
            chosen = {DataCategory(c) for c in categories}
        except ValueError:
            raise InvalidInput(f"unknown data category in {list(categories)}", field="categories") from None
    if not chosen <= requested:
        extra = ", ".join(sorted(c.value for c in chosen - requested))
        raise InvalidInput(
            f"the authority did not request {extra}: nothing beyond the order", field="categories"
        )
    if outcome is DecisionOutcome.REFUSE and chosen:
        raise InvalidInput("a refusal allows no categories", field="categories")
    disclosing = instrument.kind in DISCLOSING_KINDS
    if outcome is not DecisionOutcome.REFUSE and disclosing and not chosen:
        raise InvalidInput(
            "comply or partial needs at least one category; otherwise refuse", field="categories"
        )
    if outcome is DecisionOutcome.COMPLY and chosen != requested:
        raise InvalidInput("comply means every requested category; use partial", field="outcome")
    if outcome is DecisionOutcome.PARTIAL and chosen == requested:
        raise InvalidInput("partial means fewer categories than requested; use comply", field="outcome")
    deviates = outcome.value != recommendation.outcome.value or chosen != set(
        recommendation.allowed_categories
    )
    note = (justification or "").strip() or None
    if deviates and note is None:
        raise InvalidInput(
            f"the decision ({outcome.value}: {', '.join(sorted(c.value for c in chosen)) or 'nothing'}) "
            "deviates "
            f"from the recommendation ({recommendation.outcome.value}: "
            f"{', '.join(sorted(c.value for c in recommendation.allowed_categories)) or 'nothing'}): "
            "write a justification",
            code="justification_required",
            field="justification",
        )
    relied_on = (
        []
        if outcome is DecisionOutcome.REFUSE
        else documents.require_confirmed(session, request, user, confirmed=documents_confirmed)
    )
    actor = staff_actor(user)
    decision = Decision(
        request_id=request.id,
        decided_by=user.id,
        decided_at=clock(),
        outcome=outcome.value,
        allowed_categories=sorted(c.value for c in chosen),
        grounds=[g.value for g in recommendation.grounds],
        justification=note,
        deviates=deviates,
        recommendation=recommendation.as_dict(),
        policy_version=recommendation.policy_version,
        rejected=False,
    )
    session.add(decision)
    _record_law(session, clock, request, instrument, recommendation, chosen if disclosing else None)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.DECISION_RECORD,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "decision_id": decision.id,
                "decided_by": decision.decided_by,
                "outcome": outcome.value,
                "categories": decision.allowed_categories,
                "deviates": deviates,
                "policy_version": decision.policy_version,
                "documents_confirmed": [d.sha256 for d in relied_on],
            }
        },
    )
    transition(session, clock, actor, request, Transition.DECIDE)
    if outcome is DecisionOutcome.REFUSE:
        transition(session, clock, actor, request, Transition.REFUSE)
        reasons = "; ".join(r.sentence for r in recommendation.rules_fired if r.ground is not None)
        body = "We cannot comply with this order. " + (note or reasons or "See the grounds given.")
        if note and reasons:
            body += f" Grounds: {reasons}"
        correspond(session, clock, actor, request, CorrespondenceKind.CANNOT_COMPLY, body)
        request.answered_at = clock()  # the refusal is the answer, as a refusal on receipt is
    elif disclosing:
        transition(session, clock, actor, request, Transition.SUBMIT_FOR_APPROVAL)
    else:
        transition(session, clock, actor, request, Transition.CLEAR)
    return decision


def _pending_decision(session: Session, request: LawfulRequest) -> Decision:
    decision = current_decision(session, request)
    if request.status is not RequestStatus.AWAITING_APPROVAL or decision is None:
        raise Conflict(f"{request.tracking_number} is {request.status.value}, not awaiting approval")
    return decision


def approve(
    session: Session,
    clock: Clock,
    user: StaffUser,
    request: LawfulRequest,
    instrument: Instrument,
    note: str | None = None,
    *,
    zone: ZoneInfo | None = None,
) -> Decision:
    """The second pair of eyes: a different legal approver clears the disclosure.

    When the enforcing authority was notified (e-Evidence Art. 8), the request waits, and the window in
    which that authority may raise grounds for refusal (Arts 10(2), 12) opens; it ends as a protective
    period in ``zone``, the legal representative's (UTC when not given)."""
    require(user, Permission.STAFF_REQUEST_APPROVE)
    decision = _pending_decision(session, request)
    if decision.decided_by == user.id:
        raise Forbidden("four eyes: you cannot approve your own decision", code="four_eyes")
    if instrument.callback_verification:  # a US emergency disclosure: never without a recorded callback
        callbacks.require_callback(session, request, instrument, step="approval")
    decision.approved_by, decision.approved_at, decision.approval_note = user.id, clock(), note
    audit.record(
        session,
        clock,
        staff_actor(user),
        AuditAction.DECISION_APPROVE,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "decision_id": decision.id,
                "decided_by": decision.decided_by,
                "approved_by": user.id,
                "outcome": decision.outcome,
                "categories": decision.allowed_categories,
            }
        },
    )
    transition(session, clock, staff_actor(user), request, Transition.APPROVE)
    deliver = delivery_not_before(request, instrument, decision, zone=zone)
    if deliver is not None:
        transition(session, clock, staff_actor(user), request, Transition.WAIT)
        session.add(
            LegalWindow(
                request_id=request.id, kind=WindowKind.ENFORCING_REVIEW, opened_at=clock(), due_at=deliver
            )
        )
        session.flush()
    return decision


def delivery_not_before(
    request: LawfulRequest, instrument: Instrument, decision: Decision, *, zone: ZoneInfo | None = None
) -> datetime | None:
    """When the enforcing authority was notified (e-Evidence Art. 8), delivery waits for the end of the
    standard period, counted as a period protecting its right to object (Reg. 1182/71: the end of the
    last day in ``zone``, the legal representative's; UTC when not given, which is never earlier for
    Europe), unless it is an emergency or the enforcing authority said early it raises no ground
    (Art. 10(2)); None when nothing waits."""
    if request.enforcing_answer is EnforcingAnswer.NO_GROUNDS or request.emergency:
        return None
    if request.enforcing_notification is not None:
        notified = request.enforcing_notification
    else:
        notified = bool(
            instrument.enforcing_notification & {DataCategory(c) for c in decision.allowed_categories}
        )
    if not notified:
        return None
    from trustdesk.lawful.enforcing import protective_end  # enforcing imports review

    return protective_end(request.received_at, instrument.deadline.standard, zone)


def reject(session: Session, clock: Clock, user: StaffUser, request: LawfulRequest, note: str) -> Decision:
    """The approver sends the decision back to review, saying why."""
    require(user, Permission.STAFF_REQUEST_APPROVE)
    if not note.strip():
        raise InvalidInput("say why the decision goes back to review", field="note")
    decision = _pending_decision(session, request)
    if decision.decided_by == user.id:
        raise Forbidden("four eyes: you cannot review your own decision", code="four_eyes")
    decision.rejected, decision.approval_note = True, note.strip()
    audit.record(
        session,
        clock,
        staff_actor(user),
        AuditAction.DECISION_REJECT,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "decision_id": decision.id,
                "decided_by": decision.decided_by,
                "rejected_by": user.id,
                "outcome": decision.outcome,
            }
        },
    )
    transition(session, clock, staff_actor(user), request, Transition.REJECT_APPROVAL)
    return decision


# --- clarification, withdrawal, answer -------------------------------------------------------------


def pauses_of(session: Session, request: LawfulRequest) -> list[RequestPause]:
    return list(
        session.scalars(
            select(RequestPause)
            .where(RequestPause.request_id == request.id)
            .order_by(RequestPause.started_at)
        )
    )


LEGAL_PAUSE_REASONS = frozenset({ClarificationKind.INCOMPLETE_ORDER.value, "clarification"})
"""Pauses that suspend the legal deadline ("clarification": rows written before issue 9, all of them
questions that stopped the clock)."""


def deadlines_of(
    instrument: Instrument,
    received_at: datetime,
    *,
    emergency: bool,
    respond_by: datetime | None,
    pauses: Iterable[tuple[str, datetime, datetime | None]] = (),
) -> tuple[datetime | None, datetime | None]:
    """``(due_at, target_at)``, pure: the legal deadline stops only for an incomplete order (e-Evidence
    Art. 10(5)) and as the instrument's pause rule says; the desk's internal target stops for every
    question it asks (suspended, even where the law never stops the clock). None while stopped."""
    rule = instrument.deadline
    emergency = emergency and rule.emergency is not None
    every = [(reason, deadlines.Pause(start, end)) for reason, start, end in pauses]
    due = deadlines.due_at(
        rule,
        received_at,
        emergency=emergency,
        pauses=[pause for reason, pause in every if reason in LEGAL_PAUSE_REASONS],
        ordered_due_at=respond_by,
    )
    internal = rule if rule.pause is not PauseRule.NONE else replace(rule, pause=PauseRule.SUSPEND)
    target = deadlines.due_at(
        internal,
        received_at,
        emergency=emergency,
        pauses=[pause for _, pause in every],
        ordered_due_at=respond_by,
    )
    return due, target


def recompute_due(session: Session, request: LawfulRequest, instrument: Instrument) -> None:
    """Set ``due_at`` (the legal deadline) and ``target_at`` (the internal target) from the pauses."""
    request.due_at, request.target_at = deadlines_of(
        instrument,
        request.received_at,
        emergency=request.emergency,
        respond_by=request.respond_by,
        pauses=[(p.reason, p.started_at, p.ended_at) for p in pauses_of(session, request)],
    )


def clarification_kind(recommendation: Recommendation | None) -> ClarificationKind:
    """The kind of a question the reviewer did not qualify: the recommendation's, else a desk question
    (the legally safe default: the legal clock keeps running unless the order is incomplete)."""
    if recommendation is not None and recommendation.clarification is not None:
        return ClarificationKind(recommendation.clarification.value)
    return ClarificationKind.DESK_QUESTION


def clarify(
    session: Session,
    clock: Clock,
    user: StaffUser,
    request: LawfulRequest,
    instrument: Instrument,
    question: str,
    *,
    kind: ClarificationKind | str = ClarificationKind.INCOMPLETE_ORDER,
) -> Correspondence:
    """Ask the authority. An incomplete order (``INCOMPLETE_ORDER``) stops the legal clock where the
    instrument lets it, and the internal target; the desk's own question (``DESK_QUESTION``) stops only
    the internal target (e-Evidence Art. 10(5))."""
    try:
        kind = ClarificationKind(kind)
    except ValueError:
        raise InvalidInput(
            f"unknown clarification kind {kind!r}; use incomplete_order or desk_question", field="kind"
        ) from None
    _ensure_in_review(session, clock, user, request)
    actor = staff_actor(user)
    transition(session, clock, actor, request, Transition.REQUEST_CLARIFICATION)
    message = correspond(session, clock, actor, request, CorrespondenceKind.CLARIFICATION_QUESTION, question)
    session.add(RequestPause(request_id=request.id, reason=kind.value, started_at=clock()))
    session.flush()
    recompute_due(session, request, instrument)
    return message


def receive_clarification(
    session: Session,
    clock: Clock,
    officer: Officer,
    request: LawfulRequest,
    instrument: Instrument,
    answer: str,
) -> Correspondence:
    """The authority answers; the clock resumes (or restarts, per the instrument)."""
    actor = officer_actor(officer)
    transition(session, clock, actor, request, Transition.RECEIVE_CLARIFICATION)
    message = correspond(session, clock, actor, request, CorrespondenceKind.CLARIFICATION_ANSWER, answer)
    for pause in pauses_of(session, request):
        if pause.ended_at is None:
            pause.ended_at = clock()
    session.flush()
    recompute_due(session, request, instrument)
    return message


def officer_writes(
    session: Session,
    clock: Clock,
    officer: Officer,
    request: LawfulRequest,
    instrument: Instrument,
    body: str,
) -> Correspondence:
    """A message from the authority: the answer to an open clarification, else a note on the file."""
    if request.status is RequestStatus.CLARIFICATION_REQUESTED:
        return receive_clarification(session, clock, officer, request, instrument, body)
    if request.status not in OPEN_STATUSES and request.status is not RequestStatus.ANSWERED:
        raise Conflict(f"{request.tracking_number} is {request.status.value}: the file is closed")
    return correspond(session, clock, officer_actor(officer), request, CorrespondenceKind.NOTE, body)


def withdraw(session: Session, clock: Clock, officer: Officer, request: LawfulRequest, reason: str) -> None:
    """The authority withdraws its request; the answer is no longer due."""
    actor = officer_actor(officer)
    transition(session, clock, actor, request, Transition.WITHDRAW)
    correspond(session, clock, actor, request, CorrespondenceKind.WITHDRAWAL, reason or "Withdrawn.")


def close(session: Session, clock: Clock, user: StaffUser, request: LawfulRequest) -> None:
    require(user, Permission.STAFF_REQUEST_DECIDE)
    transition(session, clock, staff_actor(user), request, Transition.CLOSE)


def consistency(session: Session) -> dict[str, float | int]:
    """How consistently the desk decides: the share of decisions that deviated from the recommendation."""
    decisions = session.scalars(select(Decision.deviates)).all()
    total, deviating = len(decisions), sum(1 for d in decisions if d)
    return {
        "decisions": total,
        "deviating": deviating,
        "deviation_share": round(deviating / total, 4) if total else 0.0,
    }
