"""Removal orders: content removed (or restricted where the law allows), kept for the legal period, and
reinstated when a scrutiny or a complaint says so (Regulation (EU) 2021/784, TCO)."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.lawful.catalogue import Instrument
from trustdesk.lawful.models import LawfulRequest, LegalWindow, Removal, RemovalComplaint, UserNotice
from trustdesk.lawful.notices import schedule_user_notices
from trustdesk.lawful.review import CorrespondenceKind, correspond
from trustdesk.lawful.vocabulary import ScrutinyOutcome, WindowKind
from trustdesk.platform.protocol import PlatformConnector, RemovalAction
from trustdesk.safety.orders import OrderRemoval, record_order_reinstatement, record_order_removal
from trustdesk.vocabulary import TargetType

if TYPE_CHECKING:
    from trustdesk.lawful.execution import ExecutionPolicy

SCRUTINY_DECISION_WITHIN = timedelta(hours=72)  # TCO Art. 4(4)
COMPLAINT_ANSWER_WITHIN = timedelta(days=14)  # TCO Art. 10(2)


# --- windows ----------------------------------------------------------------------------------------


def open_window(
    session: Session,
    request: LawfulRequest,
    kind: WindowKind,
    opened_at: datetime,
    due_at: datetime | None,
    subject_id: str | None = None,
) -> LegalWindow:
    window = LegalWindow(
        request_id=request.id, kind=kind, subject_id=subject_id, opened_at=opened_at, due_at=due_at
    )
    session.add(window)
    session.flush()
    return window


def window_of(
    session: Session, request: LawfulRequest, kind: WindowKind, subject_id: str | None = None
) -> LegalWindow | None:
    """The open window of that kind (about that subject)."""
    query = select(LegalWindow).where(
        LegalWindow.request_id == request.id, LegalWindow.kind == kind, LegalWindow.closed_at.is_(None)
    )
    if subject_id is not None:
        query = query.where(LegalWindow.subject_id == subject_id)
    return session.scalars(query.order_by(LegalWindow.opened_at)).first()


def close_window(window: LegalWindow, at: datetime, outcome: str, note: str | None = None) -> None:
    window.closed_at, window.outcome, window.note = at, outcome, note


def _audit(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: AuditAction,
    request_id: str,
    after: dict[str, object],
) -> None:
    audit.record(
        session,
        clock,
        actor,
        action,
        subject_type="lawful_request",
        subject_id=request_id,
        data={"after": after},
    )


def _audit_window(session: Session, clock: Clock, window: LegalWindow) -> None:
    due = window.due_at.isoformat() if window.due_at else None
    _audit(
        session,
        clock,
        Actor.system(),
        AuditAction.WINDOW_OPEN,
        window.request_id,
        {"window_id": window.id, "kind": window.kind.value, "due_at": due},
    )


# --- removal ------------------------------------------------------------------------------------------


def removal_action(request: LawfulRequest, instrument: Instrument) -> tuple[RemovalAction, list[str] | None]:
    """Remove everywhere, or geo-restrict to the order's scope where the instrument allows a scope.

    A TCO removal order covers all Member States (Art. 3(3)): it never geo-restricts, whatever the request
    carries."""
    scope = request.territorial_scope or None
    if scope and instrument.territorial_scope_allowed:
        return RemovalAction.GEO_RESTRICT, scope
    return RemovalAction.REMOVE, None


def keep_until_of(instrument: Instrument, effective_at: datetime) -> datetime | None:
    """The end of the legal retention of removed content (TCO Art. 6(2): six calendar months)."""
    if instrument.hold is None:
        return None
    return instrument.hold.duration.after(effective_at)


def remove(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    connector: PlatformConnector,
    policy: "ExecutionPolicy",
) -> list[str]:
    """Remove (or geo-restrict where allowed) every designated item and keep it for the legal period.

    The platform keeps removed content flagged, never deleted, so the content itself and its related data
    are kept by the removal: no hold on the author's other messages (TCO Art. 6(1))."""
    action, scope = removal_action(request, instrument)
    done: list[Removal] = []
    authors: list[str] = []
    for target in request.targets:
        if target.type is not TargetType.CONTENT_URL:
            continue
        removal = _remove_one(
            session, clock, actor, request, instrument, connector, target.value, action, scope
        )
        done.append(removal)
        if removal.provider_account_id and removal.provider_account_id not in authors:
            authors.append(removal.provider_account_id)
    _tell_effect_given(session, clock, actor, request, done, action, scope)
    for removal in done:
        _to_moderation(session, clock, actor, request, removal)
    confidentiality_on_removal(session, clock, request, instrument)
    schedule_user_notices(session, clock, actor, request, instrument, authors, policy, stage="removal")
    return [r.id for r in done]


def _remove_one(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    connector: PlatformConnector,
    locator: str,
    action: RemovalAction,
    scope: list[str] | None,
) -> Removal:
    author = connector.lookup_account(TargetType.CONTENT_URL, locator)
    result = connector.remove_content(locator, action, scope)
    removal = Removal(
        request_id=request.id,
        locator=locator,
        action=action.value,
        scope=sorted(result.scope) if result.scope is not None else None,
        effective_at=result.effective_at,
        keep_until=keep_until_of(instrument, result.effective_at),
        provider_account_id=author.platform_id if author else None,
    )
    session.add(removal)
    session.flush()
    if removal.keep_until is not None:
        open_window(
            session, request, WindowKind.RETENTION, result.effective_at, removal.keep_until, removal.id
        )
    _audit(
        session,
        clock,
        actor,
        AuditAction.REMOVAL_EXECUTE,
        request.id,
        {
            "removal_id": removal.id,
            "locator": locator,
            "action": action.value,
            "scope": removal.scope,
            "effective_at": result.effective_at.isoformat(),
            "keep_until": removal.keep_until.isoformat() if removal.keep_until else None,
        },
    )
    return removal


def _to_moderation(
    session: Session, clock: Clock, actor: Actor, request: LawfulRequest, removal: Removal
) -> None:
    """The removal goes on the item's moderation case and gets its statement of reasons (DSA Art. 17)."""
    if removal.provider_account_id is None:
        return  # the platform no longer knows whose content it was: no account to state reasons to
    record_order_removal(
        session,
        clock,
        actor,
        OrderRemoval(
            tracking_number=request.tracking_number,
            instrument=request.instrument.value,
            authority=request.issuer_name,
            legal_basis=request.legal_basis,
            reasons=request.statement_of_reasons or request.offence_description or "",
            locator=removal.locator,
            account_id=removal.provider_account_id,
            geo_restricted=removal.action == RemovalAction.GEO_RESTRICT.value,
            scope=tuple(removal.scope) if removal.scope else None,
            effective_at=removal.effective_at,
            decided_by=actor.id or actor.kind.value,
        ),
    )


def _tell_effect_given(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    done: Sequence[Removal],
    action: RemovalAction,
    scope: list[str] | None,
) -> None:
    where = "in " + ", ".join(scope) if scope else "in every Member State and everywhere else"
    verb = "removed" if action is RemovalAction.REMOVE else "restricted"
    effective = max((r.effective_at for r in done), default=clock())
    kept = [r.keep_until for r in done if r.keep_until is not None]
    until = max(kept).date().isoformat() if kept else "the end of review"
    correspond(
        session,
        clock,
        actor,
        request,
        CorrespondenceKind.EFFECT_GIVEN,
        f"Effect given: {len(done)} item(s) {verb} {where} at {effective.isoformat()}. "
        f"The content and its related data are preserved until {until}.",
    )


def removals_of(session: Session, request: LawfulRequest) -> list[Removal]:
    return list(session.scalars(select(Removal).where(Removal.request_id == request.id).order_by(Removal.id)))


def reinstate(
    session: Session, clock: Clock, actor: Actor, removal: Removal, connector: PlatformConnector, reason: str
) -> Removal:
    """Put removed content back (a scrutiny found an infringement, or a complaint was upheld)."""
    if removal.reinstated_at is not None:
        return removal
    connector.remove_content(removal.locator, RemovalAction.RESTORE, None)
    removal.reinstated_at = clock()
    request = session.get_one(LawfulRequest, removal.request_id)
    record_order_reinstatement(session, clock, actor, request.tracking_number, removal.locator, reason)
    _audit(
        session,
        clock,
        actor,
        AuditAction.REMOVAL_REINSTATE,
        removal.request_id,
        {"removal_id": removal.id, "locator": removal.locator, "reason": reason},
    )
    return removal


# --- retention (TCO Art. 6) ---------------------------------------------------------------------------


def extend_retention(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    until: datetime | None,
    note: str | None = None,
) -> list[Removal]:
    """A competent authority or court requires the removed content kept longer: to ``until``, or until
    further notice (None) (TCO Art. 6(2))."""
    removals = [r for r in removals_of(session, request) if r.keep_until is not None or until is None]
    if not removals:
        raise Conflict(f"{request.tracking_number} keeps no removed content", code="no_retention")
    for removal in removals:
        if until is not None and removal.keep_until is not None and until <= removal.keep_until:
            raise InvalidInput(
                f"the content is already kept until {removal.keep_until.isoformat()}", field="until"
            )
        before = removal.keep_until
        removal.keep_until = until
        window = window_of(session, request, WindowKind.RETENTION, removal.id)
        if window is None:
            window = open_window(session, request, WindowKind.RETENTION, clock(), until, removal.id)
        window.due_at, window.note = until, note
        _audit(
            session,
            clock,
            actor,
            AuditAction.RETENTION_EXTEND,
            request.id,
            {
                "removal_id": removal.id,
                "before": before.isoformat() if before else None,
                "keep_until": until.isoformat() if until else None,
                "note": note,
            },
        )
    return removals


# --- confidentiality (TCO Art. 11(3)) ----------------------------------------------------------------


def _confidentiality_rule(instrument: Instrument) -> tuple[timedelta, timedelta, int] | None:
    rule = instrument.confidentiality
    if rule is None:
        return None
    return rule.max, rule.extension, rule.max_extensions


def confidentiality_on_removal(
    session: Session, clock: Clock, request: LawfulRequest, instrument: Instrument
) -> LegalWindow | None:
    """The authority asked that the content provider not be told yet: at most six weeks from the order."""
    rule = _confidentiality_rule(instrument)
    if rule is None or request.confidential_until is None or request.confidential_until <= clock():
        return None
    if window_of(session, request, WindowKind.CONFIDENTIALITY) is not None:
        return None
    request.confidential_until = min(request.confidential_until, request.received_at + rule[0])
    window = open_window(session, request, WindowKind.CONFIDENTIALITY, clock(), request.confidential_until)
    _audit_window(session, clock, window)
    return window


def extend_confidentiality(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    until: datetime,
) -> LegalWindow:
    """The one extension of six weeks where the reasons persist (TCO Art. 11(3)); the notice waits for it."""
    rule = _confidentiality_rule(instrument)
    window = window_of(session, request, WindowKind.CONFIDENTIALITY)
    if rule is None or window is None or window.due_at is None:
        raise Conflict(
            f"{request.tracking_number} has no confidentiality to extend", code="no_confidentiality"
        )
    extended = session.scalar(
        select(func.count(AuditEvent.seq)).where(
            AuditEvent.subject_id == request.id, AuditEvent.action == AuditAction.CONFIDENTIALITY_EXTEND
        )
    )
    if (extended or 0) >= rule[2]:
        raise InvalidInput("the confidentiality was already extended once (TCO Art. 11(3))", field="until")
    cap = window.due_at + rule[1]
    if until <= window.due_at or until > cap:
        raise InvalidInput(f"the confidentiality may run to {cap.isoformat()} at the latest", field="until")
    before, window.due_at = window.due_at, until
    request.confidential_until = until
    for notice in session.scalars(
        select(UserNotice).where(UserNotice.request_id == request.id, UserNotice.status == "scheduled")
    ):
        notice.due_at = until
    _audit(
        session,
        clock,
        actor,
        AuditAction.CONFIDENTIALITY_EXTEND,
        request.id,
        {"before": before.isoformat(), "until": until.isoformat()},
    )
    return window


# --- cross-border scrutiny (TCO Art. 4) ----------------------------------------------------------------


def open_scrutiny_window(
    session: Session, clock: Clock, request: LawfulRequest, instrument: Instrument, legal_country: str | None
) -> LegalWindow | None:
    """A removal order from another State than the legal representative's may be scrutinised: the request
    for scrutiny is due within 48 hours of receipt (TCO Art. 4(2))."""
    rule = instrument.cross_border_scrutiny
    if rule is None or legal_country is None or legal_country == request.issuer_country:
        return None
    if window_of(session, request, WindowKind.SCRUTINY_REQUEST) is not None:
        return None
    due = request.received_at + rule.request_within
    window = open_window(session, request, WindowKind.SCRUTINY_REQUEST, request.received_at, due)
    _audit_window(session, clock, window)
    return window


def request_scrutiny(
    session: Session, clock: Clock, actor: Actor, request: LawfulRequest, instrument: Instrument, note: str
) -> LegalWindow:
    """The platform (or the content provider) asked the competent authority for a scrutiny: it decides
    within 72 hours (TCO Art. 4(4))."""
    window = window_of(session, request, WindowKind.SCRUTINY_REQUEST)
    if window is None:
        raise Conflict(f"{request.tracking_number} is not open to scrutiny", code="no_scrutiny")
    now = clock()
    if window.due_at is not None and now > window.due_at:
        raise Conflict(
            f"the 48 hours to ask for scrutiny ended at {window.due_at.isoformat()}", code="too_late"
        )
    close_window(window, now, "requested", note)
    rule = instrument.cross_border_scrutiny
    within = rule.decision_within if rule else SCRUTINY_DECISION_WITHIN
    decision = open_window(session, request, WindowKind.SCRUTINY_DECISION, now, now + within)
    _audit(
        session,
        clock,
        actor,
        AuditAction.SCRUTINY_REQUEST,
        request.id,
        {"due_at": decision.due_at.isoformat() if decision.due_at else None, "note": note},
    )
    return decision


def record_scrutiny_decision(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    outcome: ScrutinyOutcome,
    connector: PlatformConnector,
    note: str | None = None,
) -> LegalWindow:
    """The competent authority's decision; an infringement reinstates the content (TCO Art. 4(7))."""
    window = window_of(session, request, WindowKind.SCRUTINY_DECISION)
    if window is None:
        raise Conflict(f"{request.tracking_number} has no scrutiny pending", code="no_scrutiny")
    close_window(window, clock(), outcome.value, note)
    if outcome is ScrutinyOutcome.INFRINGEMENT:
        for removal in removals_of(session, request):
            reinstate(session, clock, actor, removal, connector, "the scrutiny found an infringement")
    _audit(
        session,
        clock,
        actor,
        AuditAction.SCRUTINY_DECIDE,
        request.id,
        {"outcome": outcome.value, "note": note},
    )
    return window


# --- complaints (TCO Art. 10) -------------------------------------------------------------------------


def receive_complaint(
    session: Session,
    clock: Clock,
    actor: Actor,
    removal_id: str,
    body: str,
    instrument: Instrument,
    account_id: str | None = None,
) -> RemovalComplaint:
    """A content provider complains about a removal: it is answered within two weeks (TCO Art. 10(2))."""
    if not body.strip():
        raise InvalidInput("say what the complaint is", field="body")
    removal = session.get(Removal, removal_id)
    if removal is None:
        raise NotFound(f"no removal {removal_id}", code="removal_not_found", field="removal")
    request = session.get_one(LawfulRequest, removal.request_id)
    now = clock()
    within = instrument.complaint_answer_within or COMPLAINT_ANSWER_WITHIN
    complaint = RemovalComplaint(
        request_id=request.id,
        removal_id=removal.id,
        account_id=account_id or removal.provider_account_id,
        body=body,
        received_at=now,
        due_at=now + within,
    )
    session.add(complaint)
    session.flush()
    open_window(session, request, WindowKind.COMPLAINT, now, complaint.due_at, complaint.id)
    _audit(
        session,
        clock,
        actor,
        AuditAction.COMPLAINT_RECEIVE,
        request.id,
        {"complaint_id": complaint.id, "removal_id": removal.id, "due_at": complaint.due_at.isoformat()},
    )
    return complaint


def answer_complaint(
    session: Session,
    clock: Clock,
    actor: Actor,
    complaint_id: str,
    upheld: bool,
    answer: str,
    connector: PlatformConnector,
    answered_by: str | None = None,
    *,
    request: LawfulRequest | None = None,
) -> RemovalComplaint:
    """Upheld: the content is reinstated; dismissed: the reasons are given to the complainant.

    With ``request``, the complaint must be about one of its removals."""
    complaint = session.get(RemovalComplaint, complaint_id)
    if complaint is None or (request is not None and complaint.request_id != request.id):
        raise NotFound(f"no complaint {complaint_id}", code="complaint_not_found", field="complaint")
    if complaint.answered_at is not None:
        raise Conflict(f"complaint {complaint_id} was answered on {complaint.answered_at.isoformat()}")
    if not answer.strip():
        raise InvalidInput("give the complainant the reasons of the answer", field="answer")
    request = session.get_one(LawfulRequest, complaint.request_id)
    complaint.answered_at, complaint.upheld, complaint.answer = clock(), upheld, answer
    complaint.answered_by = answered_by
    if upheld:
        reinstate(
            session,
            clock,
            actor,
            session.get_one(Removal, complaint.removal_id),
            connector,
            "complaint upheld",
        )
    window = window_of(session, request, WindowKind.COMPLAINT, complaint.id)
    if window is not None:
        close_window(window, clock(), "upheld" if upheld else "dismissed")
    _audit(
        session,
        clock,
        actor,
        AuditAction.COMPLAINT_ANSWER,
        request.id,
        {"complaint_id": complaint.id, "upheld": upheld},
    )
    return complaint
