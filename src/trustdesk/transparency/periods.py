"""Reporting periods: a quarter (``2026-Q3``), a half-year (``2026-H1``) or a calendar year (``2026``).

A period runs from its first instant (00:00 UTC of its first day) to the first instant of the next period,
exclusive; the EU harmonised templates (Implementing Regulation (EU) 2024/2835) write it as the first and
last days, inclusive: ``2026-01-01/2026-06-30``. Pure: no ORM, no clock.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

__all__ = ["Period", "PeriodError", "PeriodKind", "parse_eu_range", "parse_period"]

_PATTERN: Final = re.compile(r"(?P<year>\d{4})(?:-(?P<kind>[QH])(?P<number>\d))?")
_EU_RANGE: Final = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})")
MIN_YEAR: Final = 2000
MAX_YEAR: Final = 2999


class PeriodError(ValueError):
    """Text that names no reporting period; the message says what is accepted."""


class PeriodKind(StrEnum):
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period; ``str(period)`` is its label (``2026-H1``)."""

    year: int
    kind: PeriodKind
    number: int
    """1-4 for a quarter, 1-2 for a half-year, 1 for a year."""

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year}-Q{self.number}"
        if self.kind is PeriodKind.HALF_YEAR:
            return f"{self.year}-H{self.number}"
        return f"{self.year}"

    def __str__(self) -> str:
        return self.label

    @property
    def _months(self) -> tuple[int, int]:
        """First month and number of months."""
        if self.kind is PeriodKind.QUARTER:
            return 3 * (self.number - 1) + 1, 3
        if self.kind is PeriodKind.HALF_YEAR:
            return 6 * (self.number - 1) + 1, 6
        return 1, 12

    @property
    def first_day(self) -> date:
        return date(self.year, self._months[0], 1)

    @property
    def last_day(self) -> date:
        """The last day of the period, inclusive."""
        return self.end.date() - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """00:00 UTC of the first day (inclusive)."""
        return datetime.combine(self.first_day, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """00:00 UTC of the day after the last day (exclusive)."""
        first, months = self._months
        month = first + months
        year = self.year + (month - 1) // 12
        return datetime(year, (month - 1) % 12 + 1, 1, tzinfo=UTC)

    @property
    def eu_range(self) -> str:
        """The period as the EU templates write it: ``YYYY-MM-DD/YYYY-MM-DD``, both days inclusive."""
        return f"{self.first_day.isoformat()}/{self.last_day.isoformat()}"

    def contains(self, at: datetime) -> bool:
        """Whether the aware instant ``at`` lies in the period."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"contains needs an aware datetime, got {at!r}")
        return self.start <= at < self.end

    def has_ended(self, now: datetime) -> bool:
        return now >= self.end

    def quarters(self) -> list["Period"]:
        """The quarters the period is made of (itself for a quarter)."""
        first = (self._months[0] - 1) // 3 + 1
        return [Period(self.year, PeriodKind.QUARTER, q) for q in range(first, first + self._months[1] // 3)]


def parse_period(text: str) -> Period:
    """``2026-Q1`` … ``2026-Q4``, ``2026-H1``, ``2026-H2`` or ``2026``; anything else raises `PeriodError`
    saying what is accepted."""
    cleaned = text.strip().upper()
    match = _PATTERN.fullmatch(cleaned)
    hint = "write a quarter (2026-Q1 … 2026-Q4), a half-year (2026-H1, 2026-H2) or a year (2026)"
    if match is None:
        raise PeriodError(f"{text!r} is not a reporting period: {hint}")
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"{text!r}: the year must lie between {MIN_YEAR} and {MAX_YEAR}")
    kind_letter, number = match["kind"], match["number"]
    if kind_letter is None:
        return Period(year, PeriodKind.YEAR, 1)
    count = 4 if kind_letter == "Q" else 2
    if not 1 <= int(number) <= count:
        which = "quarter 1 to 4" if kind_letter == "Q" else "half-year 1 or 2"
        raise PeriodError(f"{text!r}: there is no {kind_letter}{number}; use {which} ({hint})")
    kind = PeriodKind.QUARTER if kind_letter == "Q" else PeriodKind.HALF_YEAR
    return Period(year, kind, int(number))


def parse_eu_range(text: str) -> Period:
    """The period an EU template writes as ``YYYY-MM-DD/YYYY-MM-DD``; only ranges that are exactly a quarter,
    a half-year or a year are reporting periods (else `PeriodError`)."""
    match = _EU_RANGE.fullmatch(text.strip())
    if match is None:
        raise PeriodError(f"{text!r} is not a period written YYYY-MM-DD/YYYY-MM-DD")
    try:
        first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
    except ValueError as exc:
        raise PeriodError(f"{text!r}: {exc}") from None
    if last < first:
        raise PeriodError(f"{text!r}: the last day is before the first")
    if first.year != last.year:
        raise PeriodError(f"{text!r}: a reporting period lies within one calendar year")
    for kind, count in ((PeriodKind.QUARTER, 4), (PeriodKind.HALF_YEAR, 2), (PeriodKind.YEAR, 1)):
        for number in range(1, count + 1):
            period = Period(first.year, kind, number)
            if period.first_day == first and period.last_day == last:
                return period
    raise PeriodError(f"{text!r} is not exactly a quarter, a half-year or a year")
