"""``trustdesk ncmec list | send | retry``: the CyberTipline reports (18 U.S.C. § 2258A) and their sending.

``trustdesk serve`` sends due reports in its background loop (:func:`ncmec_job`); ``send`` runs one round
now. Each report is tried in a unit of work of its own, so that NCMEC's report id is kept the moment it
is answered and a later failure cannot lose it.
"""

from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy import select

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, work
from trustdesk.db import unit_of_work
from trustdesk.safety import ncmec
from trustdesk.safety.models import NcmecReport

ncmec_app = typer.Typer(help="NCMEC CyberTipline reports (18 U.S.C. 2258A).", no_args_is_help=True)
STATUSES = ("queued", "open", "reported", "failed")


def mount(app: typer.Typer) -> None:
    app.add_typer(ncmec_app, name="ncmec")


def ncmec_job(c: Container) -> Callable[[], list[str]]:
    """One round of the reports that are due, each in its own transaction."""

    def run() -> list[str]:
        with unit_of_work(c.sessions) as session:
            ids = ncmec.due(session, c.clock())
        lines = []
        for report_id in ids:
            with unit_of_work(c.sessions) as session:
                row = session.get_one(NcmecReport, report_id)
                ncmec.attempt(session, c.clock, row, c.connector, c.cybertipline, c.ncmec_reporter)
                lines.append(
                    f"ncmec {row.id}: {row.status}" + (f" ({row.last_error})" if row.last_error else "")
                )
        return lines

    return run


def _row(row: NcmecReport) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "account_id": row.account_id,
        "locator": row.locator or row.incident.get("locator"),
        "found_by": "hash match" if row.enforcement_id else "reviewer decision",
        "file_viewed": row.file_viewed,
        "queued_at": row.queued_at.isoformat(),
        "attempts": row.attempts,
        "cybertip_id": row.cybertip_id,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "last_error": row.last_error,
    }


@ncmec_app.command("list")
@handles_errors
def ncmec_list(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The reports, newest first, with NCMEC's report id once submitted and the last error."""
    if status is not None and status not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}")
    with work() as (_, session):
        query = select(NcmecReport).order_by(NcmecReport.queued_at.desc()).limit(500)
        if status is not None:
            query = query.where(NcmecReport.status == status)
        rows = [_row(r) for r in session.scalars(query)]
    lines = [
        f"{r['id']}  {r['status']:<8}  {r['found_by']:<17}  CyberTipline {r['cybertip_id'] or '-'}  "
        f"{r['locator']}" + (f"  error: {r['last_error']}" if r["last_error"] else "")
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no CyberTipline reports")


@ncmec_app.command("send")
@handles_errors
def ncmec_send() -> None:
    """Send the reports that are due now."""
    c = container()
    try:
        typer.echo("\n".join(ncmec_job(c)()) or "no report is due")
    finally:
        c.engine.dispose()


@ncmec_app.command("retry")
@handles_errors
def ncmec_retry(report_id: Annotated[str, typer.Argument()]) -> None:
    """Queue a failed report again once its cause is fixed; it resumes where it stopped."""
    with work() as (c, session):
        row = ncmec.retry(session, c.clock, Actor.operator(), report_id)
        typer.echo(f"{row.id}: {row.status} again")
