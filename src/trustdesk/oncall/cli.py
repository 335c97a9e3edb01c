"""``trustdesk oncall``: the on-call rota for emergencies, and acknowledging a page."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from trustdesk.cliutil import JsonFlag, emit, handles_errors, work
from trustdesk.errors import InvalidInput
from trustdesk.oncall import paging, rota
from trustdesk.oncall.models import OncallShift
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser

oncall_app = typer.Typer(
    help="Who of the legal team is on call for emergencies, and pages.", no_args_is_help=True
)

As = Annotated[str, typer.Option("--as", help="The staff member acting (their e-mail).")]


def mount(app: typer.Typer) -> None:
    """Attach ``trustdesk oncall`` to the root."""
    app.add_typer(oncall_app, name="oncall")


def _time(value: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time: {value!r}", field=field) from None
    if at.tzinfo is None:
        raise InvalidInput(f"give the time zone, e.g. {value}Z or {value}+01:00", field=field)
    return at


def _row(session: Session, shift: OncallShift) -> dict[str, Any]:
    user = session.get_one(StaffUser, shift.user_id)
    return {
        "id": shift.id,
        "email": user.email,
        "name": user.name,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "position": shift.position,
    }


def _line(row: dict[str, Any]) -> str:
    return f"{row['id']}  {row['starts_at']} → {row['ends_at']}  position {row['position']}  {row['email']}"


@oncall_app.command("add")
@handles_errors
def oncall_add(
    acting: As,
    user: Annotated[str, typer.Option(help="Who is on call (a legal reviewer or approver, by e-mail).")],
    starts: Annotated[str, typer.Option("--from", help="Start, ISO 8601 with a zone.")],
    ends: Annotated[str, typer.Option("--to", help="End, ISO 8601 with a zone (at most 14 days later).")],
    position: Annotated[int, typer.Option(help="0 is paged first, then the backups 1, 2 ...")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Add a shift to the rota (needs staff:oncall:manage)."""
    with work() as (c, session):
        actor = staff.acting_user(session, acting)
        person = staff.get_user(session, user)
        shift = rota.add_shift(
            session,
            c.clock,
            actor,
            user=person,
            starts_at=_time(starts, "from"),
            ends_at=_time(ends, "to"),
            position=position,
        )
        row = _row(session, shift)
    emit(row, as_json, f"shift {_line(row)}")


@oncall_app.command("remove")
@handles_errors
def oncall_remove(shift_id: Annotated[str, typer.Argument(help="The shift's id.")], acting: As) -> None:
    """Take a shift off the rota (needs staff:oncall:manage)."""
    with work() as (c, session):
        rota.remove_shift(session, c.clock, staff.acting_user(session, acting), shift_id)
    typer.echo(f"shift {shift_id} removed")


@oncall_app.command("list")
@handles_errors
def oncall_list(
    starts: Annotated[str | None, typer.Option("--from", help="Window start (default: now).")] = None,
    ends: Annotated[str | None, typer.Option("--to", help="Window end (default: 14 days later).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The shifts overlapping a window, by start."""
    with work() as (c, session):
        start = _time(starts, "from") if starts else c.clock()
        end = _time(ends, "to") if ends else start + timedelta(days=14)
        rows = [_row(session, s) for s in rota.shifts_between(session, start, end)]
    emit(rows, as_json, "\n".join(map(_line, rows)) or "no shift")


@oncall_app.command("now")
@handles_errors
def oncall_now(as_json: JsonFlag = False) -> None:
    """Who is on call now, in paging order."""
    with work() as (c, session):
        rows = [_row(session, s) for s in rota.on_call(session, c.clock().astimezone(UTC))]
    emit(rows, as_json, "\n".join(map(_line, rows)) or "nobody is on call: emergencies page the fallback")


@oncall_app.command("ack")
@handles_errors
def oncall_ack(page_id: Annotated[str, typer.Argument(help="The page's id.")], acting: As) -> None:
    """Acknowledge a page: you take the emergency, and it escalates no further."""
    with work() as (c, session):
        page = paging.acknowledge(session, c.clock, staff.acting_user(session, acting), page_id)
        when = page.acknowledged_at.isoformat() if page.acknowledged_at else ""
    typer.echo(f"page {page_id} acknowledged {when}")
