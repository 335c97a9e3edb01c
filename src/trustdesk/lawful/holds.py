"""Preservation holds: placed, extended, confirmed for a production request, and ended only as the law says.

A hold ends when it lapses, when the issuing authority withdraws it or says the data is no longer needed,
or when a production request it was confirmed for (Reg. 2023/1543 Annex V) was delivered in full. A
production alone never releases preserved data (Art. 11(1)).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.catalogue import HoldRule, Instrument
from trustdesk.lawful.models import LawfulRequest, PreservationHold
from trustdesk.lawful.review import look_up_targets
from trustdesk.lawful.vocabulary import HoldEnd
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.platform.protocol import Period, PlatformConnector
from trustdesk.vocabulary import DataCategory

if TYPE_CHECKING:
    from trustdesk.lawful.execution import ExecutionPolicy

ARRIVAL_REASONS = ("emergency", "on_receipt")
"""Holds a request places on itself when it arrives: its own production in full ends them."""
KEPT_UNTIL_RELEASED = timedelta(days=3650)
"""The platform's expiry of a hold kept as long as needed: a backstop; the desk releases it when it ends."""


def production_period(request: LawfulRequest, policy: "ExecutionPolicy") -> Period:
    """The period of data a request covers: the one it names, else the policy's look-back from receipt."""
    if request.period_start and request.period_end:
        return Period(request.period_start, request.period_end)
    return Period(request.received_at - policy.default_lookback, request.received_at)


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


def open_holds_of(session: Session, request: LawfulRequest) -> list[PreservationHold]:
    return [h for h in holds_of(session, request) if h.released_at is None]


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
    if hold.expires_at is None:
        raise Conflict(
            f"hold {hold_id} is kept as long as the confirmed production request needs it: nothing to extend",
            code="extension_not_needed",
        )
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
    session: Session,
    clock: Clock,
    actor: Actor,
    hold_id: str,
    connector: PlatformConnector,
    reason: str,
    ended: HoldEnd = HoldEnd.WITHDRAWN,
) -> PreservationHold:
    """End a hold. Without ``ended`` it is the authority's withdrawal (the request or the hold withdrawn)."""
    hold = _hold(session, hold_id)
    connector.release_hold(hold_id)
    hold.released_at, hold.ended = clock(), ended
    audit.record(
        session,
        clock,
        actor,
        AuditAction.HOLD_RELEASE,
        subject_type="lawful_request",
        subject_id=hold.request_id,
        data={"hold_id": hold_id, "reason": reason, "after": {"ended": ended.value}},
    )
    return hold


def end_holds(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    connector: PlatformConnector,
    ended: HoldEnd,
    note: str | None = None,
) -> list[PreservationHold]:
    """The issuing authority withdrew the preservation or no longer needs the data: its holds end."""
    if ended not in (HoldEnd.WITHDRAWN, HoldEnd.NO_LONGER_NEEDED):
        raise InvalidInput(f"an authority ends a hold as withdrawn or no_longer_needed, not {ended}")
    holds = open_holds_of(session, request)
    if not holds:
        raise Conflict(f"{request.tracking_number} has no hold in place", code="no_open_hold")
    reason = f"the issuing authority: {ended.value}" + (f" ({note})" if note else "")
    return [release_hold(session, clock, actor, h.id, connector, reason, ended) for h in holds]


def confirm_production(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    production_reference: str,
    connector: PlatformConnector,
) -> list[PreservationHold]:
    """The authority confirms a production request was issued (Annex V): its holds wait for that production.

    Where the hold rule says so (EPOC-PR, Art. 11(1)) the data is then kept as long as needed to produce
    it: the hold no longer lapses; it ends when that production is delivered in full or is withdrawn."""
    holds = open_holds_of(session, request)
    if not holds:
        raise Conflict(f"{request.tracking_number} has no hold in place", code="no_open_hold")
    indefinite = bool(instrument.hold and instrument.hold.until_production_confirmed)
    now = clock()
    for hold in holds:
        before = hold.expires_at.isoformat() if hold.expires_at else None
        hold.production_confirmed_at, hold.production_reference = now, production_reference.strip()
        if indefinite:
            hold.expires_at = None
            connector.extend_hold(hold.id, now + KEPT_UNTIL_RELEASED)
        audit.record(
            session,
            clock,
            actor,
            AuditAction.HOLD_CONFIRM_PRODUCTION,
            subject_type="lawful_request",
            subject_id=request.id,
            data={
                "hold_id": hold.id,
                "before": {"expires_at": before},
                "after": {
                    "production_reference": hold.production_reference,
                    "expires_at": hold.expires_at.isoformat() if hold.expires_at else None,
                },
            },
        )
    return holds


def holds_awaiting(session: Session, request: LawfulRequest) -> list[PreservationHold]:
    """Open holds a production for ``request`` may end: its own arrival holds, and the same agency's holds
    confirmed for this very production request (by its tracking number)."""
    own = (
        PreservationHold.request_id == request.id,
        PreservationHold.reason.in_(ARRIVAL_REASONS),
    )
    confirmed = (
        PreservationHold.production_confirmed_at.is_not(None),
        PreservationHold.production_reference == request.tracking_number,
        LawfulRequest.agency_id == request.agency_id,
    )
    return list(
        session.scalars(
            select(PreservationHold)
            .join(LawfulRequest, LawfulRequest.id == PreservationHold.request_id)
            .where(PreservationHold.released_at.is_(None), or_(and_(*own), and_(*confirmed)))
            .order_by(PreservationHold.id)
        )
    )


def settle_holds_after_production(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    accounts: Sequence[str],
    categories: Sequence[DataCategory],
    connector: PlatformConnector,
) -> list[str]:
    """A delivered production ends a hold waiting for it only if it produced everything the hold keeps
    (its account and every category); otherwise the hold stays (Reg. 2023/1543 Art. 11(1))."""
    produced = {c.value for c in categories}
    ended = []
    for hold in holds_awaiting(session, request):
        if hold.account_id in accounts and set(hold.categories) <= produced:
            release_hold(
                session,
                clock,
                actor,
                hold.id,
                connector,
                f"delivered in full by the production of {request.tracking_number}",
                HoldEnd.DELIVERED,
            )
            ended.append(hold.id)
    return ended


def lapse_holds(session: Session, clock: Clock, connector: PlatformConnector) -> list[str]:
    """End every hold whose period (with any lawful extension) ran out; for the monitor to call."""
    now = clock()
    due = session.scalars(
        select(PreservationHold)
        .where(
            PreservationHold.released_at.is_(None),
            PreservationHold.expires_at.is_not(None),
            PreservationHold.expires_at <= now,
        )
        .order_by(PreservationHold.expires_at)
    ).all()
    for hold in due:
        release_hold(session, clock, Actor.system(), hold.id, connector, "its period ran out", HoldEnd.LAPSED)
    return [h.id for h in due]


def preserve_on_arrival(
    session: Session,
    clock: Clock,
    request: LawfulRequest,
    connector: PlatformConnector,
    policy: "ExecutionPolicy",
    instrument: Instrument | None = None,
) -> list[str]:
    """Preserve at once, before any review, so nothing is lost while the desk decides: every emergency,
    and every order whose instrument preserves on receipt (an EPOC, Reg. 2023/1543 Art. 10(1))."""
    on_receipt = bool(instrument and instrument.preserve_on_receipt)
    if not (request.emergency or on_receipt) or request.status is RequestStatus.REFUSED:
        return []
    categories = [DataCategory(c) for c in request.data_categories]
    if not categories:
        return []
    reason, tag = ("emergency", "e") if request.emergency else ("on_receipt", "p")
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
                    hold_id=f"{request.tracking_number}-{tag}{n}",
                    reason=reason,
                ).id
            )
    return held
