"""The dossier's vocabulary and the pure rules its lines follow (no ORM, no clock of its own).

A dossier is one canonical JSON document (sorted keys, no whitespace, UTF-8): its scope (an agency or a
country), its period (whole UTC days, both ends included), the signed checkpoint every line is proven
against, the number of lines, and the lines, numbered from 1 in order of receipt.
"""

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.monitor import SlaState, state_of
from trustdesk.transparency.tlog.leaves import timestamp

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SYNCHRONOUS_CHANNELS",
    "Deadline",
    "LogStatus",
    "Period",
    "acknowledged_at",
    "deadline_of",
    "parse_stamp",
    "stamp",
]

FORMAT: Final = "trustdesk-responsiveness-dossier"
FORMAT_VERSION: Final = 1
SYNCHRONOUS_CHANNELS: Final = frozenset({"api", "portal", "demo"})
"""Channels whose intake answers the submission itself with the acknowledgement (tracking number, deadline,
log receipt): acknowledged at the instant of receipt. Other channels (e-mail, the mailroom) record their
acknowledgement separately; until they do, a line of theirs says ``acknowledged_at: null``."""


class Deadline(StrEnum):
    """Where a request stands against its legal deadline, as of the dossier's ``built_at``."""

    MET = "met"
    """Answered at or before the deadline (or while the clock was paused)."""
    MISSED = "missed"
    """Answered after the deadline, or not answered and past it."""
    OPEN = "open"
    """Not answered yet and still within the deadline."""
    PAUSED = "paused"
    """Not answered; the clock is stopped (a clarification the instrument lets pause it)."""
    WITHDRAWN = "withdrawn"
    """Withdrawn by the authority before an answer: no answer was due any more."""


class LogStatus(StrEnum):
    INCLUDED = "included"
    """The leaf is in the dossier's signed head: the line carries its index and inclusion proof."""
    PENDING = "pending"
    """The leaf is written but the sequencer had not put it in a signed head when the dossier was built."""
    MISSING = "missing"
    """No receipt leaf at all (never expected: the log writes one with every request)."""


def stamp(moment: datetime | None) -> str | None:
    """Every time of a dossier as the log writes them: UTC, microseconds, ``Z``."""
    return None if moment is None else timestamp(moment)


def parse_stamp(text: str) -> datetime:
    """The inverse of `stamp` (ValueError on anything else)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Period:
    """Whole UTC days ``[since, until]``, both included."""

    def __init__(self, since: date, until: date) -> None:
        if until < since:
            raise ValueError(f"the period ends ({until}) before it begins ({since})")
        self.since, self.until = since, until

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.until + timedelta(days=1), time(0), tzinfo=UTC)

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def acknowledged_at(channel: str, received_at: datetime) -> datetime | None:
    return received_at if channel in SYNCHRONOUS_CHANNELS else None


def deadline_of(
    *,
    received_at: datetime,
    due_at: datetime | None,
    answered_at: datetime | None,
    withdrawn: bool,
    now: datetime,
) -> Deadline:
    """Met, missed, open, paused or withdrawn, by the deadline monitor's own rules: an answer at the due
    instant is in time (`clock.is_overdue`), an unanswered request is judged as the SLA view judges it
    (`monitor.state_of`: ``due_at`` None is a paused clock)."""
    if answered_at is not None:
        if due_at is None:  # answered while the clock was stopped: nothing was late
            return Deadline.MET
        return Deadline.MISSED if deadlines.is_overdue(due_at, answered_at) else Deadline.MET
    if withdrawn:
        return Deadline.WITHDRAWN
    state = state_of(received_at, due_at, now)
    if state is SlaState.PAUSED:
        return Deadline.PAUSED
    return Deadline.MISSED if state is SlaState.OVERDUE else Deadline.OPEN
