"""The on-call rota: who of the legal team is on call for emergencies when, first (position 0) and backups.

Use cases over `OncallShift`; the caller's session is the unit of work (nothing commits here). Adding
and removing a shift needs ``staff:oncall:manage`` and leaves an audit event; bad input raises
`InvalidInput` (or `Conflict` for an overlap) before anything is written.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.oncall.models import OncallShift
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission, Role

__all__ = [
    "LEGAL_ROLES",
    "MAX_POSITION",
    "MAX_SHIFT",
    "add_shift",
    "is_legal",
    "on_call",
    "remove_shift",
    "shifts_between",
]

MAX_SHIFT = timedelta(days=14)
"""The longest shift: a rota, not a standing assignment."""
MAX_POSITION = 9
"""Position 0 is paged first, then 1, 2 ... (the backups), up to this one."""
LEGAL_ROLES = frozenset({Role.LEGAL_REVIEWER, Role.LEGAL_APPROVER})
"""Who may be on call: a lawyer of the desk, who can act on an emergency request."""
SUBJECT = "oncall_shift"


def is_legal(user: StaffUser) -> bool:
    return user.active and bool(user.roles & LEGAL_ROLES)


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} needs a time zone (e.g. 2026-11-02T22:00:00Z)", field=field)
    return value


def _view(shift: OncallShift) -> dict[str, object]:
    return {
        "user_id": shift.user_id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "position": shift.position,
    }


def _live() -> "ColumnElement[bool]":
    return OncallShift.removed_at.is_(None)


def add_shift(
    session: Session,
    clock: Clock,
    actor: StaffUser | None,
    *,
    user: StaffUser,
    starts_at: datetime,
    ends_at: datetime,
    position: int = 0,
) -> OncallShift:
    """Put ``user`` on call from ``starts_at`` to ``ends_at`` at ``position``.

    ``actor`` is the staff member doing it (``staff:oncall:manage``), or None for the operator at the
    server's CLI. Refused: a user who is not an active legal reviewer or approver, a shift that does not
    end after it starts, ends in the past or is longer than `MAX_SHIFT`, a position outside 0..9, and a
    shift overlapping the same person's other shift or another person's at the same position.
    """
    if actor is not None:
        staff.require(actor, Permission.STAFF_ONCALL_MANAGE)
    starts_at, ends_at = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    if not is_legal(user):
        raise InvalidInput(
            f"{user.email} cannot be on call: only an active legal reviewer or legal approver can",
            code="not_legal_staff",
            field="user",
        )
    if ends_at <= starts_at:
        raise InvalidInput("a shift ends after it starts", code="shift_ends_before_start", field="ends_at")
    if ends_at - starts_at > MAX_SHIFT:
        raise InvalidInput(
            f"a shift lasts at most {MAX_SHIFT.days} days", code="shift_too_long", field="ends_at"
        )
    if ends_at <= clock():
        raise InvalidInput("the shift is already over", code="shift_in_the_past", field="ends_at")
    if isinstance(position, bool) or not 0 <= position <= MAX_POSITION:
        raise InvalidInput(
            f"the position is 0 (paged first) to {MAX_POSITION} (last backup)", field="position"
        )
    overlapping = session.scalars(
        select(OncallShift).where(_live(), OncallShift.starts_at < ends_at, OncallShift.ends_at > starts_at)
    ).all()
    for other in overlapping:
        if other.user_id == user.id:
            raise Conflict(
                f"{user.email} is already on call from {other.starts_at.isoformat()} to "
                f"{other.ends_at.isoformat()}",
                code="shift_overlap",
                field="starts_at",
            )
        if other.position == position:
            raise Conflict(
                f"position {position} is already taken from {other.starts_at.isoformat()} to "
                f"{other.ends_at.isoformat()}: choose another position (a backup) or time",
                code="position_taken",
                field="position",
            )
    shift = OncallShift(
        user_id=user.id,
        starts_at=starts_at,
        ends_at=ends_at,
        position=position,
        created_by=actor.id if actor is not None else None,
        created_at=clock(),
    )
    session.add(shift)
    session.flush()
    audit.record(
        session,
        clock,
        _actor(actor),
        AuditAction.ONCALL_SHIFT_ADD,
        subject_type=SUBJECT,
        subject_id=shift.id,
        data={"after": _view(shift)},
    )
    return shift


def _actor(user: StaffUser | None) -> Actor:
    return Actor.operator() if user is None else Actor(ActorKind.STAFF, user.id)


def remove_shift(session: Session, clock: Clock, actor: StaffUser | None, shift_id: str) -> OncallShift:
    """Take a shift off the rota (kept, marked removed); audited. ``actor`` as in `add_shift`."""
    if actor is not None:
        staff.require(actor, Permission.STAFF_ONCALL_MANAGE)
    shift = session.get(OncallShift, shift_id)
    if shift is None:
        raise NotFound(f"no on-call shift {shift_id}", code="shift_not_found")
    if shift.removed_at is not None:
        raise Conflict(f"the shift {shift_id} was already removed", code="shift_removed")
    shift.removed_at = clock()
    session.flush()
    audit.record(
        session,
        clock,
        _actor(actor),
        AuditAction.ONCALL_SHIFT_REMOVE,
        subject_type=SUBJECT,
        subject_id=shift.id,
        data={"before": _view(shift)},
    )
    return shift


def on_call(session: Session, at: datetime) -> list[OncallShift]:
    """The shifts covering ``at``, in paging order (position, then who started first), of people who can
    still act (active, with a legal role)."""
    _aware(at, "at")
    shifts = session.scalars(
        select(OncallShift)
        .where(_live(), OncallShift.starts_at <= at, OncallShift.ends_at > at)
        .order_by(OncallShift.position, OncallShift.starts_at, OncallShift.id)
    ).all()
    users = _users(session, shifts)
    return [s for s in shifts if is_legal(users[s.user_id])]


def shifts_between(session: Session, start: datetime, end: datetime) -> list[OncallShift]:
    """The shifts (not removed) overlapping ``[start, end)``, by start, then position."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        raise InvalidInput("the window ends after it starts", field="end")
    return list(
        session.scalars(
            select(OncallShift)
            .where(_live(), OncallShift.starts_at < end, OncallShift.ends_at > start)
            .order_by(OncallShift.starts_at, OncallShift.position, OncallShift.id)
        )
    )


def _users(session: Session, shifts: Sequence[OncallShift]) -> dict[str, StaffUser]:
    ids = {s.user_id for s in shifts}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))}
