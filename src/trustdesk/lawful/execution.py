"""Execution of decided requests through the platform connector: productions, holds, removals, notices.

The connector is another system: its actions are idempotent (holds by id, removals by locator), so a
transaction that fails after a connector call can simply be run again.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.catalogue import HoldRule, Instrument, UserNoticeRule
from trustdesk.lawful.models import LawfulRequest, PreservationHold, Production, Removal, UserNotice
from trustdesk.lawful.package import PackageMeta, build_package
from trustdesk.lawful.review import (
    CorrespondenceKind,
    correspond,
    current_decision,
    delivery_not_before,
    look_up_targets,
    officer_actor,
    staff_actor,
    transition,
)
from trustdesk.lawful.workflow import RequestStatus, Transition
from trustdesk.platform.protocol import Export, Period, PlatformConnector, RemovalAction
from trustdesk.signing.protocol import Signer
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require
from trustdesk.vocabulary import DataCategory, InstrumentKind, TargetType


@dataclass(frozen=True)
class ExecutionPolicy:
    """The platform's operating choices where the law leaves them open."""

    production_link_ttl: timedelta = timedelta(days=14)
    default_lookback: timedelta = timedelta(days=365)  # the period produced when an order names none
    emergency_hold: timedelta = timedelta(days=90)
    emergency_notice_delay: timedelta = timedelta(days=90)  # notice after an emergency disclosure


@dataclass
class ExecutionReport:
    production_id: str | None = None
    holds: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def production_period(request: LawfulRequest, policy: ExecutionPolicy) -> Period:
    if request.period_start and request.period_end:
        return Period(request.period_start, request.period_end)
    return Period(request.received_at - policy.default_lookback, request.received_at)


def allowed_fields_of(
    recommendation: Mapping[str, object], categories: Sequence[str]
) -> dict[DataCategory, frozenset[str]]:
    """Field-level minimisation from the recommendation, for the decided categories that have it."""
    fields = recommendation.get("allowed_fields")
    if not isinstance(fields, Mapping):
        return {}
    return {DataCategory(c): frozenset(fields[c]) for c in categories if c in fields}


def execute(
    session: Session,
    clock: Clock,
    user: StaffUser,
    request: LawfulRequest,
    instrument: Instrument,
    connector: PlatformConnector,
    signer: Signer,
    policy: ExecutionPolicy,
) -> ExecutionReport:
    """Carry out the approved decision: produce, preserve or remove, exactly as decided."""
    require(user, Permission.STAFF_REQUEST_DECIDE)
    decision = current_decision(session, request)
    actor = staff_actor(user)
    if request.status is RequestStatus.WAITING and decision is not None:
        deliver = delivery_not_before(request, instrument, decision)
        if deliver is not None and clock() < deliver:
            raise Conflict(
                f"{request.tracking_number} waits for the enforcing authority: delivery not before "
                f"{deliver.isoformat()} (Reg. 2023/1543 Art. 10(2))",
                code="delivery_waits",
            )
        transition(session, clock, actor, request, Transition.END_WAIT)
    if request.status is not RequestStatus.APPROVED or decision is None:
        raise Conflict(
            f"{request.tracking_number} is {request.status.value}: only approved requests are executed"
        )
    transition(session, clock, actor, request, Transition.EXECUTE)
    report = ExecutionReport()
    lookups = look_up_targets(request, connector)
    report.not_found = [lookup.target for lookup in lookups if lookup.account_id is None]
    accounts = list(dict.fromkeys(lookup.account_id for lookup in lookups if lookup.account_id))
    categories = [DataCategory(c) for c in decision.allowed_categories]

    if instrument.kind in (InstrumentKind.PRODUCTION, InstrumentKind.INFORMATION):
        recipient_of(request)  # refuse before anyone is notified of a production that cannot be built
        notices = schedule_user_notices(
            session, clock, actor, request, instrument, accounts, policy, stage="before"
        )
        report.notices += notices
        send_due_notices(session, clock, connector, request_id=request.id)
        report.production_id = produce(
            session,
            clock,
            actor,
            request,
            accounts,
            categories,
            connector,
            signer,
            policy,
            allowed_fields_of(decision.recommendation, decision.allowed_categories),
            decision.policy_version,
        ).id
        release_converted_holds(session, clock, actor, request, accounts, connector)
    elif instrument.kind is InstrumentKind.PRESERVATION:
        if instrument.hold is None:  # pragma: no cover - the catalogue guarantees a hold rule
            raise Conflict(f"{instrument.code} has no hold rule")
        expires = deadlines.hold_expires_at(instrument.hold, clock())
        for n, account in enumerate(accounts):
            report.holds.append(
                place_hold(
                    session,
                    clock,
                    actor,
                    request,
                    connector,
                    account,
                    categories,
                    production_period(request, policy),
                    expires,
                    hold_id=f"{request.tracking_number}-{n}",
                    reason="order",
                ).id
            )
    else:
        report.removals = remove(session, clock, actor, request, instrument, connector, policy)
    return report


def produce(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    accounts: Sequence[str],
    categories: Sequence[DataCategory],
    connector: PlatformConnector,
    signer: Signer,
    policy: ExecutionPolicy,
    allowed_fields: Mapping[DataCategory, frozenset[str]],
    policy_version: str,
) -> Production:
    """Export exactly the decided categories and period and package them for the agency only."""
    recipient = recipient_of(request)
    period = production_period(request, policy)
    exports: list[Export] = [connector.export(account, categories, period) for account in accounts]
    now = clock()
    meta = PackageMeta(
        tracking_number=request.tracking_number,
        agency_id=request.agency_id,
        instrument=request.instrument.value,
        categories=tuple(sorted(c.value for c in categories)),
        period_start=period.start,
        period_end=period.end,
        produced_at=now,
        policy_version=policy_version,
        targets=tuple(f"{t.type.value}:{t.value}" for t in request.targets),
    )
    blob = build_package(meta, exports, allowed_fields or None, signer, recipient)
    production = Production(
        request_id=request.id,
        created_at=now,
        expires_at=now + policy.production_link_ttl,
        recipient=recipient,
        signer_key_id=signer.key_id,
        categories=list(meta.categories),
        records=sum(len(e.records) for e in exports),
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        content=blob,
        downloads=0,
    )
    session.add(production)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.PRODUCTION_BUILD,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "production_id": production.id,
                "categories": production.categories,
                "records": production.records,
                "sha256": production.sha256,
            }
        },
    )
    return production


def recipient_of(request: LawfulRequest) -> str:
    """The age recipient the agency's productions are encrypted to; none registered refuses the production."""
    recipient = request.agency.age_recipient
    if not recipient:
        raise Conflict(
            f"{request.agency.name} has no registered age recipient: register one "
            "(trustdesk authority recipient ID age1...) before producing",
            code="no_recipient",
        )
    return recipient


def latest_production(session: Session, request: LawfulRequest) -> Production | None:
    return session.scalar(
        select(Production)
        .where(Production.request_id == request.id)
        .order_by(Production.created_at.desc())
        .limit(1)
    )


def download_production(
    session: Session, clock: Clock, officer: Officer, request: LawfulRequest
) -> Production:
    """The package, for officers of the requesting agency only, until its link expires; audited."""
    if officer.agency_id != request.agency_id:
        raise NotFound(f"no request {request.tracking_number}", code="request_not_found")
    production = latest_production(session, request)
    if production is None:
        raise NotFound(f"{request.tracking_number} has no production", code="production_not_found")
    if clock() >= production.expires_at:
        raise Forbidden(
            f"the download link expired on {production.expires_at.isoformat()}; "
            "ask the platform to re-issue it",
            code="production_expired",
        )
    production.downloads += 1
    audit.record(
        session,
        clock,
        officer_actor(officer),
        AuditAction.PRODUCTION_DOWNLOAD,
        subject_type="lawful_request",
        subject_id=request.id,
        data={"after": {"production_id": production.id, "downloads": production.downloads}},
    )
    return production


# --- preservation ---------------------------------------------------------------------------------


def place_hold(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    connector: PlatformConnector,
    account: str,
    categories: Sequence[DataCategory],
    period: Period,
    expires_at: datetime,
    *,
    hold_id: str,
    reason: str,
) -> PreservationHold:
    existing = session.get(PreservationHold, hold_id)
    if existing is not None:
        return existing
    hold = connector.place_hold(hold_id, account, categories, period, expires_at)
    record = PreservationHold(
        id=hold_id,
        request_id=request.id,
        account_id=account,
        categories=sorted(c.value for c in categories),
        period_start=period.start,
        period_end=period.end,
        placed_at=hold.placed_at,
        expires_at=hold.expires_at,
        extensions=0,
        snapshot_sha256=hold.snapshot_sha256,
        reason=reason,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.HOLD_PLACE,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "hold_id": hold_id,
                "expires_at": hold.expires_at.isoformat(),
                "reason": reason,
                "snapshot_sha256": hold.snapshot_sha256,
            }
        },
    )
    return record


def holds_of(session: Session, request: LawfulRequest) -> list[PreservationHold]:
    return list(
        session.scalars(
            select(PreservationHold)
            .where(PreservationHold.request_id == request.id)
            .order_by(PreservationHold.id)
        )
    )


def _hold(session: Session, hold_id: str) -> PreservationHold:
    hold = session.get(PreservationHold, hold_id)
    if hold is None:
        raise NotFound(f"no hold {hold_id}", code="hold_not_found", field="hold")
    if hold.released_at is not None:
        raise Conflict(f"hold {hold_id} was released on {hold.released_at.isoformat()}")
    return hold


def extend_hold(
    session: Session, clock: Clock, actor: Actor, hold_id: str, rule: HoldRule, connector: PlatformConnector
) -> PreservationHold:
    """The one lawful extension (e.g. EPOC-PR +30 days, US preservation +90 days)."""
    hold = _hold(session, hold_id)
    try:
        expires = deadlines.hold_expires_at(rule, hold.placed_at, hold.extensions + 1)
    except deadlines.ExtensionNotAllowed as exc:
        raise InvalidInput(str(exc), code="extension_not_allowed", field="hold") from None
    connector.extend_hold(hold_id, expires)
    before = hold.expires_at
    hold.expires_at, hold.extensions = expires, hold.extensions + 1
    audit.record(
        session,
        clock,
        actor,
        AuditAction.HOLD_EXTEND,
        subject_type="lawful_request",
        subject_id=hold.request_id,
        data={
            "hold_id": hold_id,
            "before": {"expires_at": before.isoformat()},
            "after": {"expires_at": expires.isoformat()},
        },
    )
    return hold


def release_hold(
    session: Session, clock: Clock, actor: Actor, hold_id: str, connector: PlatformConnector, reason: str
) -> PreservationHold:
    hold = _hold(session, hold_id)
    connector.release_hold(hold_id)
    hold.released_at = clock()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.HOLD_RELEASE,
        subject_type="lawful_request",
        subject_id=hold.request_id,
        data={"hold_id": hold_id, "reason": reason},
    )
    return hold


def release_converted_holds(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    accounts: Sequence[str],
    connector: PlatformConnector,
) -> None:
    """A production converts the agency's earlier preservation of the same accounts: those holds end."""
    held = session.scalars(
        select(PreservationHold)
        .join(LawfulRequest, LawfulRequest.id == PreservationHold.request_id)
        .where(
            LawfulRequest.agency_id == request.agency_id,
            PreservationHold.account_id.in_(accounts),
            PreservationHold.released_at.is_(None),
            PreservationHold.reason.in_(("order", "emergency")),
        )
    ).all()
    for hold in held:
        release_hold(
            session,
            clock,
            actor,
            hold.id,
            connector,
            f"converted into the production of {request.tracking_number}",
        )


def preserve_on_arrival(
    session: Session,
    clock: Clock,
    request: LawfulRequest,
    connector: PlatformConnector,
    policy: ExecutionPolicy,
) -> list[str]:
    """Emergencies are preserved at once, before any review, so nothing is lost while the desk decides."""
    if not request.emergency:
        return []
    categories = [DataCategory(c) for c in request.data_categories]
    if not categories:
        return []
    expires = clock() + policy.emergency_hold
    held = []
    for n, lookup in enumerate(look_up_targets(request, connector)):
        if lookup.account_id is not None:
            held.append(
                place_hold(
                    session,
                    clock,
                    Actor.system(),
                    request,
                    connector,
                    lookup.account_id,
                    categories,
                    production_period(request, policy),
                    expires,
                    hold_id=f"{request.tracking_number}-e{n}",
                    reason="emergency",
                ).id
            )
    return held


# --- removal ----------------------------------------------------------------------------------------


def remove(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    connector: PlatformConnector,
    policy: ExecutionPolicy,
) -> list[str]:
    """Remove (or geo-restrict, per the order's territorial scope) every designated item; preserve it."""
    scope = request.territorial_scope or None
    action = RemovalAction.GEO_RESTRICT if scope else RemovalAction.REMOVE
    done: list[str] = []
    authors: list[str] = []
    for target in request.targets:
        if target.type is not TargetType.CONTENT_URL:
            continue
        author = connector.lookup_account(TargetType.CONTENT_URL, target.value)
        result = connector.remove_content(target.value, action, scope)
        keep_until = result.effective_at + instrument.hold.duration if instrument.hold else None
        removal = Removal(
            request_id=request.id,
            locator=target.value,
            action=action.value,
            scope=sorted(result.scope) if result.scope is not None else None,
            effective_at=result.effective_at,
            keep_until=keep_until,
            provider_account_id=author.platform_id if author else None,
        )
        session.add(removal)
        session.flush()
        audit.record(
            session,
            clock,
            actor,
            AuditAction.REMOVAL_EXECUTE,
            subject_type="lawful_request",
            subject_id=request.id,
            data={
                "after": {
                    "removal_id": removal.id,
                    "locator": target.value,
                    "action": action.value,
                    "scope": removal.scope,
                    "effective_at": result.effective_at.isoformat(),
                }
            },
        )
        done.append(removal.id)
        if author is not None and keep_until is not None and author.platform_id not in authors:
            authors.append(author.platform_id)
            period = Period(
                result.effective_at - policy.default_lookback, result.effective_at + timedelta(minutes=1)
            )
            place_hold(
                session,
                clock,
                actor,
                request,
                connector,
                author.platform_id,
                [DataCategory.CONTENT],
                period,
                keep_until,
                hold_id=f"{request.tracking_number}-r{len(authors) - 1}",
                reason="removed_content",
            )
    where = "in " + ", ".join(scope) if scope else "worldwide"
    verb = "removed" if action is RemovalAction.REMOVE else "restricted"
    effective = max(
        (r.effective_at for r in session.scalars(select(Removal).where(Removal.request_id == request.id))),
        default=clock(),
    )
    kept = (
        (effective + instrument.hold.duration).date().isoformat() if instrument.hold else "the end of review"
    )
    correspond(
        session,
        clock,
        actor,
        request,
        CorrespondenceKind.EFFECT_GIVEN,
        f"Effect given: {len(done)} item(s) {verb} {where} "
        f"at {effective.isoformat()}. The content is preserved until "
        f"{kept}.",
    )
    schedule_user_notices(session, clock, actor, request, instrument, authors, policy, stage="removal")
    return done


# --- user notice ------------------------------------------------------------------------------------

NOTICE_TEXT = {
    "removal": "Content you shared was removed or restricted following a legal order "
    "({instrument}, {where}). "
    "You may contest it; the statement of reasons is available on request.",
    "disclosure": "Following legal process ({instrument}), information about your account was disclosed to a "
    "public authority.",
}


def _notice_plan(
    rule: UserNoticeRule, stage: str, request: LawfulRequest, now: datetime, policy: ExecutionPolicy
) -> tuple[str, datetime | None, str] | None:
    """(status, due, reason) of the notice an instrument's rule calls for at this stage, or None."""
    deferred = (
        request.confidential_until
        if request.confidential_until and request.confidential_until > now
        else None
    )
    barred = (
        request.non_disclosure_until
        if request.non_disclosure_until and request.non_disclosure_until > now
        else None
    )
    if rule in (UserNoticeRule.ISSUING_AUTHORITY_INFORMS, UserNoticeRule.PER_ORDER):
        if stage != "before":
            return None
        if rule is UserNoticeRule.PER_ORDER:
            return "withheld", None, "the order decides whether and when the user is told"
        return "withheld", None, "the issuing authority informs the person (Reg. 2023/1543 Art. 13)"
    if rule is UserNoticeRule.INFORM_CONTENT_PROVIDER_UNLESS_CONFIDENTIAL:
        if stage != "removal":
            return None
        if deferred:
            return "scheduled", deferred, "the authority requires confidentiality until then"
        return "scheduled", now, "the content provider is informed of the removal"
    if rule is UserNoticeRule.INFORM_RECIPIENT_UNLESS_DEFERRED:
        if stage != "after":
            return None
        return (
            "scheduled",
            deferred or now,
            "deferred by the authority" if deferred else "informed of the order",
        )
    wanted = "before" if rule is UserNoticeRule.BEFORE_DISCLOSURE_UNLESS_BARRED else "after"
    if rule is UserNoticeRule.NONE_REQUIRED or stage != wanted:
        return None
    if barred:
        return "scheduled", barred, "a non-disclosure order bars notice until then"
    if request.emergency:
        return "scheduled", now + policy.emergency_notice_delay, "emergency disclosure: notice afterwards"
    return "scheduled", now, f"notice {wanted} disclosure"


def schedule_user_notices(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    accounts: Sequence[str],
    policy: ExecutionPolicy,
    *,
    stage: str,
) -> list[str]:
    """Decide, per the instrument's rule, whether and when each affected user is told; record the reason.

    ``stage`` is ``before`` (a production is about to be built), ``after`` (the answer went out) or
    ``removal`` (content was removed). One notice per request and account, whatever the stage.
    """
    plan = _notice_plan(instrument.notice, stage, request, clock(), policy)
    if plan is None:
        return []
    status, due, reason = plan
    created = []
    for account in accounts:
        if session.scalar(
            select(UserNotice.id).where(UserNotice.request_id == request.id, UserNotice.account_id == account)
        ):
            continue
        notice = UserNotice(
            request_id=request.id, account_id=account, status=status, due_at=due, reason=reason
        )
        session.add(notice)
        session.flush()
        audit.record(
            session,
            clock,
            actor,
            AuditAction.NOTICE_SCHEDULE,
            subject_type="lawful_request",
            subject_id=request.id,
            data={
                "after": {
                    "notice_id": notice.id,
                    "status": status,
                    "due_at": due.isoformat() if due else None,
                }
            },
        )
        created.append(notice.id)
    return created


def answer(
    session: Session,
    clock: Clock,
    user: StaffUser,
    request: LawfulRequest,
    instrument: Instrument,
    connector: PlatformConnector,
    policy: ExecutionPolicy,
    message: str | None = None,
) -> None:
    """Tell the authority what was done; this ends the deadline. User notices due now go out."""
    require(user, Permission.STAFF_REQUEST_DECIDE)
    actor = staff_actor(user)
    transition(session, clock, actor, request, Transition.ANSWER)
    request.answered_at = clock()
    correspond(
        session, clock, actor, request, CorrespondenceKind.ANSWER, message or _answer_text(session, request)
    )
    accounts = [lookup.account_id for lookup in look_up_targets(request, connector) if lookup.account_id]
    if instrument.kind in (InstrumentKind.PRODUCTION, InstrumentKind.INFORMATION):
        schedule_user_notices(session, clock, actor, request, instrument, accounts, policy, stage="after")
    send_due_notices(session, clock, connector, request_id=request.id)


def _answer_text(session: Session, request: LawfulRequest) -> str:
    production = latest_production(session, request)
    removals = session.scalars(select(Removal).where(Removal.request_id == request.id)).all()
    holds = [h for h in holds_of(session, request) if h.reason == "order"]
    parts = []
    if production is not None:
        parts.append(
            f"The production ({', '.join(production.categories)}; {production.records} records) is ready for "
            f"download until {production.expires_at.isoformat()}, encrypted to your agency's registered key; "
            f"SHA-256 {production.sha256}."
        )
    if removals:
        parts.append(
            f"{len(removals)} item(s) removed or restricted; effect given at "
            f"{max(r.effective_at for r in removals).isoformat()}."
        )
    if holds:
        parts.append(
            f"Data preserved under {len(holds)} hold(s) until {max(h.expires_at for h in holds).isoformat()}."
        )
    return " ".join(parts) or "The order was executed."


def send_due_notices(
    session: Session, clock: Clock, connector: PlatformConnector, *, request_id: str | None = None
) -> list[str]:
    """Send every scheduled notice whose time has come, through the platform (e.g. a server notice)."""
    query = select(UserNotice).where(UserNotice.status == "scheduled", UserNotice.due_at <= clock())
    if request_id is not None:
        query = query.where(UserNotice.request_id == request_id)
    sent = []
    for notice in session.scalars(query.order_by(UserNotice.due_at)).all():
        request = session.get_one(LawfulRequest, notice.request_id)
        removed = session.scalar(select(Removal.id).where(Removal.request_id == request.id)) is not None
        where = ", ".join(request.territorial_scope) if request.territorial_scope else "worldwide"
        text = NOTICE_TEXT["removal" if removed else "disclosure"].format(
            instrument=request.instrument.value, where=where
        )
        notice.platform_notice_id = connector.send_notice(notice.account_id, text)
        notice.status, notice.sent_at = "sent", clock()
        audit.record(
            session,
            clock,
            Actor.system(),
            AuditAction.NOTICE_SEND,
            subject_type="lawful_request",
            subject_id=request.id,
            data={"after": {"notice_id": notice.id, "platform_notice_id": notice.platform_notice_id}},
        )
        sent.append(notice.id)
    return sent
