"""Statements of reasons kept for submission to the EU Transparency Database (DSA Art. 24(5)).

Each statement is stored exactly as validated when it was issued (``safety_statements.body``), in the
database's own field names; exporting writes them as JSON lines, one statement a line, oldest first.
"""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.errors import InvalidInput
from trustdesk.safety.models import StatementRecord

__all__ = ["export_lines", "statements_between", "write_jsonl"]


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def statements_between(session: Session, since: date, until: date | None) -> Iterator[StatementRecord]:
    """Statements created from the start of ``since`` to the end of ``until`` (UTC days), oldest first."""
    if until is not None and until < since:
        raise InvalidInput(f"--until {until} is before --since {since}", field="until")
    query = select(StatementRecord).where(StatementRecord.created_at >= _start(since))
    if until is not None:
        query = query.where(StatementRecord.created_at < _start(until + timedelta(days=1)))
    yield from session.scalars(
        query.order_by(StatementRecord.created_at, StatementRecord.id).execution_options(yield_per=500)
    )


def export_lines(session: Session, since: date, until: date | None) -> Iterator[str]:
    """One JSON object a line, the statement's fields exactly as the database names them."""
    for record in statements_between(session, since, until):
        yield json.dumps(record.body, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def write_jsonl(session: Session, since: date, until: date | None, out: IO[str]) -> int:
    """Write the statements to ``out``; returns how many."""
    count = 0
    for line in export_lines(session, since, until):
        out.write(line + "\n")
        count += 1
    return count
