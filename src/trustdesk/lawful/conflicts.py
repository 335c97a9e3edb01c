"""Principles against binding orders (issue 9, item 10): the conflict register and counsel's decision.

When a binding order (a valid EPOC for content from a judge, a US warrant) lawfully compels more than the
platform's principles disclose, the engine escalates with ``principle_conflict`` and names the conflicts.
The desk records one ``PrincipleConflict`` per principle and request, and counsel decides: comply (with a
justification), refuse through Annex III on a ground the law lists, or challenge the order. The register
per jurisdiction is the evidence a platform needs before deciding to leave a market.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput
from trustdesk.lawful.catalogue import Instrument
from trustdesk.lawful.models import Decision, LawfulRequest, PrincipleConflict
from trustdesk.lawful.review import (
    CorrespondenceKind,
    DecisionOutcome,
    _ensure_in_review,
    correspond,
    decide,
    staff_actor,
    transition,
)
from trustdesk.lawful.vocabulary import AnnexIIIGround, ConflictResolution
from trustdesk.lawful.workflow import RequestStatus, Transition
from trustdesk.policy.engine import Recommendation
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

__all__ = ["RegisterRow", "conflict_register", "conflicts_of", "record_conflicts", "resolve_conflicts"]


def conflicts_of(session: Session, request: LawfulRequest) -> list[PrincipleConflict]:
    return list(
        session.scalars(
            select(PrincipleConflict)
            .where(PrincipleConflict.request_id == request.id)
            .order_by(PrincipleConflict.detected_at, PrincipleConflict.principle_id)
        )
    )


def record_conflicts(
    session: Session, clock: Clock, actor: Actor, request: LawfulRequest, recommendation: Recommendation
) -> list[PrincipleConflict]:
    """One register row per principle the recommendation found in conflict with the order; idempotent."""
    known = {c.principle_id for c in conflicts_of(session, request)}
    added = []
    for conflict in recommendation.conflicts:
        if conflict.principle_id in known:
            continue
        row = PrincipleConflict(
            request_id=request.id,
            jurisdiction=request.agency.country,
            instrument=request.instrument,
            principle_id=conflict.principle_id,
            principle_key=str(conflict.principle_key),
            categories=sorted(c.value for c in conflict.categories),
            detected_at=clock(),
        )
        session.add(row)
        known.add(conflict.principle_id)
        added.append(row)
    if added:
        session.flush()
        audit.record(
            session,
            clock,
            actor,
            AuditAction.CONFLICT_RECORD,
            subject_type="lawful_request",
            subject_id=request.id,
            data={"after": {"principles": [row.principle_id for row in added]}},
        )
    return added


def resolve_conflicts(
    session: Session,
    clock: Clock,
    user: StaffUser,
    request: LawfulRequest,
    instrument: Instrument,
    recommendation: Recommendation,
    *,
    resolution: ConflictResolution | str,
    justification: str,
    ground: AnnexIIIGround | str | None = None,
    documents_confirmed: bool = False,
) -> Decision | None:
    """Counsel's answer to a binding order that conflicts with the principles.

    COMPLIED: decide comply (every requested category), justified, once counsel opened and confirmed the
    signed order (`trustdesk.lawful.documents`). REFUSED: refuse on an Annex III
    ground, which the answer to the authority names. CHALLENGED: the order is challenged (the legal clock
    keeps running). Every open register row of the request records the resolution."""
    require(user, Permission.STAFF_REQUEST_DECIDE)
    try:
        resolution = ConflictResolution(resolution)
        ground = AnnexIIIGround(ground) if ground is not None else None
    except ValueError as exc:
        raise InvalidInput(str(exc), field="ground" if ground is not None else "resolution") from None
    note = justification.strip()
    if not note:
        raise InvalidInput(
            "counsel's decision needs a justification", code="justification_required", field="justification"
        )
    actor = staff_actor(user)
    record_conflicts(session, clock, actor, request, recommendation)
    open_rows = [row for row in conflicts_of(session, request) if row.resolution is None]
    if not open_rows:
        raise Conflict(f"{request.tracking_number} has no open principle conflict", code="no_conflict")
    if (resolution is ConflictResolution.REFUSED) != (ground is not None):
        raise InvalidInput("a refusal names its Annex III ground, and only a refusal does", field="ground")
    decision: Decision | None = None
    if resolution is not ConflictResolution.CHALLENGED and request.status is RequestStatus.CHALLENGED:
        transition(session, clock, actor, request, Transition.END_CHALLENGE)
    if resolution is ConflictResolution.COMPLIED:
        decision = decide(
            session,
            clock,
            user,
            request,
            instrument,
            recommendation,
            outcome=DecisionOutcome.COMPLY,
            categories=list(request.data_categories),
            justification=note,
            documents_confirmed=documents_confirmed,
        )
    elif resolution is ConflictResolution.REFUSED:
        assert ground is not None
        decision = decide(
            session,
            clock,
            user,
            request,
            instrument,
            recommendation,
            outcome=DecisionOutcome.REFUSE,
            categories=[],
            justification=f"Ground for refusal (Regulation (EU) 2023/1543 Annex III): {ground.value}. {note}",
        )
    elif resolution is ConflictResolution.CHALLENGED:
        _ensure_in_review(session, clock, user, request)
        transition(session, clock, actor, request, Transition.CHALLENGE)
        correspond(
            session,
            clock,
            actor,
            request,
            CorrespondenceKind.NOTE,
            f"The platform challenges this order before the competent authority. {note}",
        )
    else:
        raise InvalidInput("counsel complies, refuses or challenges", field="resolution")
    now = clock()
    for row in open_rows:
        row.resolution, row.legal_ground, row.justification = resolution, ground, note
        row.resolved_by, row.resolved_at = user.id, now
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.CONFLICT_RESOLVE,
        subject_type="lawful_request",
        subject_id=request.id,
        data={
            "after": {
                "resolution": resolution.value,
                "legal_ground": ground.value if ground else None,
                "principles": [row.principle_id for row in open_rows],
            }
        },
    )
    return decision


@dataclass(frozen=True)
class RegisterRow:
    """How many orders of one instrument from one jurisdiction conflicted with one principle, and how
    each ended (``None`` = still open)."""

    jurisdiction: str
    instrument: str
    principle: str
    count: int
    by_resolution: dict[str, int] = field(default_factory=dict)


def conflict_register(session: Session) -> list[RegisterRow]:
    """The conflict register per jurisdiction, instrument and principle, for the console."""
    rows: dict[tuple[str, str, str], dict[str, int]] = {}
    found: Iterable[PrincipleConflict] = session.scalars(select(PrincipleConflict))
    for conflict in found:
        key = (conflict.jurisdiction, conflict.instrument.value, conflict.principle_id)
        outcome = conflict.resolution.value if conflict.resolution else "open"
        tally = rows.setdefault(key, {})
        tally[outcome] = tally.get(outcome, 0) + 1
    return [
        RegisterRow(j, i, p, sum(tally.values()), dict(sorted(tally.items())))
        for (j, i, p), tally in sorted(rows.items())
    ]
