"""Legal periods that count calendar months: "six months" is not 183 days.

A :class:`CalendarPeriod` is an ISO 8601 duration that may have years and months (``P6M``,
``P1Y2M10DT2H``). It is added to an instant by first adding the calendar months with
``dateutil.relativedelta`` (in UTC, so 31 August + P6M is 28 or 29 February: the month has no 31st),
then the exact remainder (weeks, days, hours, minutes, seconds) as elapsed time.

Pure: no I/O, no wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from dateutil.relativedelta import relativedelta

__all__ = ["CalendarPeriod"]

_PERIOD: Final = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


@dataclass(frozen=True, order=False)
class CalendarPeriod:
    """``months`` calendar months, then ``delta`` of exact elapsed time.

    Comparable only to another CalendarPeriod (for equality): "P1M" is neither longer nor
    shorter than "P30D" in general. ``instant + period`` is ``period.after(instant)``.
    """

    months: int = 0
    delta: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if isinstance(self.months, bool) or not isinstance(self.months, int) or self.months < 0:
            raise ValueError(f"months must be a non-negative integer, got {self.months!r}")
        if self.delta < timedelta(0):
            raise ValueError(f"delta must not be negative, got {self.delta}")

    @classmethod
    def parse(cls, text: str) -> CalendarPeriod:
        """Parse an ISO 8601 duration with years, months, weeks, days, hours, minutes, seconds."""
        match = _PERIOD.fullmatch(text) if isinstance(text, str) else None
        parts = {} if match is None else match.groupdict()
        if match is None or text.endswith("T") or all(v is None for v in parts.values()):
            raise ValueError(
                f"{text!r} is not a period like 'P6M', 'P60D' or 'PT8H' "
                "(ISO 8601 with years, months, weeks, days, hours, minutes, seconds)"
            )
        n = {name: int(v) for name, v in parts.items() if v is not None}
        months = 12 * n.pop("years", 0) + n.pop("months", 0)
        return cls(months, timedelta(**n))

    @property
    def is_zero(self) -> bool:
        """Whether the period is empty (no months, no time)."""
        return self.months == 0 and self.delta == timedelta(0)

    def after(self, instant: datetime) -> datetime:
        """The instant this period after ``instant`` (aware), in UTC."""
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"a period starts at an aware datetime, got naive {instant!r}")
        utc = instant.astimezone(UTC)
        return utc + relativedelta(months=self.months) + self.delta

    def __radd__(self, instant: object) -> datetime:
        """``instant + period``: the same as :meth:`after`."""
        if not isinstance(instant, datetime):
            return NotImplemented
        return self.after(instant)

    def __mul__(self, times: object) -> CalendarPeriod:
        """``n * period``: n periods back to back (n extensions of a hold)."""
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            return NotImplemented
        return CalendarPeriod(self.months * times, self.delta * times)

    __rmul__ = __mul__

    def __add__(self, other: object) -> CalendarPeriod:
        if not isinstance(other, CalendarPeriod):
            return NotImplemented
        return CalendarPeriod(self.months + other.months, self.delta + other.delta)

    def spoken(self) -> str:
        """The period as people say it: "6 months", "60 days", "8 hours", "1 month and 2 days"."""

        def unit(n: int, word: str) -> str:
            return f"{n} {word}{'s' if n != 1 else ''}"

        parts = [unit(self.months, "month")] if self.months else []
        seconds = int(self.delta.total_seconds())
        if seconds and seconds < 2 * 86_400 and seconds % 3_600 == 0:
            parts.append(unit(seconds // 3_600, "hour"))
        elif seconds and seconds % 86_400 == 0:
            parts.append(unit(seconds // 86_400, "day"))
        elif seconds:
            parts.append(unit(seconds // 60, "minute"))
        return " and ".join(parts) or "no time"

    def __str__(self) -> str:
        years, months = divmod(self.months, 12)
        seconds = int(self.delta.total_seconds())
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        date_part = "".join(f"{v}{u}" for v, u in ((years, "Y"), (months, "M"), (days, "D")) if v)
        time_part = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
        if not date_part and not time_part:
            return "PT0S"
        return "P" + date_part + (f"T{time_part}" if time_part else "")
