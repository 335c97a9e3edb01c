"""The console's conflict register (issue 9, item 10): per jurisdiction, the binding orders that asked for
more than the platform's principles disclose, of which instrument, against which principle, and how each
ended. A read over ``PrincipleConflict``; the rows are written by the review (``trustdesk.lawful``)."""

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.db import unit_of_work
from trustdesk.lawful.models import PrincipleConflict
from trustdesk.lawful.vocabulary import ConflictResolution
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, page
from trustdesk.web.console.common import frame, refused
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)

OUTCOMES = ("open", *(resolution.value for resolution in ConflictResolution))
"""How a conflict ended, in the register's column order: still open, then counsel's resolutions."""


@dataclass(frozen=True)
class ConflictLine:
    """The conflicts of one instrument with one principle in one jurisdiction."""

    instrument: str
    principle_id: str
    principle_key: str
    orders: int
    outcomes: dict[str, int]


@dataclass
class JurisdictionConflicts:
    jurisdiction: str
    orders: int = 0
    lines: list[ConflictLine] = field(default_factory=list)


def register(session: Session) -> list[JurisdictionConflicts]:
    """Every jurisdiction with a conflict, by country code; inside it by instrument, then principle.

    ``orders`` counts distinct orders: one order in conflict with two principles is one order, on two lines.
    """
    found = session.execute(
        select(
            PrincipleConflict.jurisdiction,
            PrincipleConflict.instrument,
            PrincipleConflict.principle_id,
            PrincipleConflict.principle_key,
            PrincipleConflict.request_id,
            PrincipleConflict.resolution,
        )
    ).all()
    tallies: dict[tuple[str, str, str, str], dict[str, int]] = {}
    orders: dict[str, set[str]] = {}
    for jurisdiction, instrument, principle_id, principle_key, request_id, resolution in found:
        key = (jurisdiction, instrument.value, principle_id, principle_key)
        outcome = resolution.value if resolution is not None else "open"
        tally = tallies.setdefault(key, dict.fromkeys(OUTCOMES, 0))
        tally[outcome] += 1
        orders.setdefault(jurisdiction, set()).add(request_id)
    result: dict[str, JurisdictionConflicts] = {}
    for (country, code, principle, key_name), tally in sorted(tallies.items()):
        entry = result.setdefault(country, JurisdictionConflicts(country, orders=len(orders[country])))
        entry.lines.append(ConflictLine(code, principle, key_name, sum(tally.values()), tally))
    return list(result.values())


@router.get("/conflicts")
def conflicts(request: Request, container: ContainerDep, visitor: ConsoleVisitor) -> HTMLResponse:
    if (stop := refused(request, visitor, Permission.STAFF_REQUEST_READ, post=False)) is not None:
        return stop
    with unit_of_work(container.sessions) as session:
        jurisdictions = register(session)
    return page(
        request,
        "console/conflicts.html",
        frame(visitor, "conflicts", jurisdictions=jurisdictions, outcomes=OUTCOMES),
    )
