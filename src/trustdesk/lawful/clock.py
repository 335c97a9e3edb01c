"""Deadline arithmetic for lawful requests: when an answer is due, when a hold lapses.

Pure functions of their inputs: no ORM, no web, never the wall clock (callers pass
``now`` from the injected clock). Every datetime argument must be aware; results are
UTC. Durations are exact elapsed time computed in UTC, so a period spanning a
daylight-saving change is neither an hour short nor an hour long; hold periods may
count calendar months (:class:`~trustdesk.legaltime.CalendarPeriod`). Periods that
protect someone else's right to object end as Regulation (EEC, Euratom) No 1182/71
says (:func:`protective_period_end`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from trustdesk.lawful.catalogue import DeadlineRule, HoldRule, PauseRule

__all__ = [
    "ExtensionNotAllowed",
    "Pause",
    "due_at",
    "hold_expires_at",
    "is_at_risk",
    "is_overdue",
    "protective_period_end",
    "time_left",
]


class ExtensionNotAllowed(ValueError):
    """More extensions of a hold than the law allows, or a negative number of them."""


def _utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Pause:
    """A period during which the clock is stopped, e.g. awaiting a clarification.

    ``end`` is None while the pause is still open. Both ends are stored in UTC.
    """

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        start = _utc("Pause.start", self.start)
        object.__setattr__(self, "start", start)
        if self.end is not None:
            end = _utc("Pause.end", self.end)
            if end < start:
                raise ValueError(f"pause ends ({end.isoformat()}) before it starts ({start.isoformat()})")
            object.__setattr__(self, "end", end)

    @property
    def is_open(self) -> bool:
        return self.end is None


_Interval = tuple[datetime, datetime | None]


def _merged(pauses: Sequence[Pause], received: datetime) -> list[_Interval]:
    """Pauses as sorted, disjoint intervals: overlapping pauses count once."""
    intervals: list[_Interval] = []
    for pause in sorted(pauses, key=lambda p: p.start):
        if pause.start < received:
            raise ValueError(
                f"a pause starting {pause.start.isoformat()} precedes receipt at {received.isoformat()}"
            )
        if intervals:
            first, last_end = intervals[-1]
            if last_end is None:
                break  # an open pause contains every later one
            if pause.start <= last_end:
                end = None if pause.end is None else max(last_end, pause.end)
                intervals[-1] = (first, end)
                continue
        intervals.append((pause.start, pause.end))
    return intervals


def due_at(
    rule: DeadlineRule,
    received_at: datetime,
    *,
    emergency: bool = False,
    pauses: Sequence[Pause] = (),
    ordered_due_at: datetime | None = None,
) -> datetime | None:
    """When the answer is due, in UTC; None while an open pause stops the clock.

    - ``emergency`` takes the emergency period (ValueError if there is none).
    - ``ordered_due_at``: the date the order itself sets. Only for ``as_ordered``
      rules (else ValueError), and it must be after receipt. It replaces the period.
    - Pauses are ignored under :attr:`PauseRule.NONE`. Otherwise a pause counts only
      if it starts before the deadline as it stands by then (one asked for after the
      deadline passed does not revive it); overlapping pauses count once; a pause
      before receipt is a ValueError. :attr:`PauseRule.SUSPEND` shifts the deadline
      by the paused time; :attr:`PauseRule.RESTART` starts the full period again at
      the end of the (last) pause.
    """
    received = _utc("received_at", received_at)
    if emergency and rule.emergency is None:
        raise ValueError("this instrument has no emergency track")
    if ordered_due_at is not None:
        if not rule.as_ordered:
            raise ValueError("this deadline is set by law; an order cannot set it")
        ordered = _utc("ordered_due_at", ordered_due_at)
        if ordered <= received:
            raise ValueError(
                f"ordered due date {ordered.isoformat()} is not after receipt {received.isoformat()}"
            )
        period = ordered - received
    elif emergency and rule.emergency is not None:
        period = rule.emergency
    else:
        period = rule.standard

    due = received + period
    if rule.pause is PauseRule.NONE:
        return due
    for start, end in _merged(pauses, received):
        if start >= due:
            break  # the deadline had passed when this pause began
        if end is None:
            return None  # the clock is stopped
        due = due + (end - start) if rule.pause is PauseRule.SUSPEND else end + period
    return due


def hold_expires_at(rule: HoldRule, placed_at: datetime, extensions: int = 0) -> datetime:
    """When a hold placed at ``placed_at`` and extended ``extensions`` times lapses."""
    placed = _utc("placed_at", placed_at)
    if isinstance(extensions, bool) or not isinstance(extensions, int):
        raise TypeError(f"extensions must be an integer, got {extensions!r}")
    if extensions < 0:
        raise ExtensionNotAllowed(f"the number of extensions cannot be negative, got {extensions}")
    if extensions > rule.max_extensions:
        allowed = (
            "no extension"
            if rule.max_extensions == 0
            else f"at most {rule.max_extensions} extension(s) of {rule.extension}"
        )
        raise ExtensionNotAllowed(f"{extensions} extension(s) asked for, but the law allows {allowed}")
    expires = rule.duration.after(placed)
    for _ in range(extensions):  # each extension runs from the previous expiry, in calendar terms
        assert rule.extension is not None  # HoldRule guarantees it when max_extensions > 0
        expires = rule.extension.after(expires)
    return expires


_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)


def protective_period_end(
    start: datetime, period: timedelta, zone: ZoneInfo, *, in_hours: bool | None = None
) -> datetime:
    """The end of a period that protects someone else's right to object (Reg. 1182/71 Art. 3).

    A period in whole days does not count the day of the event: it ends at the end of the last day,
    24:00 local time in ``zone`` of ``start``'s local date plus N days. A period in hours does not count
    the hour of the event: it starts at the beginning of the next full hour (local) and ends N hours
    later. Any other period runs exactly. The result is never earlier than ``start + period`` and is in
    UTC. ``in_hours`` says how the law expresses the period (e.g. "96 hours"); None: whole days when
    the period is a whole number of days.
    """
    begin = _utc("start", start)
    if period <= timedelta(0):
        raise ValueError(f"period must be positive, got {period}")
    exact = begin + period
    local = begin.astimezone(zone)
    days = in_hours is not True and period % _DAY == timedelta(0)
    if days:
        last_day = local.date() + timedelta(days=period // _DAY + 1)
        end = datetime.combine(last_day, time(0), tzinfo=zone).astimezone(UTC)
    elif period % _HOUR == timedelta(0):
        hour = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        end = hour + _HOUR + period
    else:
        end = exact
    return max(end, exact)


def time_left(due: datetime, now: datetime) -> timedelta:
    """Time until ``due`` at ``now``; negative when overdue."""
    return _utc("due", due) - _utc("now", now)


def is_overdue(due: datetime, now: datetime) -> bool:
    """Whether ``now`` is past ``due`` (at the due instant it is not yet overdue)."""
    return time_left(due, now) < timedelta(0)


def is_at_risk(received_at: datetime, due: datetime, now: datetime) -> bool:
    """Less than a quarter of the total time is left and the deadline has not passed."""
    total = _utc("due", due) - _utc("received_at", received_at)
    if total <= timedelta(0):
        raise ValueError(f"due ({due.isoformat()}) must be after receipt ({received_at.isoformat()})")
    left = time_left(due, now)
    return timedelta(0) <= left < total / 4
