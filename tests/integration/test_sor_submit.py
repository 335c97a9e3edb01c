"""Statements of reasons submitted to the EU Transparency Database (DSA Art. 24(5)) through the HTTP client
and the local test server (``tests/tdb_server.py``): batches of at most 100, exactly once per puid, 429
honoured, 5xx and dropped or slow connections retried and resumed without duplicates, a crash between
sending and recording resumed without duplicates, an invalid statement rejected alone, a refused token
stopping without burning attempts, a dry run sending nothing; SQLite and PostgreSQL."""

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.clitools import cli, cli_env
from tests.tdb_server import TdbServer, running
from trustdesk.app import Container
from trustdesk.authorities.models import new_id
from trustdesk.clock import FrozenClock
from trustdesk.db import make_engine, make_session_factory, unit_of_work
from trustdesk.safety.models import Case, StatementRecord
from trustdesk.safety.models import ModerationDecision as DecisionRow
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.statements import (
    AutomatedDecision,
    CaseSource,
    ModerationDecision,
    build_statement,
    to_json,
)
from trustdesk.safety.vocabulary import CaseStatus, ContentKind, DsaCategory, DsaKeyword
from trustdesk.transparency import sor_submit
from trustdesk.transparency.cli import AUTH_PAUSE, sor_job
from trustdesk.transparency.models import SorSubmission
from trustdesk.transparency.tdb_client import HttpTransparencyDatabase, RateLimits, retry_after_seconds

NO_JITTER = 0.0


def no_jitter() -> float:
    return NO_JITTER


def statement_body(puid: str) -> dict[str, Any]:
    """A valid statement in the database's JSON, as Trustdesk stores it."""
    decision = ModerationDecision(
        puid=puid,
        restrictions=frozenset({Restriction.REMOVE}),
        category=DsaCategory.SCAMS_AND_FRAUD,
        keywords=(DsaKeyword.PHISHING,),
        ground=DecisionGround.INCOMPATIBLE_CONTENT,
        ground_text="Terms of service, section 4.2 (fraud)",
        explanation="The message lures readers to a fake bank login page.",
        facts="A message linking to a page imitating a bank's login form.",
        source=CaseSource.OWN_INITIATIVE,
        automated_detection=True,
        automated_decision=AutomatedDecision.PARTIALLY,
        content_types=(ContentKind.TEXT,),
        content_date=date(2026, 11, 1),
        application_date=date(2026, 11, 2),
    )
    return to_json(build_statement(decision))


def add_statements(
    sessions: sessionmaker[Session], clock: FrozenClock, count: int, *, prefix: str = "sor", start: int = 0
) -> list[str]:
    """``count`` statements, created one second apart (so their order is known); their puids."""
    puids = []
    with unit_of_work(sessions) as session:
        for n in range(start, start + count):
            at = clock.now - timedelta(days=1) + timedelta(seconds=n)
            puid = f"{prefix}-{n:05d}"
            case = Case(
                event_key=f"t:{new_id()}", status=CaseStatus.DECIDED, priority=50,
                content_kind=ContentKind.TEXT, account_id="1", chat_id="1", locator="ref://chat/1/message/1",
                blur=False, auto_removed=False, opened_at=at,
            )  # fmt: skip
            session.add(case)
            session.flush()
            decision = DecisionRow(
                case_id=case.id, decided_by="x", decided_at=at, restrictions=["remove"], explanation="e"
            )
            session.add(decision)
            session.flush()
            session.add(
                StatementRecord(
                    decision_id=decision.id, account_id="1", puid=puid, body=statement_body(puid),
                    created_at=at, appeal_until=at, appeal_key_hash=new_id(),
                )
            )  # fmt: skip
            puids.append(puid)
    return puids


def submissions(sessions: sessionmaker[Session]) -> dict[str, SorSubmission]:
    """puid -> its submission row, detached."""
    with sessions() as session:
        rows = session.execute(
            select(StatementRecord.puid, SorSubmission).join(
                SorSubmission, SorSubmission.statement_id == StatementRecord.id
            )
        ).all()
        found = {row[0]: row[1] for row in rows}
        session.expunge_all()
        return found


def statuses(sessions: sessionmaker[Session]) -> dict[str, str]:
    return {puid: row.status for puid, row in submissions(sessions).items()}


@pytest.fixture
def server() -> Iterator[TdbServer]:
    with running() as s:
        yield s


@pytest.fixture
def client(server: TdbServer, clock: FrozenClock) -> Iterator[HttpTransparencyDatabase]:
    with HttpTransparencyDatabase(base_url=server.url, token=server.token, clock=clock, timeout=5) as c:
        yield c


def submit(
    sessions: sessionmaker[Session], clock: FrozenClock, client: Any, *, limit: int = 100
) -> sor_submit.RoundResult:
    return sor_submit.submit_due(sessions, clock, client, limit=limit, jitter=no_jitter)


def assert_exactly_once(server: TdbServer, sessions: sessionmaker[Session], puids: Sequence[str]) -> None:
    """Every puid stored once by the database and recorded submitted with the database's own id."""
    assert sorted(server.stored) == sorted(puids)
    rows = submissions(sessions)
    for puid in puids:
        assert rows[puid].status == "submitted", (puid, rows[puid].last_error)
        assert rows[puid].remote_id == server.stored[puid]["uuid"]


# ----------------------------------------------------------------------------------- batches, idempotence


def test_statements_go_in_batches_of_at_most_100_oldest_first_and_only_once(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 250)

    rounds = sor_submit.run_rounds(sessions, clock, client, limit=1000, jitter=no_jitter)

    assert server.batch_sizes == [100, 100, 50]
    assert [r.puids for r in server.requests] == [puids[:100], puids[100:200], puids[200:]]
    assert sum(len(r.submitted) for r in rounds) == 250
    assert_exactly_once(server, sessions, puids)
    assert {row.batch_id for row in submissions(sessions).values()} == {r.batch_id for r in rounds}

    sent = len(server.requests)
    again = sor_submit.run_rounds(sessions, clock, client, limit=1000, jitter=no_jitter)
    assert len(server.requests) == sent  # nothing new: nothing sent
    assert [r.claimed for r in again] == [0]

    (late,) = add_statements(sessions, clock, 1, prefix="late")
    submit(sessions, clock, client)
    assert server.requests[-1].puids == [late]
    assert_exactly_once(server, sessions, [*puids, late])


def test_a_puid_the_database_already_holds_is_recorded_with_its_id_and_the_batch_goes_in_without_it(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 5)
    (earlier,) = server.store([statement_body(puids[2])])  # stored before, e.g. by a restored backup

    result = submit(sessions, clock, client)

    posts = [r for r in server.requests if r.method == "POST"]
    assert [r.puids for r in posts] == [puids, [p for p in puids if p != puids[2]]]  # refused, then sent
    assert result.already_there == [puids[2]]
    assert server.stored[puids[2]]["uuid"] == earlier["uuid"]
    assert_exactly_once(server, sessions, puids)


# ----------------------------------------------------------------------------------- server limits


def test_429_waits_as_long_as_retry_after_says_and_stops_the_round(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 150)
    server.rate_limit(retry_after="120")

    rounds = sor_submit.run_rounds(sessions, clock, client, limit=1000, jitter=no_jitter)

    assert len(rounds) == 1  # the second batch is not tried while the server asks to wait
    assert len(server.requests) == 1
    assert rounds[0].pause_until == clock.now + timedelta(seconds=120)
    assert server.stored == {}
    rows = submissions(sessions)
    waiting = [rows[p] for p in puids[:100]]
    assert {(r.status, r.next_attempt_at, r.batch_id) for r in waiting} == {
        ("pending", clock.now + timedelta(seconds=120), None)  # definitely not stored: nothing to check
    }
    assert "429" in (waiting[0].last_error or "")

    clock.advance(timedelta(seconds=119))
    submit(sessions, clock, client)  # only the 50 others are due
    assert server.requests[-1].puids == puids[100:]
    clock.advance(timedelta(seconds=1))
    submit(sessions, clock, client)
    assert server.requests[-1].puids == puids[:100]
    assert_exactly_once(server, sessions, puids)


def test_retry_after_may_be_an_http_date_and_rate_limit_headers_are_read() -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 02 Nov 2026 09:01:30 GMT", now) == 90
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("Mon, 02 Nov 2026 08:00:00 GMT", now) == 0


def test_a_spent_quota_pauses_until_the_reset(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    add_statements(sessions, clock, 3)
    server.rate_limit_remaining = 0

    result = submit(sessions, clock, client)

    assert len(result.submitted) == 3
    assert client.limits == RateLimits(limit=200, remaining=0, reset_after=None)
    assert result.pause_until is None  # no reset said: nothing to wait for beyond the next 429


# ----------------------------------------------------------------------------------- failures, resumption


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retried_with_exponential_back_off_then_goes_in_once(
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    server: TdbServer,
    client: HttpTransparencyDatabase,
    status: int,
) -> None:
    puids = add_statements(sessions, clock, 3)
    server.fail_next(2, status=status)

    first = submit(sessions, clock, client)
    row = submissions(sessions)[puids[0]]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now + sor_submit.backoff(1, no_jitter)
    assert first.retry_at == row.next_attempt_at
    assert f"HTTP {status}" in (row.last_error or "")

    clock.advance(sor_submit.backoff(1, no_jitter))
    submit(sessions, clock, client)
    row = submissions(sessions)[puids[0]]
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now + sor_submit.backoff(2, no_jitter)
    assert sor_submit.backoff(2, no_jitter) == 2 * sor_submit.backoff(1, no_jitter)

    clock.advance(sor_submit.backoff(2, no_jitter))
    submit(sessions, clock, client)
    assert_exactly_once(server, sessions, puids)
    assert submissions(sessions)[puids[0]].last_error is None


def test_the_back_off_grows_to_its_bound_and_the_jitter_stays_within_it() -> None:
    waits = [sor_submit.backoff(n, lambda: 1.0) for n in range(1, 40)]
    assert waits == sorted(waits)
    assert max(waits) == sor_submit.BACKOFF_MAX
    for n in (1, 5, 30):
        low, high = sor_submit.backoff(n, lambda: 0.0), sor_submit.backoff(n, lambda: 1.0)
        assert high == 2 * low
        assert low <= sor_submit.backoff(n) <= high


@pytest.mark.parametrize("after_storing", [True, False], ids=["stored-then-dropped", "dropped-before"])
def test_a_dropped_connection_is_resumed_without_duplicates(
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    server: TdbServer,
    client: HttpTransparencyDatabase,
    after_storing: bool,
) -> None:
    puids = add_statements(sessions, clock, 4)
    server.drop_next(after_storing=after_storing)

    first = submit(sessions, clock, client)

    assert first.submitted == {}
    assert "RemoteProtocolError" in (first.error or "")
    assert bool(server.stored) is after_storing
    rows = submissions(sessions)
    assert {(r.status, r.batch_id) for r in rows.values()} == {("pending", first.batch_id)}  # in doubt

    clock.advance(sor_submit.BACKOFF_MAX)
    second = submit(sessions, clock, client)

    asked = [r.path for r in server.requests if r.method == "GET"]
    assert asked == [f"/api/v1/statement/existing-puid/{p}" for p in puids]
    posts = [r.puids for r in server.requests if r.method == "POST"]
    assert posts == [puids] if after_storing else [puids, puids]
    assert second.already_there == (puids if after_storing else [])
    assert_exactly_once(server, sessions, puids)


def test_a_slow_answer_that_times_out_after_storing_is_resumed_without_duplicates(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer
) -> None:
    puids = add_statements(sessions, clock, 2)
    server.slow_next(1.5, after_storing=True)
    with HttpTransparencyDatabase(
        base_url=server.url, token=server.token, clock=clock, timeout=0.3
    ) as impatient:
        first = submit(sessions, clock, impatient)
        assert "ReadTimeout" in (first.error or "")
        clock.advance(sor_submit.BACKOFF_MAX)
        submit(sessions, clock, impatient)
    assert len([r for r in server.requests if r.method == "POST"]) == 1
    assert_exactly_once(server, sessions, puids)


class CrashAfterSending:
    """The real client, but the process dies right after the database answered the batch."""

    def __init__(self, inner: HttpTransparencyDatabase) -> None:
        self.inner = inner

    @property
    def limits(self) -> RateLimits:
        return self.inner.limits

    def submit_batch(self, statements: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
        self.inner.submit_batch(statements)
        raise RuntimeError("killed between sending and recording")

    def submit_one(self, statement: Mapping[str, Any]) -> str | None:
        raise AssertionError("not used")

    def existing(self, puid: str) -> str | None:
        return self.inner.existing(puid)


def test_a_crash_between_sending_and_recording_is_resumed_without_duplicates(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 3)

    with pytest.raises(RuntimeError, match="killed"):
        submit(sessions, clock, CrashAfterSending(client))

    assert sorted(server.stored) == puids  # stored by the database, not recorded here
    rows = submissions(sessions)
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows.values()} == {
        ("pending", 1, clock.now + sor_submit.LEASE)
    }
    assert submit(sessions, clock, client).claimed == 0  # leased to the crashed process: not taken yet
    assert len(server.requests) == 1

    clock.advance(sor_submit.LEASE)
    resumed = submit(sessions, clock, client)

    assert resumed.already_there == puids
    assert [r.method for r in server.requests] == ["POST", "GET", "GET", "GET"]
    assert_exactly_once(server, sessions, puids)


def test_a_batch_claimed_by_one_process_is_not_taken_by_another(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    add_statements(sessions, clock, 3)
    sor_submit._queue(sessions, clock.now)
    first_batch, first = sor_submit._claim(sessions, clock.now, 100)
    second_batch, second = sor_submit._claim(sessions, clock.now, 100)
    assert len(first) == 3
    assert second == []
    assert first_batch != second_batch


# ----------------------------------------------------------------------------------- refusals


def test_an_invalid_statement_is_rejected_alone_and_the_others_go_in(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 5)
    server.refuse_puid(puids[3], "The decision facts must not name a person.")

    result = submit(sessions, clock, client)

    posts = [r.puids for r in server.requests if r.method == "POST"]
    assert posts == [puids, [p for p in puids if p != puids[3]]]
    assert list(result.rejected) == [puids[3]]
    rows = submissions(sessions)
    assert rows[puids[3]].status == "rejected"
    assert "must not name a person" in (rows[puids[3]].last_error or "")
    assert rows[puids[3]].next_attempt_at is None
    assert_exactly_once(server, sessions, [p for p in puids if p != puids[3]])
    assert submit(sessions, clock, client).claimed == 0  # a rejected statement is not sent again


def test_a_refusal_naming_no_statement_is_resolved_by_sending_them_one_by_one(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 3)
    server.refuse_puid(puids[1])
    server.unkeyed_refusals = True

    result = submit(sessions, clock, client)

    assert [r.path for r in server.requests] == ["/api/v1/statements"] + ["/api/v1/statement"] * 3
    assert list(result.rejected) == [puids[1]]
    assert_exactly_once(server, sessions, [puids[0], puids[2]])
    assert statuses(sessions)[puids[1]] == "rejected"


def test_a_statement_the_rules_no_longer_accept_is_rejected_without_sending(
    sessions: sessionmaker[Session], clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(sessions, clock, 3)
    with unit_of_work(sessions) as session:
        record = session.scalars(select(StatementRecord).where(StatementRecord.puid == puids[0])).one()
        record.body = {**record.body, "category_specification": ["KEYWORD_DANGEROUS_TOYS"]}  # withdrawn

    result = submit(sessions, clock, client)

    assert server.requests[0].puids == puids[1:]
    assert "category_specification" in result.rejected[puids[0]]
    assert statuses(sessions) == {puids[0]: "rejected", puids[1]: "submitted", puids[2]: "submitted"}


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_stops_alerts_and_burns_no_attempt(
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    server: TdbServer,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    puids = add_statements(sessions, clock, 150)
    token = "wrong-token" if status == 401 else server.token
    server.forbidden = status == 403
    with HttpTransparencyDatabase(base_url=server.url, token=token, clock=clock) as refused:
        caplog.set_level(logging.ERROR, logger="trustdesk.alerts")
        rounds = sor_submit.run_rounds(sessions, clock, refused, limit=1000, jitter=no_jitter)

    assert len(rounds) == 1
    assert len(server.requests) == 1
    assert f"HTTP {status}" in (rounds[0].auth_error or "")
    assert any("submission stopped" in r.getMessage() for r in caplog.records if r.name == "trustdesk.alerts")
    rows = submissions(sessions)
    assert {(r.status, r.attempts, r.batch_id, r.next_attempt_at) for r in rows.values()} == {
        ("pending", 0, None, clock.now)
    }
    assert server.stored == {}

    server.forbidden = False
    with HttpTransparencyDatabase(base_url=server.url, token=server.token, clock=clock) as fixed:
        sor_submit.run_rounds(sessions, clock, fixed, limit=1000, jitter=no_jitter)
    assert_exactly_once(server, sessions, puids)
    assert {r.attempts for r in submissions(sessions).values()} == {1}


# ----------------------------------------------------------------------------------- the command line


@pytest.fixture
def committed(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_dry_run_validates_and_shows_the_batches_and_sends_or_changes_nothing(
    database_url: str, committed: sessionmaker[Session], tmp_path: Path, server: TdbServer
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    puids = add_statements(committed, clock, 103)
    with unit_of_work(committed) as session:
        record = session.scalars(select(StatementRecord).where(StatementRecord.puid == puids[5])).one()
        record.body = {**record.body, "decision_facts": "Call Jane at +33 6 12 34 56 78."}
    env = {**cli_env(database_url, tmp_path), "TRUSTDESK_TDB_BASE_URL": server.url,
           "TRUSTDESK_TDB_TOKEN": server.token}  # fmt: skip

    shown = json.loads(cli(env, "sor", "submit", "--dry-run", "--limit", "500", "--json").stdout)

    assert shown["would_send"] == 102
    assert [len(b) for b in shown["batches"]] == [
        99,
        3,
    ]  # as they will go: puids[5] is dropped from the first
    assert shown["batches"][0][:5] == puids[:5]
    assert list(shown["refused"]) == [puids[5]]
    assert shown["statements"][0] == statement_body(puids[0])
    assert server.requests == []
    assert submissions(committed) == {}  # not even queued
    text = cli(env, "sor", "submit", "--dry-run").stdout
    assert "nothing was sent" in text

    sent = json.loads(cli(env, "sor", "submit", "--limit", "500", "--json").stdout)
    assert len(sent["submitted"]) == 102
    assert list(sent["rejected"]) == [puids[5]]
    assert server.batch_sizes == [99, 3]  # the refused statement never left
    assert puids[5] not in server.sent_puids()

    status = json.loads(cli(env, "sor", "status", "--json").stdout)
    assert status["counts"] == {"pending": 0, "submitted": 102, "rejected": 1, "not_queued": 0}
    assert status["last_errors"][0]["puid"] == puids[5]
    assert "personal data" in status["last_errors"][0]["error"]
    assert "submitted 102, rejected 1" in cli(env, "sor", "status").stdout


def test_submit_without_the_settings_says_how_to_turn_it_on(database_url: str, tmp_path: Path) -> None:
    result = cli(cli_env(database_url, tmp_path), "sor", "submit", expect=2)
    assert "TRUSTDESK_TDB_BASE_URL" in result.stderr


def test_a_refused_token_fails_the_command(
    database_url: str, committed: sessionmaker[Session], tmp_path: Path, server: TdbServer
) -> None:
    add_statements(committed, FrozenClock(datetime.now(UTC)), 2)
    env = {
        **cli_env(database_url, tmp_path),
        "TRUSTDESK_TDB_BASE_URL": server.url,
        "TRUSTDESK_TDB_TOKEN": "bad",
    }
    result = cli(env, "sor", "submit", expect=2)
    assert "refused the token" in result.stderr
    assert {r.attempts for r in submissions(committed).values()} == {0}


def test_the_serve_loop_job_waits_out_a_rate_limit_and_a_refused_token(
    container: Container, clock: FrozenClock, server: TdbServer, client: HttpTransparencyDatabase
) -> None:
    puids = add_statements(container.sessions, clock, 2)
    job = sor_job(container, client)
    server.rate_limit(retry_after="60")
    assert "429" in " ".join(job())
    assert job() == []  # paused: nothing asked of the server
    assert len(server.requests) == 1
    clock.advance(timedelta(seconds=59))
    assert job() == []
    clock.advance(timedelta(seconds=7))  # Retry-After and at most 10 % of jitter
    assert "2 statement(s) submitted" in " ".join(job())
    assert_exactly_once(server, container.sessions, puids)

    add_statements(container.sessions, clock, 1, prefix="next")
    server.forbidden = True
    assert "403" in " ".join(job())
    clock.advance(AUTH_PAUSE - timedelta(seconds=1))
    assert job() == []
    assert len(server.requests) == 3
    server.forbidden = False
    clock.advance(timedelta(seconds=1))
    assert "1 statement(s) submitted" in " ".join(job())
    assert job() == []  # nothing due


def test_the_job_is_off_without_the_settings(container: Container, clock: FrozenClock) -> None:
    add_statements(container.sessions, clock, 1)
    assert sor_job(container)() == []
