"""``trustdesk sor``: statements of reasons for the EU Transparency Database, from the command line."""

import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from trustdesk.cliutil import fail, handles_errors, work
from trustdesk.transparency.statements import write_jsonl

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
