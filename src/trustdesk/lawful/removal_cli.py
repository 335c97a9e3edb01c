"""``trustdesk removal``: the legal team's answers on a TCO removal order from the command line.

Scrutiny of a cross-border order (Regulation (EU) 2021/784 Art. 4) and complaints of the content provider
(Art. 10); the same use cases as ``/api/v1/staff/requests/{tracking}/scrutiny|complaints``.
"""

from typing import Annotated

import typer

from trustdesk.cliutil import JsonFlag, emit, handles_errors
from trustdesk.errors import NotFound
from trustdesk.lawful import removals, review
from trustdesk.lawful.cli import AsUser, staff_work
from trustdesk.lawful.vocabulary import ScrutinyOutcome
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

removal_app = typer.Typer(help="TCO removal orders: scrutiny and complaints.", no_args_is_help=True)
Tracking = Annotated[str, typer.Argument(help="The removal order's tracking number.")]


@removal_app.command("scrutiny")
@handles_errors
def scrutiny(
    tracking_number: Tracking,
    as_user: AsUser,
    note: Annotated[str, typer.Option(help="Why the order seems to infringe the Regulation or the Charter.")],
    as_json: JsonFlag = False,
) -> None:
    """Ask the competent authority to scrutinise a cross-border order (within 48 hours of receipt)."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        require(user, Permission.STAFF_REQUEST_DECIDE)
        actor = review.staff_actor(user)
        window = removals.request_scrutiny(
            session, c.clock, actor, request, c.catalogue.get(request.instrument), note
        )
        due = window.due_at.isoformat() if window.due_at else None
        emit(
            {"tracking_number": tracking_number, "decision_due_at": due},
            as_json,
            f"scrutiny asked; due {due}",
        )


@removal_app.command("scrutiny-decision")
@handles_errors
def scrutiny_decision(
    tracking_number: Tracking,
    as_user: AsUser,
    outcome: Annotated[ScrutinyOutcome, typer.Option(help="infringement reinstates the content.")],
    note: Annotated[str | None, typer.Option(help="What the authority said.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record the competent authority's scrutiny decision."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        require(user, Permission.STAFF_REQUEST_DECIDE)
        actor = review.staff_actor(user)
        removals.record_scrutiny_decision(session, c.clock, actor, request, outcome, c.connector, note)
        reinstated = [r.locator for r in removals.removals_of(session, request) if r.reinstated_at]
        emit(
            {"tracking_number": tracking_number, "outcome": outcome.value, "reinstated": reinstated},
            as_json,
            f"{outcome.value}; reinstated: {', '.join(reinstated) or 'nothing'}",
        )


@removal_app.command("complaint")
@handles_errors
def complaint(
    tracking_number: Tracking,
    removal_id: Annotated[str, typer.Argument(help="The removal complained about.")],
    as_user: AsUser,
    body: Annotated[str, typer.Option(help="The complaint, as received.")],
    as_json: JsonFlag = False,
) -> None:
    """Record a content provider's complaint about a removal; it is due in two weeks."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        require(user, Permission.STAFF_REQUEST_DECIDE)
        if all(r.id != removal_id for r in removals.removals_of(session, request)):
            raise NotFound(f"{tracking_number} has no removal {removal_id}", code="removal_not_found")
        instrument = c.catalogue.get(request.instrument)
        made = removals.receive_complaint(
            session, c.clock, review.staff_actor(user), removal_id, body, instrument
        )
        emit(
            {"complaint_id": made.id, "due_at": made.due_at.isoformat()},
            as_json,
            f"complaint {made.id}; answer due {made.due_at.isoformat()}",
        )


@removal_app.command("answer")
@handles_errors
def answer(
    tracking_number: Tracking,
    complaint_id: Annotated[str, typer.Argument()],
    as_user: AsUser,
    text: Annotated[str, typer.Option("--answer", help="The reasons given to the complainant.")],
    upheld: Annotated[bool, typer.Option("--upheld/--dismissed", help="Upheld reinstates the content.")],
    as_json: JsonFlag = False,
) -> None:
    """Answer a complaint; an upheld one reinstates the content."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        require(user, Permission.STAFF_REQUEST_DECIDE)
        removals.answer_complaint(
            session,
            c.clock,
            review.staff_actor(user),
            complaint_id,
            upheld,
            text,
            c.connector,
            answered_by=user.id,
            request=request,
        )
        verdict = "upheld" if upheld else "dismissed"
        emit(
            {"complaint_id": complaint_id, "upheld": upheld}, as_json, f"complaint {complaint_id}: {verdict}"
        )
