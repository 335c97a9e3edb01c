"""The deadline monitor on real SQLite and PostgreSQL: alerts once each, audited, in deadline order."""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc, officer_key, tco
from tests.notifier_doubles import RecordingNotifier
from trustdesk.app import Container, build_container
from trustdesk.audit import service as audit
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.config import Settings
from trustdesk.db import make_session_factory, unit_of_work
from trustdesk.lawful import monitor
from trustdesk.lawful.models import DeadlineAlert, LawfulRequest
from trustdesk.lawful.monitor import Alert, AlertKind, scan, sla, tick
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.vocabulary import IssuerKind
from trustdesk.web.app import create_app

URL = "/api/v1/requests"
STANDARD = {"emergency": False, "emergency_justification": None}

Submit = Callable[..., str]


@pytest.fixture
def arrivals(container: Container) -> RecordingNotifier:
    """The app's notifier: it receives what the monitor raises when an emergency arrives."""
    recorder = RecordingNotifier()
    container.notifier = recorder
    return recorder


@pytest.fixture
def submit(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, arrivals: RecordingNotifier
) -> Submit:
    """Submit a request through the API at the clock's time; return its tracking number."""
    keys: dict[str, str] = {}

    def _submit(body: dict[str, object]) -> str:
        if body["instrument"] == "EU_TCO_REMOVAL":
            if "DE" not in keys:
                keys["DE"] = officer_key(
                    sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de"
                )
            key = keys["DE"]
        else:
            if "FR" not in keys:
                keys["FR"] = officer_key(sessions, clock)
            key = keys["FR"]
        response = client.post(URL, json=body, headers=bearer(key))
        assert response.status_code == 201, response.text
        tracking: str = response.json()["tracking_number"]
        return tracking

    return _submit


def scan_now(sessions: sessionmaker[Session], clock: FrozenClock) -> list[Alert]:
    with unit_of_work(sessions) as s:
        return scan(s, clock)


def kinds(alerts: list[Alert]) -> list[tuple[str, str]]:
    """The answer-deadline alerts; legal windows (a TCO order's scrutiny) are test_legal_windows.py's."""
    return [(a.tracking_number, a.kind.value) for a in alerts if a.kind is not AlertKind.WINDOW_OVERDUE]


def set_request(sessions: sessionmaker[Session], tracking: str, **values: object) -> None:
    """Change a request directly in the database, as a later workflow step would."""
    with unit_of_work(sessions) as s:
        request = s.scalars(select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)).one()
        for name, value in values.items():
            setattr(request, name, value)


def request_id(sessions: sessionmaker[Session], tracking: str) -> str:
    with sessions() as s:
        found = s.scalar(select(LawfulRequest.id).where(LawfulRequest.tracking_number == tracking))
        assert found is not None
        return found


def alert_rows(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(
            select(LawfulRequest.tracking_number, DeadlineAlert.kind)
            .join(LawfulRequest, LawfulRequest.id == DeadlineAlert.request_id)
            .order_by(LawfulRequest.tracking_number, DeadlineAlert.kind)
        ).all()
        return [(t, k) for t, k in rows]


def alert_events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "lawful:deadline:alert").order_by("seq"))
        )


def forget_alerts(sessions: sessionmaker[Session], tracking: str) -> None:
    """Drop a request's alert rows, as if its arrival alert had never been raised (a lost bus message)."""
    rid = request_id(sessions, tracking)
    with unit_of_work(sessions) as s:
        s.execute(delete(DeadlineAlert).where(DeadlineAlert.request_id == rid))


def test_an_emergency_epoc_alerts_on_arrival_once_with_an_audit_event(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock, arrivals: RecordingNotifier
) -> None:
    tracking = submit(epoc())

    assert kinds(arrivals.alerts) == [(tracking, "emergency")]
    alert = arrivals.alerts[0]
    assert alert.emergency is True
    assert alert.instrument == "EU_EPOC"
    assert alert.received_at == clock.now
    assert alert.due_at == clock.now + timedelta(hours=8)
    assert alert.time_left_seconds == 8 * 3600
    assert alert_rows(sessions) == [(tracking, "emergency")]
    (event,) = alert_events(sessions)
    assert event.actor_kind == "system"
    assert event.subject_type == "lawful_request"
    assert event.subject_id == request_id(sessions, tracking) == alert.request_id
    assert event.data == {
        "after": {"kind": "emergency", "due_at": (clock.now + timedelta(hours=8)).isoformat()}
    }
    with sessions() as s:
        assert audit.verify(s).ok

    notifier = RecordingNotifier()
    for _ in range(3):
        assert tick(sessions, clock, notifier) == []  # raised once, never again
    assert notifier.alerts == []
    assert len(alert_events(sessions)) == 1


def test_an_emergency_whose_arrival_alert_was_missed_is_alerted_by_the_next_scan(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(epoc())
    forget_alerts(sessions, tracking)
    notifier = RecordingNotifier()

    alerts = tick(sessions, clock, notifier)

    assert kinds(alerts) == [(tracking, "emergency")]
    assert notifier.alerts == alerts
    assert alert_rows(sessions) == [(tracking, "emergency")]


def test_alert_as_dict_is_json_ready_in_utc(submit: Submit, arrivals: RecordingNotifier) -> None:
    tracking = submit(epoc())
    (alert,) = arrivals.alerts

    body = json.loads(json.dumps(alert.as_dict()))

    assert body == {
        "kind": "emergency",
        "request_id": alert.request_id,
        "tracking_number": tracking,
        "instrument": "EU_EPOC",
        "emergency": True,
        "received_at": "2026-11-02T09:00:00+00:00",
        "due_at": "2026-11-02T17:00:00+00:00",
        "time_left_seconds": 28800,
    }


def test_a_standard_epoc_goes_at_risk_then_overdue_each_alert_once(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(epoc(**STANDARD))
    start = clock.now

    assert scan_now(sessions, clock) == []  # on arrival: a standard request raises nothing
    clock.advance(timedelta(days=7))
    assert scan_now(sessions, clock) == []
    clock.now = start + timedelta(days=7, hours=12)  # exactly a quarter left: not yet at risk
    assert scan_now(sessions, clock) == []

    clock.now = start + timedelta(days=7.6)
    (at_risk,) = scan_now(sessions, clock)
    assert (at_risk.kind, at_risk.tracking_number) == (AlertKind.AT_RISK, tracking)
    assert at_risk.time_left_seconds == int(timedelta(days=2.4).total_seconds())
    clock.advance(timedelta(days=1))
    assert scan_now(sessions, clock) == []  # at risk is raised once

    clock.now = start + timedelta(days=10)  # at the due instant it is not yet overdue
    assert scan_now(sessions, clock) == []
    clock.advance(timedelta(seconds=1))
    (overdue,) = scan_now(sessions, clock)
    assert (overdue.kind, overdue.time_left_seconds) == (AlertKind.OVERDUE, -1)
    for _ in range(3):
        clock.advance(timedelta(days=1))
        assert scan_now(sessions, clock) == []

    assert alert_rows(sessions) == [(tracking, "at_risk"), (tracking, "overdue")]
    assert [e.data["after"]["kind"] for e in alert_events(sessions)] == ["at_risk", "overdue"]


def test_a_request_first_seen_overdue_gets_the_overdue_alert_only(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(epoc(**STANDARD))
    clock.advance(timedelta(days=11))

    assert kinds(scan_now(sessions, clock)) == [(tracking, "overdue")]


def test_an_emergency_is_alerted_once_then_at_risk_and_overdue(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(epoc())
    assert alert_rows(sessions) == [(tracking, "emergency")]  # on arrival
    assert scan_now(sessions, clock) == []

    clock.advance(timedelta(hours=6, minutes=1))
    assert kinds(scan_now(sessions, clock)) == [(tracking, "at_risk")]
    clock.advance(timedelta(hours=2))
    assert kinds(scan_now(sessions, clock)) == [(tracking, "overdue")]
    assert scan_now(sessions, clock) == []


def test_a_tco_removal_order_is_at_risk_after_46_minutes(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(tco())
    clock.advance(timedelta(minutes=45))  # a quarter left, not less
    assert scan_now(sessions, clock) == []

    clock.advance(timedelta(minutes=1))
    (alert,) = scan_now(sessions, clock)

    assert (alert.tracking_number, alert.kind, alert.instrument) == (
        tracking,
        AlertKind.AT_RISK,
        "EU_TCO_REMOVAL",
    )
    assert alert.time_left_seconds == 14 * 60
    assert alert.emergency is False


@pytest.mark.parametrize("status", [RequestStatus.ANSWERED, RequestStatus.REFUSED, RequestStatus.CLOSED])
def test_requests_in_a_final_status_never_alert(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock, status: RequestStatus
) -> None:
    emergency = submit(epoc(reference="E-1"))
    standard = submit(epoc(reference="S-1", **STANDARD))
    removal = submit(tco())
    forget_alerts(sessions, emergency)
    for tracking in (emergency, standard, removal):
        set_request(sessions, tracking, status=status)

    for days in (0, 8, 11):
        clock.advance(timedelta(days=days))
        assert kinds(scan_now(sessions, clock)) == []  # a legal window may outlive the answer
    assert [row for row in alert_rows(sessions) if not row[1].startswith("w:")] == []
    with sessions() as s:
        assert sla(s, clock) == []


def test_a_paused_request_gets_no_deadline_alert(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    standard = submit(epoc(reference="S-1", **STANDARD))
    emergency = submit(epoc(reference="E-1"))
    for tracking in (standard, emergency):
        set_request(sessions, tracking, status=RequestStatus.CLARIFICATION_REQUESTED, due_at=None)
    clock.advance(timedelta(days=30))

    assert scan_now(sessions, clock) == []
    assert alert_rows(sessions) == [(emergency, "emergency")]  # the arrival alert only


def test_a_paused_emergency_still_gets_its_emergency_alert(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    emergency = submit(epoc())
    forget_alerts(sessions, emergency)
    set_request(sessions, emergency, status=RequestStatus.CLARIFICATION_REQUESTED, due_at=None)
    clock.advance(timedelta(days=1))

    (alert,) = scan_now(sessions, clock)

    assert (alert.tracking_number, alert.kind) == (emergency, AlertKind.EMERGENCY)
    assert (alert.due_at, alert.time_left_seconds) == (None, None)
    assert alert.as_dict()["due_at"] is None
    assert alert_events(sessions)[-1].data == {"after": {"kind": "emergency", "due_at": None}}
    assert scan_now(sessions, clock) == []


def test_new_alerts_come_most_urgent_first(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock, arrivals: RecordingNotifier
) -> None:
    standard = submit(epoc(reference="S-1", **STANDARD))
    removal = submit(tco())
    clock.advance(timedelta(days=7, hours=13))  # standard at risk, removal long overdue
    assert arrivals.alerts == []  # nothing arrived that alerts at once

    emergency = submit(epoc(reference="E-1"))  # its arrival runs a monitor round over everything

    assert kinds(arrivals.alerts) == [(removal, "overdue"), (emergency, "emergency"), (standard, "at_risk")]


def test_one_request_overdue_and_emergency_at_once_lists_overdue_first(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    emergency = submit(epoc())
    forget_alerts(sessions, emergency)
    clock.advance(timedelta(hours=9))

    assert kinds(scan_now(sessions, clock)) == [(emergency, "overdue"), (emergency, "emergency")]


def test_a_notifier_that_fails_loses_no_alert_and_stops_nothing(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = submit(tco(reference="TCO-1"))
    second = submit(tco(reference="TCO-2"))
    clock.advance(timedelta(minutes=50))
    notifier = RecordingNotifier()
    notifier.fail_for = {first}

    alerts = tick(sessions, clock, notifier)

    assert sorted(kinds(alerts)) == sorted([(first, "at_risk"), (second, "at_risk")])
    assert kinds(notifier.alerts) == [(second, "at_risk")]
    assert kinds(notifier.failed) == [(first, "at_risk")]
    assert alert_rows(sessions) == sorted([(first, "at_risk"), (second, "at_risk")])
    assert len(alert_events(sessions)) == 2
    assert any(first in r.getMessage() and "will not be re-sent" in r.getMessage() for r in caplog.records)

    # At most once: the failed alert stays recorded and is not sent again.
    notifier.fail_for = set()
    assert tick(sessions, clock, notifier) == []
    assert kinds(notifier.alerts) == [(second, "at_risk")]


def test_a_failing_notifier_does_not_hurt_intake(
    submit: Submit, sessions: sessionmaker[Session], arrivals: RecordingNotifier
) -> None:
    arrivals.unavailable = True

    tracking = submit(epoc())

    assert kinds(arrivals.failed) == [(tracking, "emergency")]
    assert alert_rows(sessions) == [(tracking, "emergency")]


def test_a_notifier_that_is_down_does_not_stop_recording(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(tco())
    notifier = RecordingNotifier()
    notifier.unavailable = True
    clock.advance(timedelta(minutes=50))

    assert kinds(tick(sessions, clock, notifier)) == [(tracking, "at_risk")]
    clock.advance(timedelta(minutes=11))
    assert kinds(tick(sessions, clock, notifier)) == [(tracking, "overdue")]
    assert notifier.alerts == []
    assert alert_rows(sessions) == [(tracking, "at_risk"), (tracking, "overdue")]
    assert len(alert_events(sessions)) == 2


def test_sla_lists_open_requests_by_time_left_with_their_state(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    start = clock.now
    paused_early = submit(epoc(reference="P-1", **STANDARD))
    clock.advance(timedelta(minutes=1))
    paused_late = submit(epoc(reference="P-2", **STANDARD))
    standard = submit(epoc(reference="S-1", **STANDARD))
    emergency = submit(epoc(reference="E-1"))
    removal = submit(tco())
    answered = submit(epoc(reference="A-1"))
    # The later paused request is paused first: paused ones are ordered by receipt, not by pause.
    set_request(sessions, paused_late, status=RequestStatus.CLARIFICATION_REQUESTED, due_at=None)
    set_request(sessions, paused_early, status=RequestStatus.CLARIFICATION_REQUESTED, due_at=None)
    set_request(sessions, answered, status=RequestStatus.ANSWERED)
    clock.now = start + timedelta(hours=6)  # emergency: 2 h 1 min of 8 h left; removal: 4 h 59 min late

    with sessions() as s:
        rows = sla(s, clock)

    assert [(r.tracking_number, r.state, r.time_left_seconds) for r in rows] == [
        (removal, "overdue", -(4 * 3600 + 59 * 60)),
        (emergency, "on_time", 2 * 3600 + 60),
        (standard, "on_time", (10 * 24 - 6) * 3600 + 60),
        (paused_early, "paused", None),
        (paused_late, "paused", None),
    ]
    assert rows[0].status == "acknowledged"
    assert rows[0].instrument == "EU_TCO_REMOVAL"
    assert rows[3].status == "clarification_requested"

    clock.advance(timedelta(minutes=2))  # the emergency now has less than a quarter left
    with sessions() as s:
        assert [r.state for r in sla(s, clock, limit=2)] == ["overdue", "at_risk"]
        assert json.loads(json.dumps([r.as_dict() for r in sla(s, clock, limit=1)])) == [
            {
                "tracking_number": removal,
                "instrument": "EU_TCO_REMOVAL",
                "status": "acknowledged",
                "emergency": False,
                "received_at": "2026-11-02T09:01:00+00:00",
                "due_at": "2026-11-02T10:01:00+00:00",
                "time_left_seconds": -(5 * 3600 + 1 * 60),
                "state": "overdue",
            }
        ]
        with pytest.raises(ValueError, match="limit"):
            sla(s, clock, limit=0)


def test_sla_breaks_ties_in_time_left_by_receipt(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    early = submit(epoc(reference="T-1", **STANDARD))
    clock.advance(timedelta(hours=1))
    late = submit(epoc(reference="T-2", **STANDARD))
    set_request(sessions, early, due_at=clock.now + timedelta(days=10))  # the same due date as `late`

    with sessions() as s:
        assert [r.tracking_number for r in sla(s, clock)] == [early, late]


def test_sla_orders_by_the_legal_deadline_not_by_emergency(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """The issue's example: a removal order with 50 minutes left comes before an emergency EPOC with
    7 hours left; an emergency wins only a tie in time left."""
    emergency = submit(epoc(reference="E-1"))  # emergency EPOC: due in 8 hours
    clock.advance(timedelta(minutes=50))
    removal = submit(tco())  # due in 1 hour
    clock.advance(timedelta(minutes=10))  # removal: 50 minutes left; emergency: 7 hours left

    with sessions() as s:
        rows = sla(s, clock)
    assert [(r.tracking_number, r.emergency, r.time_left_seconds) for r in rows] == [
        (removal, False, 50 * 60),
        (emergency, True, 7 * 3600),
    ]

    # Equal time left: the emergency first, although the other request was received earlier.
    standard = submit(epoc(reference="S-1", **STANDARD))
    set_request(sessions, standard, received_at=clock.now - timedelta(hours=2))
    with sessions() as s:
        due = s.scalar(select(LawfulRequest.due_at).where(LawfulRequest.tracking_number == emergency))
    set_request(sessions, standard, due_at=due)
    with sessions() as s:
        assert [r.tracking_number for r in sla(s, clock)] == [removal, emergency, standard]


# --- the unique constraint as the backstop between concurrent monitors --------------------------------


@pytest.fixture
def committed(database_url: str, clock: FrozenClock) -> Iterator[tuple[sessionmaker[Session], TestClient]]:
    """A database of its own whose commits are real, so two monitors can race on it."""
    container = build_container(
        Settings(database_url=database_url, reference_platform_url="sqlite://"), clock=clock
    )
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            yield make_session_factory(container.engine), client
    finally:
        container.engine.dispose()


def _wait_for_lock_wait(sessions: sessionmaker[Session]) -> None:
    """On PostgreSQL, until another backend waits for a lock (the second monitor, behind the first)."""
    with sessions() as s:
        if s.get_bind().dialect.name != "postgresql":
            time.sleep(0.3)  # SQLite: the second monitor's BEGIN IMMEDIATE waits for the first's commit
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            waiting = s.scalar(
                text(
                    "select count(*) from pg_stat_activity "
                    "where datname = current_database() and wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            s.rollback()
            time.sleep(0.02)
        pytest.fail("the second monitor never waited for the first")


def test_two_monitors_racing_raise_each_alert_once(
    committed: tuple[sessionmaker[Session], TestClient], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL the second monitor read "no alert yet" before the first committed: the unique
    constraint stops its duplicate. On SQLite the second waits at BEGIN and then reads the first's alert."""
    caplog.set_level(logging.INFO, logger="trustdesk.monitor")
    sessions, client = committed
    key = officer_key(sessions, clock, country="DE", kind=IssuerKind.POLICE, domain="bka.bund.de")
    tracking = client.post(URL, json=tco(), headers=bearer(key)).json()["tracking_number"]
    clock.advance(timedelta(minutes=50))

    def second_monitor() -> list[Alert]:
        with unit_of_work(sessions) as s:
            return scan(s, clock)

    with ThreadPoolExecutor(max_workers=1) as pool:
        with unit_of_work(sessions) as s:
            first = scan(s, clock)
            second = pool.submit(second_monitor)
            _wait_for_lock_wait(sessions)
        # The first monitor has committed; the second finds the alert already raised.
        assert second.result(timeout=20) == []

    assert kinds(first) == [(tracking, "at_risk")]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(DeadlineAlert)) == 1
        assert s.scalar(select(func.count()).where(AuditEvent.action == "lawful:deadline:alert")) == 1
        assert audit.verify(s).ok
        backstop = [r for r in caplog.records if "already raised elsewhere" in r.getMessage()]
        assert len(backstop) == (1 if s.get_bind().dialect.name == "postgresql" else 0)


# --- the background loop ------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.01)


def test_run_monitor_alerts_in_the_background_and_stops_when_told(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    tracking = submit(tco())
    clock.advance(timedelta(minutes=50))
    notifier = RecordingNotifier()
    stop = threading.Event()
    thread = threading.Thread(
        target=monitor.run_monitor,
        args=(sessions, clock, notifier),
        kwargs={"interval": 0.01, "stop": stop},
        daemon=True,
    )

    thread.start()
    wait_until(lambda: bool(notifier.alerts))
    stop.set()
    thread.join(timeout=5)

    assert not thread.is_alive()
    assert kinds(notifier.alerts) == [(tracking, "at_risk")]
    assert alert_rows(sessions) == [(tracking, "at_risk")]


class FlakySessions:
    """A session factory whose first ``failures`` uses fail as an unreachable database would."""

    def __init__(self, sessions: sessionmaker[Session], failures: int) -> None:
        self.sessions = sessions
        self.failures = failures
        self.calls = 0

    def __call__(self) -> Session:
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("connect", {}, ConnectionRefusedError("database unreachable"))
        return self.sessions()


def test_run_monitor_survives_database_errors_and_retries(
    submit: Submit, sessions: sessionmaker[Session], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    tracking = submit(tco())
    clock.advance(timedelta(minutes=50))
    notifier = RecordingNotifier()
    flaky = FlakySessions(sessions, failures=2)
    stop = threading.Event()
    thread = threading.Thread(
        target=monitor.run_monitor,
        args=(flaky, clock, notifier),
        kwargs={"interval": 0.01, "stop": stop},
        daemon=True,
    )

    thread.start()
    wait_until(lambda: bool(notifier.alerts))
    stop.set()
    thread.join(timeout=5)

    assert not thread.is_alive()
    assert flaky.calls >= 3
    assert kinds(notifier.alerts) == [(tracking, "at_risk")]
    failed = [r for r in caplog.records if r.name == "trustdesk.monitor" and "round failed" in r.getMessage()]
    assert len(failed) == 2


def test_run_monitor_returns_at_once_when_already_stopped(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    stop = threading.Event()
    stop.set()
    notifier = RecordingNotifier()

    monitor.run_monitor(sessions, clock, notifier, interval=60, stop=stop)

    assert notifier.alerts == []
    with pytest.raises(ValueError, match="interval"):
        monitor.run_monitor(sessions, clock, notifier, interval=0, stop=threading.Event())
