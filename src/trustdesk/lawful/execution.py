"""Execution of decided requests through the platform connector: productions, and the holds, removals and
notices they lead to (see ``holds``, ``removals`` and ``notices``).

The connector is another system: its actions are idempotent (holds by id, removals by locator), so a
transaction that fails after a connector call can simply be run again.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, Forbidden, NotFound
from trustdesk.lawful import callbacks
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.catalogue import Instrument
from trustdesk.lawful.enforcing import delivery_waits_until, end_wait, open_objection_window
from trustdesk.lawful.holds import (
    extend_hold,
    holds_of,
    place_hold,
    preserve_on_arrival,
    production_period,
    release_hold,
    settle_holds_after_production,
)
from trustdesk.lawful.models import LawfulRequest, Production, Removal
from trustdesk.lawful.notices import schedule_user_notices, send_due_notices
from trustdesk.lawful.package import PackageMeta, build_package
from trustdesk.lawful.removals import remove
from trustdesk.lawful.review import (
    CorrespondenceKind,
    correspond,
    current_decision,
    look_up_targets,
    officer_actor,
    staff_actor,
    transition,
)
from trustdesk.lawful.workflow import RequestStatus, Transition
from trustdesk.platform.protocol import Export, PlatformConnector
from trustdesk.signing.protocol import Signer
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require
from trustdesk.vocabulary import DataCategory, InstrumentKind

__all__ = [  # used by callers through this module
    "Actor",
    "extend_hold",
    "holds_of",
    "preserve_on_arrival",
    "production_period",
    "release_hold",
    "send_due_notices",
]


@dataclass(frozen=True)
class ExecutionPolicy:
    """The platform's operating choices where the law leaves them open."""

    production_link_ttl: timedelta = timedelta(days=14)
    default_lookback: timedelta = timedelta(days=365)  # the period produced when an order names none
    emergency_hold: timedelta = timedelta(days=90)  # a hold placed on arrival, before any review
    emergency_notice_delay: timedelta = timedelta(days=90)  # notice after an emergency disclosure


@dataclass
class ExecutionReport:
    production_id: str | None = None
    holds: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


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
        deliver = delivery_waits_until(session, request)
        if deliver is not None and clock() < deliver:
            raise Conflict(
                f"{request.tracking_number} waits for the enforcing authority: delivery not before "
                f"{deliver.isoformat()} (Reg. 2023/1543 Art. 10(2))",
                code="delivery_waits",
            )
        end_wait(session, request, clock())
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
        callbacks.require_callback(session, request, instrument, step="production")  # before data leaves
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
        settle_holds_after_production(session, clock, actor, request, accounts, categories, connector)
        # After an emergency delivery a notified enforcing authority may object within 96 hours (Art. 10(4)).
        open_objection_window(session, request, clock(), period=instrument.objection_window)
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
    """The package, for active officers of the requesting agency while it is verified, until its link
    expires; audited. A de-verified agency or a deactivated officer downloads nothing, whatever the face."""
    if officer.agency_id != request.agency_id:
        raise NotFound(f"no request {request.tracking_number}", code="request_not_found")
    if not officer.active or not officer.agency.verified:
        raise Forbidden(
            "the officer is deactivated or the agency is no longer verified: nothing is downloaded",
            code="agency_not_verified",
        )
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
        ends = [h.expires_at for h in holds]
        until = "further notice" if None in ends else max(e for e in ends if e is not None).isoformat()
        parts.append(f"Data preserved under {len(holds)} hold(s) until {until}.")
    return " ".join(parts) or "The order was executed."


def purge_expired_productions(
    session: Session, clock: Clock, actor: Actor | None = None, *, limit: int | None = None
) -> list[str]:
    """Delete the encrypted package of every production whose download link has expired; audited.

    What the package was stays: its row (categories, records, size, the SHA-256 the agency checks its copy
    against, the signing key's id) and the audit events of its build and downloads. Nothing can download
    it any more (`download_production` refuses an expired link), so keeping the bytes only keeps disclosed
    personal data. Returns the ids purged, oldest expiry first; ``limit`` bounds one round.
    """
    now = clock()
    due = session.execute(
        select(
            Production.id, Production.request_id, Production.sha256, Production.size, Production.expires_at
        )
        .where(Production.expires_at <= now, func.length(Production.content) > 0)
        .order_by(Production.expires_at, Production.id)
        .limit(limit)
    ).all()
    for row in due:
        session.execute(
            update(Production).where(Production.id == row.id).values(content=b""),
            execution_options={"synchronize_session": False},
        )
        audit.record(
            session,
            clock,
            actor or Actor.system(),
            AuditAction.PRODUCTION_PURGE,
            subject_type="lawful_request",
            subject_id=row.request_id,
            data={
                "after": {
                    "production_id": row.id,
                    "sha256": row.sha256,
                    "size": row.size,
                    "link_expired_at": row.expires_at.isoformat(),
                    "content": "deleted",
                }
            },
        )
    return [row.id for row in due]
