"""On call for emergencies (issue 13, item 3), on real SQLite and PostgreSQL with a frozen clock: the rota,
paging the person on call when an emergency arrives, escalation, acknowledgement, the console and the CLI.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser_login import add_staff_login, log_in
from tests.factories import epoc
from tests.integration.conftest import Run
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, Forbidden, InvalidInput
from trustdesk.lawful.models import LawfulRequest
from trustdesk.oncall import paging, rota
from trustdesk.oncall.models import OncallShift, Page
from trustdesk.oncall.paging import PageMessage, PagerError
from trustdesk.platform.protocol import PlatformError
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser

NIGHT = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
"""03:00 UTC, a Tuesday night."""
AFTER = timedelta(minutes=15)
STANDARD = {"emergency": False, "emergency_justification": None}


class RecordingPager:
    """A `Pager` that keeps every page it delivered; pages to the e-mails in ``fail_for`` (or all, with
    ``unavailable``) raise `PagerError` and are kept in ``failed``."""

    channel = "webhook"

    def __init__(self) -> None:
        self.sent: list[PageMessage] = []
        self.failed: list[PageMessage] = []
        self.fail_for: set[str | None] = set()
        self.unavailable = False

    def send(self, message: PageMessage) -> None:
        if self.unavailable or message.to_email in self.fail_for:
            self.failed.append(message)
            raise PagerError(f"the recording pager refuses {message.to_email}")
        self.sent.append(message)

    def to(self) -> list[str | None]:
        return [m.to_email for m in self.sent]


@pytest.fixture
def pager(container: Container) -> RecordingPager:
    recorder = RecordingPager()
    container.pager = recorder
    return recorder


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


LAWYERS = ("first@platform.example", "backup@platform.example")


@pytest.fixture
def rota_tonight(sessions: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    """Two lawyers on call from 18:00 to 08:00 around ``NIGHT``: position 0 and its backup, position 1."""
    ids = {}
    with unit_of_work(sessions) as session:
        for position, email in enumerate(LAWYERS):
            role = "legal_reviewer" if position == 0 else "legal_approver"
            user = staff.add_user(session, clock, Actor.operator(), email=email, roles=[role]).user
            rota.add_shift(
                session,
                clock,
                None,
                user=user,
                starts_at=NIGHT - timedelta(hours=9),
                ends_at=NIGHT + timedelta(hours=5),
                position=position,
            )
            ids[email] = user.id
    return ids


def emergency() -> dict[str, Any]:
    return epoc(targets=[{"type": "phone", "value": SUSPECT_PHONE}])


def pages(sessions: sessionmaker[Session], tracking: str) -> list[Page]:
    with unit_of_work(sessions) as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        return paging.pages_of(session, request.id)


def actions(sessions: sessionmaker[Session], tracking: str) -> list[str]:
    with unit_of_work(sessions) as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        return [
            e.action
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.subject_id == request.id).order_by(AuditEvent.seq)
            )
            if e.action.startswith("oncall:")
        ]


def states(found: list[Page]) -> list[tuple[int, str | None, str]]:
    return [(p.level, p.user_id, p.status) for p in found]


# --- paging on arrival ----------------------------------------------------------------------------------


def test_an_emergency_at_three_in_the_morning_pages_the_person_on_call(
    world: World,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    clock.now = NIGHT
    tracking = world.submit(emergency())
    assert pager.to() == [LAWYERS[0]]
    assert (pager.sent[0].tracking_number, pager.sent[0].level) == (tracking, 0)
    (page,) = pages(sessions, tracking)
    assert (page.level, page.user_id, page.status, page.channel) == (
        0,
        rota_tonight[LAWYERS[0]],
        "sent",
        "webhook",
    )
    assert page.paged_at == NIGHT
    assert actions(sessions, tracking) == [AuditAction.ONCALL_PAGE_SEND.value]


def test_unacknowledged_pages_escalate_to_the_backup_then_the_fallback_and_stop(
    world: World,
    container: Container,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    clock.now = NIGHT
    tracking = world.submit(emergency())
    job = paging.escalation_job(container)
    clock.advance(AFTER - timedelta(seconds=1))
    assert job() == 0, "not yet due"
    clock.advance(timedelta(seconds=1))
    assert job() == 1
    assert job() == 0, "idempotent: a page escalates once"
    first, backup = rota_tonight[LAWYERS[0]], rota_tonight[LAWYERS[1]]
    assert states(pages(sessions, tracking)) == [(0, first, "escalated"), (1, backup, "sent")]
    assert pager.to() == [LAWYERS[0], LAWYERS[1]]
    clock.advance(AFTER)
    assert job() == 1
    assert states(pages(sessions, tracking)) == [
        (0, first, "escalated"),
        (1, backup, "escalated"),
        (2, None, "sent"),
    ]
    assert pager.to() == [LAWYERS[0], LAWYERS[1], None]
    clock.advance(AFTER * 4)
    assert job() == 0, "after the fallback, escalation stops"
    assert actions(sessions, tracking) == [
        "oncall:page:send",
        "oncall:page:escalate",
        "oncall:page:send",
        "oncall:page:escalate",
        "oncall:page:fallback",
    ]


def test_escalate_due_takes_the_configured_delay(
    world: World,
    container: Container,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    clock.now = NIGHT
    tracking = world.submit(emergency())
    clock.advance(timedelta(minutes=5))
    with unit_of_work(sessions) as session:
        assert paging.escalate_due(session, clock, pager, after=timedelta(minutes=6)) == []
        (sent,) = paging.escalate_due(session, clock, pager, after=timedelta(minutes=5))
        assert (sent.user_id, sent.level) == (rota_tonight[LAWYERS[1]], 1)
    assert [p.status for p in pages(sessions, tracking)] == ["escalated", "sent"]


def test_an_acknowledged_page_does_not_escalate(
    world: World,
    container: Container,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    clock.now = NIGHT
    tracking = world.submit(emergency())
    (page,) = pages(sessions, tracking)
    clock.advance(timedelta(minutes=3))
    with unit_of_work(sessions) as session:
        paging.acknowledge(session, clock, session.get_one(StaffUser, rota_tonight[LAWYERS[0]]), page.id)
    clock.advance(AFTER * 3)
    assert paging.escalation_job(container)() == 0
    (page,) = pages(sessions, tracking)
    assert (page.status, page.acknowledged_at) == ("acknowledged", NIGHT + timedelta(minutes=3))
    assert pager.to() == [LAWYERS[0]]
    assert actions(sessions, tracking)[-1] == AuditAction.ONCALL_PAGE_ACKNOWLEDGE.value
    with unit_of_work(sessions) as session, pytest.raises(Conflict):
        paging.acknowledge(session, clock, session.get_one(StaffUser, rota_tonight[LAWYERS[0]]), page.id)


def test_only_the_paged_person_or_the_legal_desk_acknowledges(
    world: World,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    clock.now = NIGHT
    tracking = world.submit(emergency())
    (page,) = pages(sessions, tracking)
    with unit_of_work(sessions) as session:
        moderator = staff.add_user(
            session, clock, Actor.operator(), email="mod@platform.example", roles=["moderator"]
        ).user
        with pytest.raises(Forbidden):
            paging.acknowledge(session, clock, moderator, page.id)
    assert pages(sessions, tracking)[0].status == "sent"
    with unit_of_work(sessions) as session:
        backup = session.get_one(StaffUser, rota_tonight[LAWYERS[1]])
        assert paging.acknowledge(session, clock, backup, page.id).status == "acknowledged"


def test_nobody_on_call_pages_the_fallback(
    world: World, clock: FrozenClock, sessions: sessionmaker[Session], pager: RecordingPager
) -> None:
    clock.now = NIGHT
    tracking = world.submit(emergency())
    assert states(pages(sessions, tracking)) == [(0, None, "sent")]
    assert pager.to() == [None]
    assert pager.sent[0].fallback
    assert actions(sessions, tracking) == [AuditAction.ONCALL_PAGE_FALLBACK.value]


def test_a_failed_delivery_escalates_at_once(
    world: World,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    pager.fail_for = {LAWYERS[0]}
    clock.now = NIGHT
    tracking = world.submit(emergency())
    first, second = pages(sessions, tracking)
    assert (first.status, first.escalated_at) == ("failed", NIGHT)
    assert "refuses first@platform.example" in (first.error or "")
    assert (second.level, second.user_id, second.status) == (1, rota_tonight[LAWYERS[1]], "sent")
    assert pager.to() == [LAWYERS[1]]
    assert actions(sessions, tracking) == ["oncall:page:send", "oncall:page:escalate", "oncall:page:send"]


def test_when_every_delivery_fails_the_fallback_is_tried_and_recorded(
    world: World,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    pager.unavailable = True
    clock.now = NIGHT
    tracking = world.submit(emergency())
    assert [(p.level, p.status) for p in pages(sessions, tracking)] == [
        (0, "failed"),
        (1, "failed"),
        (2, "failed"),
    ]
    assert [m.to_email for m in pager.failed] == [*LAWYERS, None]


def test_a_request_that_is_not_an_emergency_pages_nobody(
    world: World,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
) -> None:
    clock.now = NIGHT
    tracking = world.submit(epoc(**STANDARD))
    assert pages(sessions, tracking) == []
    assert pager.sent == []


def test_the_page_is_not_lost_when_the_platform_fails_and_retries_do_not_page_twice(
    world: World,
    container: Container,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
    rota_tonight: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise PlatformError("the platform is down")

    monkeypatch.setattr(container.connector, "place_hold", broken)
    clock.now = NIGHT
    tracking = world.submit(emergency())
    assert states(pages(sessions, tracking)) == [(0, rota_tonight[LAWYERS[0]], "sent")]
    assert pager.to() == [LAWYERS[0]], "paged once, however often the bus retried the arrival"


# --- the rota ----------------------------------------------------------------------------------------------


def shift_count(sessions: sessionmaker[Session]) -> int:
    with unit_of_work(sessions) as session:
        return session.scalar(select(func.count()).select_from(OncallShift)) or 0


def test_bad_shifts_are_refused_and_change_nothing(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    with unit_of_work(sessions) as session:
        lawyer = staff.add_user(
            session, clock, Actor.operator(), email="l@platform.example", roles=["legal_reviewer"]
        ).user
        mod = staff.add_user(
            session, clock, Actor.operator(), email="m@platform.example", roles=["moderator"]
        ).user
        admin = staff.add_user(
            session, clock, Actor.operator(), email="a@platform.example", roles=["admin"]
        ).user
        rota.add_shift(
            session, clock, admin, user=lawyer, starts_at=clock.now, ends_at=clock.now + timedelta(days=1)
        )
    start = clock.now + timedelta(days=2)
    hours = timedelta(hours=1)

    def attempt(
        who: StaffUser, begins: datetime, ends: datetime, position: int = 0
    ) -> Callable[[Session], object]:
        def add(s: Session) -> object:
            return rota.add_shift(
                s, clock, None, user=s.merge(who), starts_at=begins, ends_at=ends, position=position
            )

        return add

    bad = [
        (attempt(mod, start, start + 8 * hours), "not_legal_staff"),
        (attempt(lawyer, start, start), "shift_ends_before_start"),
        (attempt(lawyer, start, start + timedelta(days=15)), "shift_too_long"),
        (attempt(lawyer, start, start + hours, position=10), "invalid_input"),
        (attempt(lawyer, start.replace(tzinfo=None), start + hours), "invalid_input"),
        (attempt(lawyer, clock.now - 48 * hours, clock.now - 24 * hours), "shift_in_the_past"),
        (attempt(lawyer, clock.now + hours, clock.now + 3 * hours), "shift_overlap"),
    ]
    for add, code in bad:
        with pytest.raises((InvalidInput, Conflict)) as refused, unit_of_work(sessions) as session:
            add(session)
        assert refused.value.code == code, (code, refused.value.message)
    with pytest.raises(Forbidden), unit_of_work(sessions) as session:
        rota.add_shift(
            session, clock, session.merge(lawyer), user=lawyer, starts_at=start, ends_at=start + hours
        )
    assert shift_count(sessions) == 1


def test_positions_order_who_is_on_call_and_removed_shifts_page_nobody(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    with unit_of_work(sessions) as session:
        a = staff.add_user(
            session, clock, Actor.operator(), email="a@platform.example", roles=["legal_reviewer"]
        ).user
        b = staff.add_user(
            session, clock, Actor.operator(), email="b@platform.example", roles=["legal_approver"]
        ).user
        end = clock.now + timedelta(hours=8)
        backup = rota.add_shift(session, clock, None, user=a, starts_at=clock.now, ends_at=end, position=1)
        rota.add_shift(session, clock, None, user=b, starts_at=clock.now, ends_at=end, position=0)
        c = staff.add_user(
            session, clock, Actor.operator(), email="c@platform.example", roles=["legal_reviewer"]
        )
        with pytest.raises(Conflict) as taken:
            rota.add_shift(session, clock, None, user=c.user, starts_at=clock.now, ends_at=end, position=0)
        assert taken.value.code == "position_taken"
        assert [s.user_id for s in rota.on_call(session, clock.now)] == [b.id, a.id]
        assert rota.on_call(session, end) == []
        rota.remove_shift(session, clock, None, backup.id)
        assert [s.user_id for s in rota.on_call(session, clock.now)] == [b.id]
        with pytest.raises(Conflict):
            rota.remove_shift(session, clock, None, backup.id)
        window = rota.shifts_between(session, clock.now - timedelta(days=1), clock.now + timedelta(days=1))
        assert [s.user_id for s in window] == [b.id]
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "oncall_shift")
        ).all()
        assert sorted(audited) == ["oncall:shift:add", "oncall:shift:add", "oncall:shift:remove"]


# --- the console --------------------------------------------------------------------------------


def test_the_console_shows_the_rota_adds_and_removes_shifts_with_the_permission(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    approver = add_staff_login(sessions, clock, "approver@platform.example", "legal_approver")
    reviewer = add_staff_login(sessions, clock, "reviewer@platform.example", "legal_reviewer")
    with unit_of_work(sessions) as session:
        reviewer_id = staff.get_user(session, "reviewer@platform.example").id
    csrf = log_in(client, "console", "reviewer@platform.example", reviewer, clock)
    body = {"csrf_token": csrf, "user": reviewer_id, "position": "0"}
    body |= {"starts_at": "2026-11-02T18:00", "ends_at": "2026-11-03T08:00"}
    refused = client.post("/console/oncall", data=body, follow_redirects=False)
    assert refused.status_code == 403, "a reviewer sees the rota but may not change it"
    assert shift_count(sessions) == 0
    assert "Add a shift" not in client.get("/console/oncall").text

    csrf = log_in(client, "console", "approver@platform.example", approver, clock)
    body["csrf_token"] = csrf
    assert client.post("/console/oncall", data=body | {"csrf_token": "forged"}).status_code == 403
    added = client.post("/console/oncall", data=body, follow_redirects=False)
    assert added.status_code == 303, added.text
    shown = client.get(added.headers["location"]).text
    for text in (
        "Shift added",
        "This week",
        "reviewer@platform.example",
        "2026-11-02 18:00 UTC",
        "2026-11-03 08:00 UTC",
    ):
        assert text in shown, text
    bad = client.post("/console/oncall", data=body | {"ends_at": "2026-11-30T08:00"})
    assert bad.status_code == 422
    assert "Not done; nothing was changed." in bad.text
    assert shift_count(sessions) == 1
    with unit_of_work(sessions) as session:
        (shift_id,) = session.scalars(select(OncallShift.id)).all()
    removed = client.post(
        f"/console/oncall/{shift_id}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "reviewer@platform.example" not in client.get("/console/oncall").text.split("Add a shift")[0]


def test_the_request_page_lists_its_pages_and_the_paged_person_acknowledges(
    world: World,
    client: TestClient,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
    pager: RecordingPager,
) -> None:
    lawyer = add_staff_login(sessions, clock, "oncall@platform.example", "legal_reviewer")
    moderator = add_staff_login(sessions, clock, "mod@platform.example", "moderator")
    with unit_of_work(sessions) as session:
        user = staff.get_user(session, "oncall@platform.example")
        hour = timedelta(hours=1)
        rota.add_shift(session, clock, None, user=user, starts_at=NIGHT - hour, ends_at=NIGHT + hour)
    clock.now = NIGHT
    tracking = world.submit(emergency())
    (page,) = pages(sessions, tracking)

    csrf = log_in(client, "console", "mod@platform.example", moderator, clock)
    assert client.post(f"/console/pages/{page.id}/acknowledge", data={"csrf_token": csrf}).status_code == 403

    csrf = log_in(client, "console", "oncall@platform.example", lawyer, clock)
    shown = client.get(f"/console/requests/{tracking}").text
    assert "On-call pages" in shown
    assert f'action="/console/pages/{page.id}/acknowledge"' in shown
    assert user.name in shown.split("On-call pages")[1]
    assert client.post(f"/console/pages/{page.id}/acknowledge", data={}).status_code == 403, "CSRF"
    done = client.post(
        f"/console/pages/{page.id}/acknowledge", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert (done.status_code, done.headers["location"]) == (303, f"/console/requests/{tracking}#pages")
    assert pages(sessions, tracking)[0].status == "acknowledged"
    shown = client.get(f"/console/requests/{tracking}").text
    assert f'action="/console/pages/{page.id}/acknowledge"' not in shown
    assert client.post(f"/console/pages/{page.id}/acknowledge", data={"csrf_token": csrf}).status_code == 409


def test_the_point_of_contact_says_how_emergencies_reach_the_on_call_lawyer(client: TestClient) -> None:
    text = " ".join(client.get("/contact").text.split())
    assert "pages the on-call lawyer at once, day and night, and escalates" in text


# --- the CLI ------------------------------------------------------------------------------------


def test_the_cli_adds_lists_shows_and_removes_shifts(run: Run) -> None:
    run("user", "add", "--email", "boss@platform.example", "--role", "admin")
    run("user", "add", "--email", "law@platform.example", "--role", "legal_reviewer")
    run("user", "add", "--email", "rev@platform.example", "--role", "legal_reviewer")
    now = datetime.now(UTC).replace(microsecond=0)
    window = (
        "--from",
        (now - timedelta(hours=1)).isoformat(),
        "--to",
        (now + timedelta(hours=8)).isoformat(),
    )
    refused = run(
        "oncall", "add", "--as", "rev@platform.example", "--user", "law@platform.example", *window, expect=2
    )
    assert "staff:oncall:manage" in refused.output + refused.stderr
    refused = run(
        "oncall", "add", "--as", "boss@platform.example", "--user", "boss@platform.example", *window, expect=2
    )
    assert "only an active legal reviewer or legal approver" in refused.output + refused.stderr
    boss = ("--as", "boss@platform.example")
    added = json.loads(
        run(
            "oncall", "add", *boss, "--user", "law@platform.example", *window, "--position", "0", "--json"
        ).output
    )
    assert (added["email"], added["position"]) == ("law@platform.example", 0)
    listed = json.loads(run("oncall", "list", "--json").output)
    assert [row["id"] for row in listed] == [added["id"]]
    assert "law@platform.example" in run("oncall", "now").output
    run("oncall", "remove", added["id"], "--as", "boss@platform.example")
    assert json.loads(run("oncall", "list", "--json").output) == []
    assert "nobody is on call" in run("oncall", "now").output
    missing = run("oncall", "ack", "no-such-page", "--as", "law@platform.example", expect=2)
    assert "no page no-such-page" in missing.output + missing.stderr
