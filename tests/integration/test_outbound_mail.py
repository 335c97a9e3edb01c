"""The desk's outgoing mail end to end, on SQLite and PostgreSQL: real SMTP over loopback to a recording
aiosmtpd server (tests/smtp_sink.py), the outbox's retries with a frozen clock, the file's messages mailed
once, the e-mail pager, and the ``trustdesk mail outbox | send | retry`` commands.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.clitools import cli, cli_env
from tests.factories import bearer, epoc, officer_key
from tests.lawful_world import SECRET_TEXT
from tests.smtp_sink import SmtpSink, free_port, running_sink
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor, ActorKind
from trustdesk.clock import FrozenClock, system_clock
from trustdesk.db import make_engine, unit_of_work
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.intake import mail_texts, outbound
from trustdesk.intake.models import OutboundMail
from trustdesk.intake.outbound import MailError, SmtpSender
from trustdesk.lawful import review
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.review import CorrespondenceKind
from trustdesk.oncall.email_pager import EmailPager
from trustdesk.oncall.paging import PageMessage, PagerError
from trustdesk.staff import service as staff

FROM = "Trustdesk legal desk <lawful@trustdesk.example>"
OFFICER = "officer@justice.fr"
PORTAL = "https://trustdesk.example"
STANDARD = {"emergency": False, "emergency_justification": None}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with running_sink() as server:
        yield server


@pytest.fixture
def sender(sink: SmtpSink) -> SmtpSender:
    return SmtpSender(sink.host, sink.port, security="none", timeout=5)


def queue_one(sessions: sessionmaker[Session], clock: FrozenClock, **overrides: Any) -> OutboundMail:
    fields: dict[str, Any] = {
        "mail_from": FROM,
        "kind": outbound.ACKNOWLEDGEMENT,
        "to": OFFICER,
        "subject": "[TD-2026-7K3M-Q9XF] Received: your request",
        "body": "The legal desk has received your request.\n",
    }
    with unit_of_work(sessions) as session:
        return outbound.queue(session, clock, **(fields | overrides))


def reload(sessions: sessionmaker[Session], mail_id: str) -> OutboundMail:
    with sessions() as session:
        return session.get_one(OutboundMail, mail_id)


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OutboundMail)) or 0)


# --- queue and send ---------------------------------------------------------------------------------------


def test_a_queued_mail_reaches_the_relay_with_its_headers_once(
    sessions: sessionmaker[Session], clock: FrozenClock, sink: SmtpSink, sender: SmtpSender
) -> None:
    mail = queue_one(sessions, clock, in_reply_to="<order-114@justice.fr>")
    assert (mail.status, mail.attempts, mail.next_attempt_at) == (outbound.QUEUED, 0, clock.now)
    assert mail.message_id.startswith("<")
    assert mail.message_id.endswith("@trustdesk.example>")
    question = queue_one(sessions, clock, kind=outbound.QUESTION, subject="[TD-2026-7K3M-Q9XF] A question")

    assert outbound.send_due(sessions, clock, sender, FROM) == 2
    by_id = {r.message["Message-ID"]: r for r in sink.received}
    first, second = by_id[mail.message_id], by_id[question.message_id]
    assert first.mail_from == "lawful@trustdesk.example"
    assert first.rcpt_tos == [OFFICER]
    headers = first.message
    assert headers["From"] == FROM
    assert headers["To"] == OFFICER
    assert headers["Subject"] == "[TD-2026-7K3M-Q9XF] Received: your request"
    assert headers["Message-ID"] == mail.message_id
    assert headers["In-Reply-To"] == "<order-114@justice.fr>"
    assert headers["References"] == "<order-114@justice.fr>"
    assert headers["Auto-Submitted"] == "auto-replied"
    assert parsedate_to_datetime(headers["Date"]) == clock.now
    assert headers.get_content() == "The legal desk has received your request.\n"
    assert second.message["Auto-Submitted"] == "auto-generated"
    assert second.message["In-Reply-To"] is None

    sent = reload(sessions, mail.id)
    assert (sent.status, sent.sent_at, sent.attempts, sent.next_attempt_at, sent.last_error) == (
        outbound.SENT, clock.now, 1, None, None,
    )  # fmt: skip
    clock.advance(timedelta(hours=2))
    assert outbound.send_due(sessions, clock, sender, FROM) == 0
    assert len(sink.received) == 2  # never sent again


class RacingSender:
    """Sends for real; but while the first mail goes out, another process, which listed the due mail at the
    same moment, claims ``then``."""

    def __init__(
        self, sender: SmtpSender, sessions: sessionmaker[Session], clock: FrozenClock, then: str
    ) -> None:
        self.sender, self.sessions, self.clock, self.then = sender, sessions, clock, then
        self.raced = False

    def send(self, message: EmailMessage) -> None:
        if not self.raced:
            self.raced = True
            with unit_of_work(self.sessions) as session:
                session.execute(
                    update(OutboundMail)
                    .where(OutboundMail.id == self.then)
                    .values(
                        attempts=OutboundMail.attempts + 1, next_attempt_at=self.clock.now + outbound.CLAIM
                    )
                )
        self.sender.send(message)


def test_a_mail_claimed_by_another_process_is_not_sent_twice(
    sessions: sessionmaker[Session], clock: FrozenClock, sink: SmtpSink, sender: SmtpSender
) -> None:
    first = queue_one(sessions, clock)
    clock.advance(timedelta(seconds=1))
    second = queue_one(sessions, clock)
    racing = RacingSender(sender, sessions, clock, then=second.id)
    assert outbound.send_due(sessions, clock, racing, FROM) == 1  # both were due; the second was taken
    assert [r.message["Message-ID"] for r in sink.received] == [first.message_id]
    assert reload(sessions, second.id).attempts == 1  # the other process's attempt
    clock.advance(outbound.CLAIM)  # that process died before writing down the outcome: sent again
    assert outbound.send_due(sessions, clock, sender, FROM) == 1
    assert [r.message["Message-ID"] for r in sink.received] == [first.message_id, second.message_id]
    assert reload(sessions, second.id).attempts == 2


def test_a_refusing_relay_backs_off_then_the_mail_fails_and_retry_queues_it_again(
    sessions: sessionmaker[Session], clock: FrozenClock, sink: SmtpSink, sender: SmtpSender
) -> None:
    sink.handler.refuse = "451 4.3.0 the relay is busy, try again later"
    mail = queue_one(sessions, clock)
    waits = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60]  # minutes after each failed attempt
    assert len(waits) == outbound.MAX_ATTEMPTS - 1
    for attempt, wait in enumerate(waits, start=1):
        assert outbound.send_due(sessions, clock, sender, FROM) == 0
        row = reload(sessions, mail.id)
        assert (row.status, row.attempts) == (outbound.QUEUED, attempt)
        assert row.next_attempt_at == clock.now + timedelta(minutes=wait)
        assert "451 4.3.0 the relay is busy" in (row.last_error or "")
        assert f"relay 127.0.0.1:{sink.port}" in (row.last_error or "")
        clock.advance(timedelta(minutes=wait) - timedelta(seconds=1))
        assert outbound.send_due(sessions, clock, sender, FROM) == 0  # not due yet: the relay is not asked
        assert sink.handler.refused == attempt
        clock.advance(timedelta(seconds=1))
    assert outbound.send_due(sessions, clock, sender, FROM) == 0
    failed = reload(sessions, mail.id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (outbound.FAILED, 12, None)
    assert sink.handler.refused == outbound.MAX_ATTEMPTS
    clock.advance(timedelta(days=1))
    assert outbound.send_due(sessions, clock, sender, FROM) == 0  # failed mail waits for a person
    assert sink.handler.refused == outbound.MAX_ATTEMPTS
    with sessions() as session:
        assert [m.id for m in outbound.list_outbox(session, status=outbound.FAILED)] == [mail.id]
        assert outbound.list_outbox(session, status=outbound.QUEUED) == []

    with unit_of_work(sessions) as session:
        again = outbound.retry(session, clock, mail.id)
        assert (again.status, again.attempts, again.next_attempt_at) == (outbound.QUEUED, 0, clock.now)
    sink.handler.refuse = None
    assert outbound.send_due(sessions, clock, sender, FROM) == 1
    assert [r.message["Message-ID"] for r in sink.received] == [mail.message_id]  # the same message
    with unit_of_work(sessions) as session, pytest.raises(Conflict, match="only failed mail"):
        outbound.retry(session, clock, mail.id)
    with unit_of_work(sessions) as session, pytest.raises(NotFound):
        outbound.retry(session, clock, "no-such-mail")


def test_a_relay_that_is_down_or_refuses_the_recipient_is_retried(
    sessions: sessionmaker[Session], clock: FrozenClock, sink: SmtpSink
) -> None:
    down = free_port()
    mail = queue_one(sessions, clock)
    assert (
        outbound.send_due(sessions, clock, SmtpSender("127.0.0.1", down, security="none", timeout=5), FROM)
        == 0
    )
    row = reload(sessions, mail.id)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        outbound.QUEUED,
        1,
        clock.now + timedelta(minutes=1),
    )
    assert f"relay 127.0.0.1:{down}: SMTPConnectError" in (row.last_error or "")
    sink.handler.refuse = "550 5.1.1 no such user here"
    clock.advance(timedelta(minutes=1))
    assert outbound.send_due(sessions, clock, SmtpSender(sink.host, sink.port, security="none"), FROM) == 0
    assert "550 5.1.1 no such user here" in (reload(sessions, mail.id).last_error or "")


def test_the_relay_password_never_reaches_the_outbox(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    password = "s3cret-relay-pass"

    def echoing(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)  # a careless relay quoting what it was sent
        return AuthResult(
            success=False, handled=False, message=f"535 5.7.8 bad {auth_data.password.decode()}"
        )

    with running_sink(authenticator=echoing) as relay:
        mail = queue_one(sessions, clock)
        sender = SmtpSender(relay.host, relay.port, username="desk", password=password, security="none")
        assert password not in repr(sender)
        assert outbound.send_due(sessions, clock, sender, FROM) == 0
    error = reload(sessions, mail.id).last_error or ""
    assert "535 5.7.8 bad ***" in error
    assert password not in error


def message(subject: str) -> EmailMessage:
    return outbound.build_message(
        mail_from=FROM, to=OFFICER, subject=subject, body="b", date=system_clock(),
        message_id=make_msgid(domain="trustdesk.example"), auto_submitted="auto-generated",
    )  # fmt: skip


def test_starttls_is_required_when_asked_never_dropped_to_plain_text(sink: SmtpSink) -> None:
    with pytest.raises(MailError, match="STARTTLS"):
        SmtpSender(sink.host, sink.port, security="starttls", timeout=5).send(message("in the clear?"))
    assert sink.received == []


def test_the_sender_works_from_inside_a_running_event_loop(sink: SmtpSink, sender: SmtpSender) -> None:
    async def handler_in_a_loop() -> None:
        sender.send(message("from a loop"))

    asyncio.run(handler_in_a_loop())
    assert [r.message["Subject"] for r in sink.received] == ["from a loop"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"subject": "[TD-2026-7K3M-Q9XF] Hello\r\nBcc: everyone@example.org"}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"subject": "  "}, "subject"),
        ({"to": "officer@justice.fr\r\nBcc: everyone@example.org"}, "to"),
        ({"to": "not an address"}, "to"),
        ({"to": "officer@justice.fr, other@justice.fr"}, "to"),
        ({"to": "alice@justice.fr)<mallory@example.org>"}, "to"),
        ({"to": "undisclosed: officer@justice.fr;"}, "to"),
        ({"to": "=?utf-8?q?officer@justice.fr?= <mallory@example.org>"}, "to"),  # the parsers disagree
        ({"to": "officer@"}, "to"),
        ({"mail_from": "no domain"}, "mail_from"),
        ({"kind": "page"}, "kind"),
        ({"body": "\n"}, "body"),
        ({"in_reply_to": "<a@b>\r\nBcc: x@example.org"}, "in_reply_to"),
    ],
)
def test_bad_input_to_queue_raises_and_writes_nothing(
    sessions: sessionmaker[Session], clock: FrozenClock, override: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        queue_one(sessions, clock, **override)
    assert refused.value.field == field
    assert count(sessions) == 0


def test_a_display_name_is_kept_in_the_address(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    assert queue_one(sessions, clock, to="Ana Müller <ana@justice.fr>").to == "Ana Müller <ana@justice.fr>"


# --- the file's messages ----------------------------------------------------------------------------------


def submit(client: TestClient, key: str, sessions: sessionmaker[Session], *, channel: str) -> str:
    response = client.post("/api/v1/requests", json=epoc(**STANDARD), headers=bearer(key))
    assert response.status_code == 201, response.text
    tracking: str = response.json()["tracking_number"]
    with unit_of_work(sessions) as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        request.channel = channel  # as triage records a request that came by e-mail or letter
    return tracking


def write(
    sessions: sessionmaker[Session], clock: FrozenClock, actor: Actor, tracking: str, kind: CorrespondenceKind
) -> str:
    with unit_of_work(sessions) as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
        return review.correspond(session, clock, actor, request, kind, f"{kind.value}: {SECRET_TEXT}").id


@pytest.fixture
def reviewer(sessions: sessionmaker[Session], clock: FrozenClock) -> Actor:
    with unit_of_work(sessions) as session:
        user = staff.add_user(
            session, clock, Actor.operator(), email="rui@platform.example", roles=["legal_reviewer"]
        ).user
        return Actor(ActorKind.STAFF, user.id)


@contextmanager
def statements(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block."""
    seen: list[str] = []
    connection = sessions.kw["bind"]

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


def mail_round(sessions: sessionmaker[Session], clock: FrozenClock) -> int:
    with unit_of_work(sessions) as session:
        return outbound.mail_correspondence(session, clock, mail_from=FROM, portal_url=PORTAL)


def outbox(sessions: sessionmaker[Session]) -> list[OutboundMail]:
    with sessions() as session:
        return sorted(outbound.list_outbox(session), key=lambda m: (m.created_at, m.kind))


def test_a_question_on_a_mailed_request_is_mailed_once_to_the_officer_and_notes_never(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, reviewer: Actor
) -> None:
    key = officer_key(sessions, clock)
    tracking = submit(client, key, sessions, channel="email")
    question = write(sessions, clock, reviewer, tracking, CorrespondenceKind.CLARIFICATION_QUESTION)
    write(sessions, clock, reviewer, tracking, CorrespondenceKind.NOTE)
    assert mail_round(sessions, clock) == 1
    (mail,) = outbox(sessions)
    assert (mail.kind, mail.to, mail.correspondence_id, mail.status) == (
        outbound.QUESTION, OFFICER, question, outbound.QUEUED,
    )  # fmt: skip
    with sessions() as session:
        request = session.scalars(
            select(LawfulRequest).where(LawfulRequest.tracking_number == tracking)
        ).one()
    assert mail.request_id == request.id
    assert mail.subject == f"[{tracking}] A question about your request"
    assert f"{PORTAL}/portal/requests/{tracking}" in mail.body
    assert SECRET_TEXT not in mail.body
    with statements(sessions) as seen:
        assert mail_round(sessions, clock) == 0  # mailed once
    queries = [s.lstrip().upper() for s in seen if s.lstrip().upper().startswith(("SELECT", "INSERT"))]
    assert len(queries) == 1  # one query, and no insert tried
    assert queries[0].startswith("SELECT")
    assert len(outbox(sessions)) == 1

    clock.advance(timedelta(hours=1))
    answer = write(sessions, clock, reviewer, tracking, CorrespondenceKind.ANSWER)
    assert mail_round(sessions, clock) == 1
    _, second = outbox(sessions)
    assert (second.kind, second.correspondence_id) == (outbound.ANSWER, answer)
    assert second.subject == f"[{tracking}] Answer ready: your request"
    assert SECRET_TEXT not in second.body


def test_a_message_another_process_queued_meanwhile_is_skipped(
    client: TestClient,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    reviewer: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracking = submit(client, officer_key(sessions, clock), sessions, channel="email")
    question = write(sessions, clock, reviewer, tracking, CorrespondenceKind.CLARIFICATION_QUESTION)
    words = mail_texts.question_waiting

    def racing(tracking_number: str, *, portal_url: str) -> tuple[str, str]:
        """Another process commits its mail of the question after this round's query found it unmailed."""
        queue_one(sessions, clock, kind=outbound.QUESTION, correspondence_id=question)
        return words(tracking_number, portal_url=portal_url)

    monkeypatch.setattr(mail_texts, "question_waiting", racing)
    assert mail_round(sessions, clock) == 0
    assert [m.correspondence_id for m in outbox(sessions)] == [question]


def test_only_mailed_requests_and_only_the_desk_s_messages_are_mailed(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, reviewer: Actor
) -> None:
    key = officer_key(sessions, clock)
    by_api = submit(client, key, sessions, channel="api")  # the officer reads the file in the portal
    by_letter = submit(client, key, sessions, channel="mailroom")
    write(sessions, clock, reviewer, by_api, CorrespondenceKind.CLARIFICATION_QUESTION)
    with sessions() as session:
        officer_id = session.scalars(select(LawfulRequest.officer_id)).first()
    write(
        sessions,
        clock,
        Actor(ActorKind.OFFICER, officer_id),
        by_letter,
        CorrespondenceKind.CLARIFICATION_ANSWER,
    )
    assert mail_round(sessions, clock) == 0
    effect = write(sessions, clock, reviewer, by_letter, CorrespondenceKind.EFFECT_GIVEN)
    refusal = write(sessions, clock, reviewer, by_letter, CorrespondenceKind.CANNOT_COMPLY)
    with statements(sessions) as seen:
        assert mail_round(sessions, clock) == 2
    assert sum(s.lstrip().upper().startswith("SELECT") for s in seen) == 1  # one query, not one per row
    assert {(m.kind, m.correspondence_id) for m in outbox(sessions)} == {
        (outbound.ANSWER, effect), (outbound.ANSWER, refusal),
    }  # fmt: skip


def test_the_outbox_round_mails_the_file_through_the_relay_and_waits_without_one(
    client: TestClient,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    reviewer: Actor,
    sink: SmtpSink,
) -> None:
    key = officer_key(sessions, clock)
    tracking = submit(client, key, sessions, channel="email")
    write(sessions, clock, reviewer, tracking, CorrespondenceKind.CLARIFICATION_QUESTION)
    assert container.settings.smtp_host is None
    assert outbound.outbox_job(container)() == 0  # queued, not sent
    (waiting,) = outbox(sessions)
    assert waiting.status == outbound.QUEUED
    assert sink.received == []

    relay = {"smtp_host": sink.host, "smtp_port": sink.port, "smtp_security": "none"}
    container.settings = container.settings.model_copy(update=relay)
    assert outbound.outbox_job(container)() == 1
    (delivered,) = sink.received
    assert delivered.rcpt_tos == [OFFICER]
    assert delivered.message["Subject"] == f"[{tracking}] A question about your request"
    assert delivered.message["From"] == container.settings.mail_from
    body = delivered.message.get_content()
    assert f"http://127.0.0.1:8080/portal/requests/{tracking}" in body  # the public URL (default)
    assert SECRET_TEXT not in body
    assert reload(sessions, waiting.id).status == outbound.SENT


# --- the e-mail pager -------------------------------------------------------------------------------------


def page(clock: FrozenClock, **overrides: Any) -> PageMessage:
    values: dict[str, Any] = {
        "page_id": "page-1",
        "request_id": "request-1",
        "tracking_number": "TD-2026-7K3M-Q9XF",
        "instrument": "EU_EPOC",
        "level": 0,
        "to_email": "first@platform.example",
        "to_name": "First Lawyer",
        "received_at": clock.now,
        "due_at": clock.now + timedelta(hours=8),
    }
    return PageMessage(**(values | overrides))


def test_the_email_pager_delivers_pages_at_once_and_fails_loudly(
    clock: FrozenClock, sink: SmtpSink, sender: SmtpSender
) -> None:
    pager = EmailPager(
        sender, mail_from=FROM, console_url="https://desk.example", fallback_to="legal-team@platform.example",
        clock=clock,
    )  # fmt: skip
    assert pager.channel == "email"
    pager.send(page(clock))
    pager.send(page(clock, level=2, to_email=None, to_name=None))
    person, fallback = sink.received
    assert person.rcpt_tos == ["first@platform.example"]
    assert person.message["Subject"] == "[TD-2026-7K3M-Q9XF] EMERGENCY EU_EPOC: page level 0"
    assert person.message["Auto-Submitted"] == "auto-generated"
    assert person.message["Message-ID"].endswith("@trustdesk.example>")
    assert parsedate_to_datetime(person.message["Date"]) == clock.now
    assert "https://desk.example/console/requests/TD-2026-7K3M-Q9XF" in person.message.get_content()
    assert fallback.rcpt_tos == ["legal-team@platform.example"]
    assert fallback.message["Subject"].endswith("fallback page")

    no_fallback = EmailPager(sender, mail_from=FROM, console_url="https://desk.example", fallback_to=None)
    with pytest.raises(PagerError, match="no e-mail address"):
        no_fallback.send(page(clock, to_email=None, to_name=None))
    down = SmtpSender("127.0.0.1", free_port(), security="none", timeout=5)
    broken = EmailPager(down, mail_from=FROM, console_url="https://desk.example", fallback_to=None)
    with pytest.raises(PagerError, match=r"page page-1 by e-mail: relay 127\.0\.0\.1"):
        broken.send(page(clock))
    assert len(sink.received) == 2


# --- the CLI ----------------------------------------------------------------------------------------------


def test_the_cli_lists_sends_and_retries_the_outbox(
    database_url: str, tmp_path: Path, sink: SmtpSink
) -> None:
    engine = make_engine(database_url)
    try:
        sessions = sessionmaker(bind=engine)
        with unit_of_work(sessions) as session:
            first = outbound.queue(
                session, system_clock, mail_from=FROM, kind=outbound.ANSWER, to=OFFICER,
                subject="[TD-2026-7K3M-Q9XF] Answer ready: your request", body="See the portal.\n",
            ).id  # fmt: skip
        env = cli_env(database_url, tmp_path)
        unset = cli(env, "mail", "send", expect=2)
        assert "set TRUSTDESK_SMTP_HOST" in unset.stderr
        listed = cli(env, "mail", "outbox", "--json")
        assert '"status": "queued"' in listed.output
        assert first in listed.output
        assert "the status is one of" in cli(env, "mail", "outbox", "--status", "lost", expect=2).stderr

        relay = env | {
            "TRUSTDESK_SMTP_HOST": sink.host,
            "TRUSTDESK_SMTP_PORT": str(sink.port),
            "TRUSTDESK_SMTP_SECURITY": "none",
        }
        assert cli(relay, "mail", "send").output.startswith("1 sent")
        assert [r.message["Subject"] for r in sink.received] == [
            "[TD-2026-7K3M-Q9XF] Answer ready: your request"
        ]
        assert first in cli(env, "mail", "outbox", "--status", "sent").output
        assert "only failed mail is retried" in cli(env, "mail", "retry", first, expect=2).stderr
        assert "no outbound mail nope" in cli(env, "mail", "retry", "nope", expect=2).stderr

        with unit_of_work(sessions) as session:
            second = outbound.queue(
                session, system_clock, mail_from=FROM, kind=outbound.QUESTION, to=OFFICER,
                subject="[TD-2026-7K3M-Q9XF] A question about your request", body="See the portal.\n",
            ).id  # fmt: skip
        sink.handler.refuse = "451 4.3.0 try again later"
        refused = cli(relay, "mail", "send").output
        assert refused.startswith("0 sent")
        assert f"not sent yet: {second}" in refused
        assert "451 4.3.0 try again later" in refused
        with unit_of_work(sessions) as session:  # as if it had failed every attempt
            session.execute(
                update(OutboundMail).where(OutboundMail.id == second).values(status=outbound.FAILED)
            )
        assert second in cli(env, "mail", "outbox", "--status", "failed").output
        assert cli(env, "mail", "retry", second).output.strip() == f"{second}: queued again"
        assert second in cli(env, "mail", "outbox", "--status", "queued").output
    finally:
        engine.dispose()


def test_the_pager_is_the_webhook_else_e_mail_through_the_relay_else_the_log() -> None:
    from trustdesk.config import Environment, Settings
    from trustdesk.oncall.paging import LogPager, WebhookPager, pager_from_settings

    base = {"environment": Environment.DEVELOPMENT}
    assert isinstance(pager_from_settings(Settings(**base)), LogPager)
    by_mail = pager_from_settings(
        Settings(**base, smtp_host="relay.example", oncall_fallback_email="legal-oncall@platform.example")
    )
    assert isinstance(by_mail, EmailPager)
    assert by_mail.fallback_to == "legal-oncall@platform.example"
    hooked = Settings(**base, smtp_host="relay.example", alert_webhook_url="https://pager.example/hook")
    assert isinstance(pager_from_settings(hooked), WebhookPager)


def test_a_sent_mail_is_audited_without_its_body(
    container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    from trustdesk.audit.models import AuditEvent
    from trustdesk.audit.vocabulary import AuditAction

    class Relay:
        def send(self, message: EmailMessage) -> None:
            """Accepted."""

    with unit_of_work(sessions) as session:
        mail = outbound.queue(
            session, clock, mail_from=FROM, kind=outbound.ANSWER, to="officer@justice.fr",
            subject="[TD-2026-AAAA-BBBB] Answer ready", body="See the portal.",
        )  # fmt: skip
        mail_id = mail.id
    assert outbound.send_due(sessions, clock, Relay(), FROM) == 1
    with sessions() as session:
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.MAIL_SEND.value)
        ).all()
    assert event.subject_id == mail_id
    assert event.data["after"]["to"] == "officer@justice.fr"
    assert "See the portal." not in str(event.data)
