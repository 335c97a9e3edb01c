"""The deadline monitor: marks open lawful requests at risk and overdue, and alerts on emergencies.

One round (`tick`) is one unit of work: `scan` finds what newly deserves an alert, records each alert as
a `DeadlineAlert` row plus an audit event in that transaction, and only after the commit does `tick`
hand the alerts to the notifier. `run_monitor` repeats rounds until told to stop.

Delivery is **at most once, with a durable record**. The alert row is committed before the notifier is
called, and a row means "never raise this alert again". If the notifier then fails (webhook down, process
killed between commit and send), the alert is logged as undelivered and not re-sent on the next round;
it stays visible in the audit log, in ``deadline_alerts`` and in `sla`. The alternative (commit after
sending) would re-send on every failure and could page people repeatedly for one deadline; for
deadlines that are also on every reviewer's queue, a missed page is the lesser harm.

Imports stay acyclic: this module defines `Alert` and `AlertKind`; `trustdesk.lawful.notifiers` imports
them and defines the `Notifier` protocol and its implementations. This module needs `Notifier` only as a
type, so it imports it under ``TYPE_CHECKING`` (never at run time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.db import unit_of_work
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful.models import DeadlineAlert, LawfulRequest, LegalWindow
from trustdesk.lawful.vocabulary import WindowKind
from trustdesk.lawful.workflow import OPEN_STATUSES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from trustdesk.clock import Clock
    from trustdesk.lawful.notifiers import Notifier

__all__ = ["Alert", "AlertKind", "SlaRow", "SlaState", "run_monitor", "scan", "sla", "tick"]

logger = logging.getLogger("trustdesk.monitor")

SUBJECT_TYPE = "lawful_request"


class AlertKind(StrEnum):
    EMERGENCY = "emergency"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    WINDOW_OVERDUE = "window_overdue"
    """A legal window (``LegalWindow``: scrutiny, objection, complaint...) not closed in time."""
    VERIFICATION_FAILED = "verification_failed"
    """A callback did not confirm a request: presumed forged, its agency locked (a security incident)."""


_URGENCY = {
    AlertKind.VERIFICATION_FAILED: 0,
    AlertKind.OVERDUE: 0,
    AlertKind.WINDOW_OVERDUE: 0,
    AlertKind.EMERGENCY: 1,
    AlertKind.AT_RISK: 2,
}

WINDOW_ALERT_PREFIX = "w:"
"""A window's alert is recorded as ``DeadlineAlert(kind="w:" + the window id's first 14 characters)``: one
per window (the unique (request, kind) constraint holds per window), within the column's 16 characters."""
"""Among alerts with the same time left (one request's), overdue first, then emergency, then at risk."""


class SlaState(StrEnum):
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TIME = "on_time"
    PAUSED = "paused"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _seconds(delta: timedelta) -> int:
    """Whole seconds, rounded down: a request half a second overdue has -1 s left, not 0."""
    return delta // timedelta(seconds=1)


def state_of(received_at: datetime, due_at: datetime | None, now: datetime) -> SlaState:
    if due_at is None:
        return SlaState.PAUSED
    if deadlines.is_overdue(due_at, now):
        return SlaState.OVERDUE
    if due_at <= received_at:  # no time was ever given (bad data): nothing is left of it
        return SlaState.AT_RISK
    if deadlines.is_at_risk(received_at, due_at, now):
        return SlaState.AT_RISK
    return SlaState.ON_TIME


def deadline_state(request: LawfulRequest, now: datetime) -> SlaState | None:
    """Where a request stands against its deadline while the clock matters; None once it no longer runs."""
    if request.status not in OPEN_STATUSES:
        return None
    return state_of(request.received_at, request.due_at, now)


@dataclass(frozen=True)
class Alert:
    """One alert about one request, as the notifiers see it: plain values, no ORM object."""

    kind: AlertKind
    request_id: str
    tracking_number: str
    instrument: str
    emergency: bool
    received_at: datetime
    due_at: datetime | None
    time_left_seconds: int | None  # at the scan; negative when overdue, None while the clock is paused
    window_id: str | None = None
    window_kind: str | None = None  # a WindowKind value, for WINDOW_OVERDUE (``due_at`` is the window's)

    @property
    def slot(self) -> str:
        """The ``DeadlineAlert.kind`` this alert takes: its kind, or one slot per legal window."""
        if self.window_id is not None:
            return f"{WINDOW_ALERT_PREFIX}{self.window_id}"[:16]
        return self.kind.value

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: timestamps as ISO 8601 strings in UTC."""
        out: dict[str, object] = {
            "kind": self.kind.value,
            "request_id": self.request_id,
            "tracking_number": self.tracking_number,
            "instrument": self.instrument,
            "emergency": self.emergency,
            "received_at": _iso(self.received_at),
            "due_at": _iso(self.due_at),
            "time_left_seconds": self.time_left_seconds,
        }
        if self.window_id is not None:
            out |= {"window_id": self.window_id, "window_kind": self.window_kind}
        return out


def _urgency(alert: Alert) -> tuple[bool, int, int, datetime, str]:
    left = alert.time_left_seconds
    return (left is None, left or 0, _URGENCY[alert.kind], alert.received_at, alert.tracking_number)


def _kinds_due(
    received_at: datetime, due_at: datetime | None, emergency: bool, now: datetime
) -> list[AlertKind]:
    kinds = [AlertKind.EMERGENCY] if emergency else []
    state = state_of(received_at, due_at, now)
    if state is SlaState.OVERDUE:
        kinds.append(AlertKind.OVERDUE)
    elif state is SlaState.AT_RISK:
        kinds.append(AlertKind.AT_RISK)
    return kinds


_CANDIDATE = (
    LawfulRequest.status.in_(OPEN_STATUSES),
    or_(LawfulRequest.due_at.is_not(None), LawfulRequest.emergency.is_(True)),
)
"""Requests that may deserve an alert: open, and either with a running clock or an emergency."""


def _record(session: Session, clock: Clock, alert: Alert, now: datetime) -> bool:
    """Record one alert in a savepoint; False when another monitor recorded it first.

    The audit event is written first: `audit.record` locks the audit head, so every monitor takes that
    lock before it can hold a (request, kind) slot in the unique index, and two monitors cannot deadlock.
    A concurrent monitor that committed the same alert makes the insert fail on the unique constraint;
    rolling back the savepoint drops this monitor's audit event with it.
    """
    try:
        with session.begin_nested():
            audit.record(
                session,
                clock,
                Actor.system(),
                AuditAction.DEADLINE_ALERT,
                subject_type=SUBJECT_TYPE,
                subject_id=alert.request_id,
                data={
                    "after": {"kind": alert.kind.value, "due_at": _iso(alert.due_at)}
                    | (
                        {"window_id": alert.window_id, "window_kind": alert.window_kind}
                        if alert.window_id
                        else {}
                    )
                },
            )
            session.add(DeadlineAlert(request_id=alert.request_id, kind=alert.slot, sent_at=now))
            session.flush()
    except IntegrityError:
        logger.info("alert %s for request %s was already raised elsewhere", alert.kind, alert.request_id)
        return False
    return True


def _windows_due(session: Session, now: datetime) -> list[Alert]:
    """WINDOW_OVERDUE for every legal window still open past its due time, never raised before.

    Whatever the request's status: a window may outlive the answer (a complaint, a confidentiality)."""
    rows = session.execute(
        select(
            LegalWindow.id,
            LegalWindow.kind,
            LegalWindow.due_at,
            LawfulRequest.id,
            LawfulRequest.tracking_number,
            LawfulRequest.instrument,
            LawfulRequest.emergency,
            LawfulRequest.received_at,
        )
        .join(LawfulRequest, LawfulRequest.id == LegalWindow.request_id)
        .where(
            LegalWindow.closed_at.is_(None),
            LegalWindow.due_at.is_not(None),
            LegalWindow.due_at < now,
            # The right to ask for scrutiny (TCO Art. 4(2)) is optional: letting it pass is no failure.
            LegalWindow.kind != WindowKind.SCRUTINY_REQUEST,
        )
    ).all()
    if not rows:
        return []
    raised = {
        (request_id, kind)
        for request_id, kind in session.execute(
            select(DeadlineAlert.request_id, DeadlineAlert.kind).where(
                DeadlineAlert.request_id.in_({row[3] for row in rows}),
                DeadlineAlert.kind.startswith(WINDOW_ALERT_PREFIX),
            )
        )
    }
    alerts = []
    for window_id, window_kind, window_due, request_id, tracking, instrument, emergency, received_at in rows:
        assert window_due is not None  # the query's condition
        alerts.append(
            Alert(
                kind=AlertKind.WINDOW_OVERDUE,
                request_id=request_id,
                tracking_number=tracking,
                instrument=instrument.value,
                emergency=emergency,
                received_at=received_at,
                due_at=window_due,
                time_left_seconds=_seconds(deadlines.time_left(window_due, now)),
                window_id=window_id,
                window_kind=window_kind.value,
            )
        )
    return [alert for alert in alerts if (alert.request_id, alert.slot) not in raised]


def scan(session: Session, clock: Clock) -> list[Alert]:
    """Raise every alert now due that was never raised; return the new ones, most urgent first.

    For every open request: EMERGENCY once for an emergency request (its first scan, i.e. on arrival),
    AT_RISK once while less than a quarter of its time is left, OVERDUE once when it is past due. A paused
    request (``due_at`` None) gets neither of the last two. A request seen for the first time when it is
    already overdue gets OVERDUE only. Each alert is a `DeadlineAlert` row and an audit event in the
    caller's transaction; this function never commits.

    Duplicates are avoided twice: alerts already recorded are read first (one query), and the unique
    (request_id, kind) constraint stops a concurrent monitor's duplicate (see `_record`).

    Most urgent first: least time left first (overdue the most at the top), paused last; for one request,
    overdue before emergency before at risk; then oldest receipt first.
    """
    now = clock()
    candidates = session.execute(
        select(
            LawfulRequest.id,
            LawfulRequest.tracking_number,
            LawfulRequest.instrument,
            LawfulRequest.emergency,
            LawfulRequest.received_at,
            LawfulRequest.due_at,
        ).where(*_CANDIDATE)
    ).all()
    due: list[Alert] = _windows_due(session, now)
    if not candidates and not due:
        return []
    # A join rather than ``IN (ids)``: no bound-parameter limit with tens of thousands of requests.
    existing = {
        (request_id, kind)
        for request_id, kind in session.execute(
            select(DeadlineAlert.request_id, DeadlineAlert.kind)
            .join(LawfulRequest, LawfulRequest.id == DeadlineAlert.request_id)
            .where(*_CANDIDATE)
        )
    }
    for request_id, tracking_number, instrument, emergency, received_at, due_at in candidates:
        left = None if due_at is None else _seconds(deadlines.time_left(due_at, now))
        due.extend(
            Alert(
                kind=kind,
                request_id=request_id,
                tracking_number=tracking_number,
                instrument=instrument.value,
                emergency=emergency,
                received_at=received_at,
                due_at=due_at,
                time_left_seconds=left,
            )
            for kind in _kinds_due(received_at, due_at, emergency, now)
            if (request_id, kind.value) not in existing
        )
    due.sort(key=_urgency)
    return [alert for alert in due if _record(session, clock, alert, now)]


@dataclass(frozen=True)
class SlaRow:
    """One open request in the service-level view (`trustdesk sla`)."""

    tracking_number: str
    instrument: str
    status: str
    emergency: bool
    received_at: datetime
    due_at: datetime | None
    time_left_seconds: int | None  # negative when overdue, None while paused
    state: str  # a SlaState value: overdue | at_risk | on_time | paused

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: timestamps as ISO 8601 strings in UTC."""
        return {
            "tracking_number": self.tracking_number,
            "instrument": self.instrument,
            "status": self.status,
            "emergency": self.emergency,
            "received_at": _iso(self.received_at),
            "due_at": _iso(self.due_at),
            "time_left_seconds": self.time_left_seconds,
            "state": self.state,
        }


def sla(session: Session, clock: Clock, *, limit: int = 1000) -> list[SlaRow]:
    """Open requests by time left to the legal deadline, least first (so the most overdue lead); paused
    ones last.

    The legal deadline decides, not the kind of request: a removal order with 50 minutes left comes
    before an emergency with 7 hours. Equal time left goes to the emergency, then to the request
    received first. Time left is due minus now for every request, so ordering by ``due_at`` in the
    database is ordering by time left, and ``limit`` cuts the list there.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    now = clock()
    rows = session.execute(
        select(
            LawfulRequest.tracking_number,
            LawfulRequest.instrument,
            LawfulRequest.status,
            LawfulRequest.emergency,
            LawfulRequest.received_at,
            LawfulRequest.due_at,
        )
        .where(LawfulRequest.status.in_(OPEN_STATUSES))
        .order_by(
            LawfulRequest.due_at.is_(None),
            LawfulRequest.due_at,
            LawfulRequest.emergency.desc(),
            LawfulRequest.received_at,
            LawfulRequest.tracking_number,
        )
        .limit(limit)
    ).all()
    return [
        SlaRow(
            tracking_number=tracking_number,
            instrument=instrument.value,
            status=status.value,
            emergency=emergency,
            received_at=received_at,
            due_at=due_at,
            time_left_seconds=None if due_at is None else _seconds(deadlines.time_left(due_at, now)),
            state=state_of(received_at, due_at, now).value,
        )
        for tracking_number, instrument, status, emergency, received_at, due_at in rows
    ]


def tick(sessions: sessionmaker[Session], clock: Clock, notifier: Notifier) -> list[Alert]:
    """One round: scan and commit, then notify each new alert. Returns the new alerts.

    A database error propagates (nothing was committed, nothing is sent). A notifier failure is logged
    and the next alert is still sent; the failed alert is not retried (at most once, see the module).
    """
    with unit_of_work(sessions) as session:
        alerts = scan(session, clock)
    for alert in alerts:
        try:
            notifier.notify(alert)
        except Exception:
            logger.exception(
                "alert %s for request %s was recorded but could not be delivered; it will not be re-sent",
                alert.kind.value,
                alert.tracking_number,
            )
    return alerts


def run_monitor(
    sessions: sessionmaker[Session],
    clock: Clock,
    notifier: Notifier,
    *,
    interval: float,
    stop: threading.Event,
    also: Sequence[Callable[[], object]] = (),
) -> None:
    """Run `tick` every ``interval`` seconds until ``stop`` is set (checked between rounds and while waiting).

    ``also`` are further periodic jobs run after each tick (e.g. sending user notices whose time came).
    A failed round (the database unreachable, a lock timeout) is logged and tried again at the next tick;
    the loop itself only ends on ``stop``.
    """
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval}")
    logger.info("deadline monitor started, every %s s", interval)
    while not stop.is_set():
        try:
            alerts = tick(sessions, clock, notifier)
            for job in also:
                job()
        except Exception:
            logger.exception("deadline monitor round failed; retrying in %s s", interval)
        else:
            if alerts:
                logger.info("deadline monitor raised %d alert(s)", len(alerts))
        stop.wait(interval)
    logger.info("deadline monitor stopped")
