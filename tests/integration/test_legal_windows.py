"""The deadline monitor watches the legal windows (``LegalWindow``) besides the answer deadline: a window
still open past its due time raises one WINDOW_OVERDUE alert, once per window."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc, officer_key
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.lawful.models import DeadlineAlert, LawfulRequest, LegalWindow
from trustdesk.lawful.monitor import Alert, AlertKind, scan
from trustdesk.lawful.vocabulary import WindowKind
from trustdesk.lawful.workflow import RequestStatus

STANDARD = {"emergency": False, "emergency_justification": None}


def submitted(client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    key = officer_key(sessions, clock)
    response = client.post("/api/v1/requests", json=epoc(**STANDARD), headers=bearer(key))
    assert response.status_code == 201, response.text
    tracking = response.json()["tracking_number"]
    with sessions() as s:
        found = s.scalar(select(LawfulRequest.id).where(LawfulRequest.tracking_number == tracking))
    assert found is not None
    return found


def open_window(sessions: sessionmaker[Session], request_id: str, clock: FrozenClock, hours: int) -> str:
    with unit_of_work(sessions) as s:
        window = LegalWindow(
            request_id=request_id,
            kind=WindowKind.OBJECTION,
            opened_at=clock.now,
            due_at=clock.now + timedelta(hours=hours),
        )
        s.add(window)
        s.flush()
        return window.id


def scan_now(sessions: sessionmaker[Session], clock: FrozenClock) -> list[Alert]:
    with unit_of_work(sessions) as s:
        return scan(s, clock)


def test_an_open_window_past_due_alerts_once_per_window(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    request_id = submitted(client, sessions, clock)
    first = open_window(sessions, request_id, clock, 96)
    second = open_window(sessions, request_id, clock, 100)
    assert scan_now(sessions, clock) == []

    clock.advance(timedelta(hours=97))  # the first window passed, the second not yet
    alerts = [a for a in scan_now(sessions, clock) if a.kind is AlertKind.WINDOW_OVERDUE]
    assert [(a.window_id, a.window_kind, a.time_left_seconds) for a in alerts] == [
        (first, "objection", -3600)
    ]
    assert alerts[0].as_dict()["window_kind"] == "objection"
    assert not [a for a in scan_now(sessions, clock) if a.kind is AlertKind.WINDOW_OVERDUE]  # once

    clock.advance(timedelta(hours=4))
    alerts = [a for a in scan_now(sessions, clock) if a.kind is AlertKind.WINDOW_OVERDUE]
    assert [a.window_id for a in alerts] == [second]  # its own alert, although the same kind and request
    with sessions() as s:
        kinds = s.scalars(select(DeadlineAlert.kind).where(DeadlineAlert.request_id == request_id)).all()
    assert sum(1 for k in kinds if k.startswith("w:")) == 2
    assert all(len(k) <= 16 for k in kinds)


def test_a_closed_window_never_alerts_even_after_the_answer(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    request_id = submitted(client, sessions, clock)
    closed = open_window(sessions, request_id, clock, 1)
    still_open = open_window(sessions, request_id, clock, 2)
    with unit_of_work(sessions) as s:
        window = s.get(LegalWindow, closed)
        assert window is not None
        window.closed_at = clock.now
        window.outcome = "no_objection"
        lawful = s.get(LawfulRequest, request_id)
        assert lawful is not None
        lawful.status = RequestStatus.ANSWERED  # a window outlives the answer
    clock.advance(timedelta(hours=3))
    alerts = [a for a in scan_now(sessions, clock) if a.kind is AlertKind.WINDOW_OVERDUE]
    assert [a.window_id for a in alerts] == [still_open]
