"""``trustdesk sor export | submit | status``: statements of reasons for the EU Transparency Database.

``trustdesk serve`` submits due statements in its background loop (:func:`sor_job`); ``submit`` runs
batches now. See ``docs/transparency-database.md``.
"""

import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.app import Container
from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, work
from trustdesk.transparency import sor_submit
from trustdesk.transparency.statements import write_jsonl
from trustdesk.transparency.tdb_client import MAX_BATCH, TransparencyDatabase, client_from_settings

AUTH_PAUSE = timedelta(minutes=15)
"""After the database refused the token, the serve loop tries again this often (and alerts each time)."""

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
sor_app = typer.Typer(help="Statements of reasons (DSA Art. 17, 24(5)).", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    app.add_typer(sor_app, name="sor")


def _day(text: str, option: str) -> date:
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date like 2026-12-01") from None


@sor_app.command("export")
@handles_errors
def sor_export(
    since: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")],
    until: Annotated[str | None, typer.Option(help="Last day (UTC), YYYY-MM-DD; default: today.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Write the statements issued between the days as JSON lines, in the database's field names."""
    first = _day(since, "--since")
    last = _day(until, "--until") if until else None
    with work() as (_, session):
        if out is None:
            count = write_jsonl(session, first, last, sys.stdout)
        else:
            tmp = out.with_name(out.name + ".part")
            with tmp.open("w", encoding="utf-8") as handle:
                count = write_jsonl(session, first, last, handle)
            tmp.replace(out)  # a complete file or none
    typer.echo(f"{count} statement(s)", err=True)


def sor_job(c: Container, client: TransparencyDatabase | None = None) -> Callable[[], list[str]]:
    """One round of the serve loop: the due statements, batch after batch (at most 10 batches), each
    outcome in its own transaction. Off (nothing happens) unless ``TRUSTDESK_TDB_BASE_URL`` and
    ``TRUSTDESK_TDB_TOKEN`` are set. After a rate limit the job waits as long as the server said; after a
    refused token it alerts and tries again only every 15 minutes (statements keep their attempts)."""
    state: dict[str, Any] = {"client": client, "paused_until": None}

    def run() -> list[str]:
        now = c.clock()
        paused: datetime | None = state["paused_until"]
        if paused is not None and now < paused:
            return []
        if state["client"] is None:
            state["client"] = client_from_settings(c.settings, clock=c.clock)
            if state["client"] is None:
                return []
        rounds = sor_submit.run_rounds(c.sessions, c.clock, state["client"], limit=10 * MAX_BATCH)
        state["paused_until"] = None
        lines: list[str] = []
        for result in rounds:
            lines.extend(result.lines())
            if result.auth_error:
                state["paused_until"] = now + AUTH_PAUSE
            elif result.pause_until is not None:
                state["paused_until"] = result.pause_until
        return lines

    return run


def _dry_run(limit: int, as_json: bool) -> None:
    with work() as (c, session):
        preview = sor_submit.preview_due(session, c.clock(), limit=limit)
    data = {
        "would_send": preview.statements,
        "batches": [[s["puid"] for s in batch] for batch in preview.batches],
        "statements": [s for batch in preview.batches for s in batch],
        "refused": preview.refused,
        "checked_first": preview.checks,
    }
    head = (
        f"dry run: {preview.statements} statement(s) in {len(preview.batches)} batch(es) would be sent; "
        f"{len(preview.refused)} refused by the rules; nothing was sent or changed"
    )
    lines = [head]
    lines += [f"  batch {i + 1}: {len(b)} statement(s), {b[0]['puid']} … {b[-1]['puid']}" for i, b in
              enumerate(preview.batches)]  # fmt: skip
    lines += [f"  {puid} would be looked up first (an earlier attempt may have stored it)" for puid in
              preview.checks]  # fmt: skip
    lines += [f"  {puid} refused: {reason}" for puid, reason in preview.refused.items()]
    emit(data, as_json, "\n".join(lines))


@sor_app.command("submit")
@handles_errors
def sor_submit_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show what would be sent; send nothing.")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="At most this many statements (in batches of 100).")
    ] = MAX_BATCH,
    as_json: JsonFlag = False,
) -> None:
    """Submit the due statements of reasons to the EU Transparency Database (DSA Art. 24(5))."""
    if dry_run:
        _dry_run(limit, as_json)
        return
    c = container()
    try:
        client = client_from_settings(c.settings, clock=c.clock)
        if client is None:
            raise fail(
                "submission is off: set TRUSTDESK_TDB_BASE_URL and TRUSTDESK_TDB_TOKEN (or try --dry-run)"
            )
        with client:
            rounds = sor_submit.run_rounds(c.sessions, c.clock, client, limit=limit)
    finally:
        c.engine.dispose()
    auth = next((r.auth_error for r in rounds if r.auth_error), None)
    data = {
        "batches": [r.batch_id for r in rounds if r.batch_id],
        "submitted": {k: v for r in rounds for k, v in r.submitted.items()},
        "already_there": [p for r in rounds for p in r.already_there],
        "rejected": {k: v for r in rounds for k, v in r.rejected.items()},
        "error": auth or next((r.error for r in rounds if r.error), None),
        "retry_at": next((r.retry_at.isoformat() for r in rounds if r.retry_at), None),
        "requests": sum(r.requests for r in rounds),
    }
    lines = [line for r in rounds for line in r.lines()] or ["no statement is due"]
    if auth:
        typer.echo(json.dumps(data, indent=2) if as_json else "\n".join(lines))
        raise fail(f"the EU Transparency Database refused the token: {auth}")
    emit(data, as_json, "\n".join(lines))


@sor_app.command("status")
@handles_errors
def sor_status(as_json: JsonFlag = False) -> None:
    """The submissions by status (pending, submitted, rejected, not yet queued) and the last errors."""
    with work() as (c, session):
        report = sor_submit.status_report(session, c.clock())
    counts = report["counts"]
    head = (
        f"pending {counts['pending']} (due now {report['pending_due']}, "
        f"in doubt {report['pending_in_doubt']}, next attempt {report['next_attempt_at'] or '-'}), "
        f"submitted {counts['submitted']}, rejected {counts['rejected']}, "
        f"not yet queued {counts['not_queued']}"
    )
    lines = [head]
    lines += [
        f"  {e['puid']}  {e['status']:<9} attempts {e['attempts']}  {e['error']}"
        for e in report["last_errors"]
    ]
    emit(report, as_json, "\n".join(lines))
