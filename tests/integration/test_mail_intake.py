"""E-mail and mailroom intake end to end, on SQLite and PostgreSQL: real SMTP over loopback to the aiosmtpd
listener, a real IMAP conversation with the test server (tests/imap_server.py), the console's mailroom and
triage page, and the CLI. Every DNS answer comes from the test (``StaticDns``): nothing leaves loopback.
"""

import hashlib
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.browser_login import add_staff_login, log_in
from tests.clitools import cli_env
from tests.factories import PDF, bearer, epoc, officer_key
from tests.imap_server import ImapServer, Mailstore
from tests.mail_world import arrivals_for_test
from tests.unit.test_mail_authenticity import agency_dns, mail, sign, wire
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import AgencyDomain
from trustdesk.clock import FrozenClock, system_clock
from trustdesk.db import make_engine, unit_of_work
from trustdesk.intake import authenticity, imap_poller, store
from trustdesk.intake import cli as intake_cli
from trustdesk.intake.authenticity import StaticDns
from trustdesk.intake.models import InboundAttachment, InboundMessage
from trustdesk.intake.smtp_server import IntakeHandler, controller
from trustdesk.staff import service as staff

DESK = "lawful@trustdesk.example"
MAX = 300_000


def dns() -> StaticDns:
    """The agency's DKIM key and DMARC policy; its SPF allows loopback (the test's MTA)."""
    base = agency_dns().records
    return StaticDns({**base, ("justice.fr", "TXT"): ["v=spf1 ip4:127.0.0.1 -all"]})


@pytest.fixture
def agency_id(sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    officer_key(sessions, clock)  # Test agency justice.fr, verified, with an officer
    with unit_of_work(sessions) as session:
        return session.scalars(
            select(AgencyDomain.agency_id).where(AgencyDomain.domain == "justice.fr")
        ).one()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(container: Container) -> Iterator[tuple[IntakeHandler, int]]:
    handler = IntakeHandler(
        container.sessions, container.clock, [DESK], MAX, arrivals_for_test(container), dns=dns()
    )
    port = free_port()
    listener = controller(handler, "127.0.0.1", port)
    listener.start()
    try:
        yield handler, port
    finally:
        listener.stop()


def send(port: int, raw: bytes, *, to: str = DESK, sender: str = "bounces@justice.fr") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [to], raw)


def stored(sessions: sessionmaker[Session]) -> list[InboundMessage]:
    with sessions() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.created_at)))


def attachments(sessions: sessionmaker[Session], message_id: str) -> list[InboundAttachment]:
    with sessions() as session:
        return list(
            session.scalars(
                select(InboundAttachment)
                .where(InboundAttachment.message_id == message_id)
                .order_by(InboundAttachment.position)
            )
        )


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


def signed_order(**kwargs: Any) -> bytes:
    return sign(mail(attachments=[("ordonnance.pdf", "application/pdf", PDF)], **kwargs))


# --- SMTP -----------------------------------------------------------------------------------------------


def test_a_signed_order_over_smtp_is_stored_whole_and_attributed_to_its_agency(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session], agency_id: str
) -> None:
    handler, port = smtp
    raw = signed_order()
    send(port, raw)
    (message,) = stored(sessions)
    assert handler.received == [message.id]  # the 250 came after the commit: the row is there
    assert message.raw == raw
    assert message.sha256 == hashlib.sha256(raw).hexdigest()
    assert message.channel == "email"
    assert message.status == "triage"
    assert message.sender == "magistrate@justice.fr"
    assert message.recipient == DESK
    assert message.subject == "Réquisition — EPOC"
    assert (message.message_id or "").endswith("@justice.fr>")
    assert message.agency_id == agency_id
    verdict = message.authenticity or {}
    assert (verdict["dkim"], verdict["spf"], verdict["dmarc"], verdict["domain_match"]) == (
        "pass", "pass", "pass", "exact",
    )  # fmt: skip
    assert verdict["smtp"]["client_ip"] == "127.0.0.1"
    (pdf,) = attachments(sessions, message.id)
    assert (pdf.filename, pdf.content_type, pdf.content, pdf.problem) == (
        "ordonnance.pdf", "application/pdf", PDF, None,
    )  # fmt: skip
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    extracted = message.extracted or {}
    assert extracted["references"] == ["PJ-2026-114"]
    assert "EU_EPOC" in extracted["instruments"]
    assert extracted["phone_numbers"] == ["+33612345678"]
    assert extracted["emergency"] is True
    with sessions() as session:
        actions = [
            e.action
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.subject_id == message.id).order_by(AuditEvent.seq)
            )
        ]
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_id == message.id, AuditEvent.action == AuditAction.INBOUND_RECEIVE.value
            )
        ).one()
    # received, then acknowledged (it is the agency's), then paged (it says "Urgent"), in that order
    assert actions == [
        AuditAction.INBOUND_RECEIVE.value, AuditAction.INBOUND_ACKNOWLEDGE.value,
        AuditAction.ONCALL_PAGE_FALLBACK.value,
    ]  # fmt: skip
    assert event.data["after"]["sha256"] == message.sha256


def test_a_forged_sender_is_kept_but_not_attributed_and_the_reasons_say_why(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session], agency_id: str
) -> None:
    _, port = smtp
    forged = wire(mail(attachments=[("ordonnance.pdf", "application/pdf", PDF)]))  # From: justice.fr
    send(port, forged, sender="x@forger.example")
    (message,) = stored(sessions)
    assert message.agency_id is None
    verdict = message.authenticity or {}
    assert verdict["dkim"] == "none"
    assert verdict["dmarc"] == "fail"
    assert any("fails DMARC: it is NOT attributed" in r for r in verdict["reasons"])


def test_a_look_alike_domain_is_flagged(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session], agency_id: str
) -> None:
    _, port = smtp
    send(port, wire(mail(sender="magistrate@justlce.fr")), sender="magistrate@justlce.fr")
    (message,) = stored(sessions)
    assert message.agency_id is None
    assert (message.authenticity or {})["domain_match"] == "lookalike"
    assert (message.authenticity or {})["lookalike_of"] == "justice.fr"


def test_a_broken_pdf_and_a_missing_one_are_kept_in_triage_with_the_problem(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session], agency_id: str
) -> None:
    _, port = smtp
    send(port, sign(mail(attachments=[("order.pdf", "application/pdf", b"%PDF-1.7\nnot a pdf")])))
    send(port, sign(mail(subject="see attachment", body="The order is attached.")))
    broken, bare = sorted(stored(sessions), key=lambda m: m.subject == "see attachment")  # same instant
    (attachment,) = attachments(sessions, broken.id)
    assert (attachment.problem or "").startswith("it does not parse")
    assert attachment.content == b"%PDF-1.7\nnot a pdf"
    assert broken.status == "triage"
    assert "order.pdf: it does not parse" in (broken.note or "")
    assert attachments(sessions, bare.id) == []
    assert bare.status == "triage"
    assert bare.note == "no PDF attached: the signed order is missing"
    assert broken.agency_id == bare.agency_id == agency_id  # still attributed: only the document is at fault


def test_an_oversized_message_gets_552_and_nothing_is_stored(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session]
) -> None:
    _, port = smtp
    big = wire(mail(attachments=[("scan.pdf", "application/pdf", b"%PDF-" + b"x" * MAX)]))
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        send(port, big)
    assert refused.value.smtp_code == 552
    assert count(sessions) == 0


def test_an_oversized_message_without_size_is_refused_at_data(
    container: Container, sessions: sessionmaker[Session]
) -> None:
    """A client that does not declare SIZE is refused at the end of DATA, by the handler's own check."""
    handler = IntakeHandler(
        container.sessions, container.clock, [DESK], 2048, arrivals_for_test(container), dns=StaticDns({})
    )
    port = free_port()
    listener = controller(handler, "127.0.0.1", port)
    listener.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.helo("mx.example")  # plain HELO: no ESMTP, no SIZE
            client.mail("x@example.org")
            client.rcpt(DESK)
            code, _ = client.data(wire(mail(body="y" * 4000)))
    finally:
        listener.stop()
    assert code == 552
    assert count(sessions) == 0


def test_an_unknown_recipient_is_refused_and_nothing_is_stored(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session]
) -> None:
    _, port = smtp
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(port, signed_order(to="someone@trustdesk.example"), to="someone@trustdesk.example")
    assert refused.value.recipients["someone@trustdesk.example"][0] == 550
    assert count(sessions) == 0


def test_a_message_that_cannot_be_stored_gets_451_so_the_mta_retries(
    smtp: tuple[IntakeHandler, int], sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = smtp

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(store, "receive", broken)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, signed_order())
    assert refused.value.smtp_code == 451
    assert count(sessions) == 0


# --- the store ------------------------------------------------------------------------------------------


def test_identical_bytes_are_stored_once_and_a_resent_message_id_is_marked(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    raw = signed_order()
    with unit_of_work(sessions) as session:
        first = store.receive(session, clock, raw, channel="email", dns=dns()).id
    with unit_of_work(sessions) as session:
        again = store.receive(session, clock, raw, channel="email", dns=dns()).id
    resent = b"Received: from mx2.example by desk; Mon, 2 Nov 2026 09:00:00 +0000\r\n" + raw
    with unit_of_work(sessions) as session:
        other = store.receive(session, clock, resent, channel="email", dns=dns())
        other_id, duplicate_of = other.id, (other.extracted or {}).get("duplicate_of")
    assert again == first
    assert other_id != first
    assert duplicate_of == first
    assert count(sessions) == 2


def test_a_message_the_parser_cannot_read_is_still_kept(
    sessions: sessionmaker[Session], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*args: object, **kwargs: object) -> None:
        raise ValueError("hostile bytes")

    monkeypatch.setattr(store.email, "message_from_bytes", unreadable)
    raw = b"\x00\xff garbage"
    with unit_of_work(sessions) as session:
        store.receive(session, clock, raw, channel="email", dns=StaticDns({}))
    (message,) = stored(sessions)
    assert message.raw == raw
    assert message.status == "triage"
    assert message.note == "the message cannot be parsed (ValueError): it is kept whole, in triage"
    assert message.agency_id is None


def test_a_reply_naming_a_request_of_the_same_agency_is_marked_for_attaching(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    key = officer_key(sessions, clock)
    response = client.post("/api/v1/requests", json=epoc(), headers=bearer(key))
    assert response.status_code == 201, response.text
    tracking = response.json()["tracking_number"]
    officer_key(sessions, clock, country="DE", domain="bka.de")
    genuine = sign(mail(subject=f"Re: your request {tracking}"))
    other_agency = sign(mail(sender="khk@bka.de", subject=f"Re: {tracking}"), domain="bka.de")
    in_thread = sign(mail(subject="Re: answer", In_Reply_To=f"<{tracking}@trustdesk.example>"))
    both = StaticDns({**dns().records, **agency_dns("bka.de").records})  # type: ignore[dict-item]
    with unit_of_work(sessions) as session:
        found = [
            store.receive(session, clock, raw, channel="email", dns=both).extracted or {}
            for raw in (genuine, other_agency, in_thread)
        ]
    assert found[0]["reply_to_tracking"] == tracking
    assert "reply_to_tracking" not in found[1]
    assert any(tracking in p and "not attached" in p for p in found[1]["problems"])
    assert found[2]["reply_to_tracking"] == tracking


# --- IMAP -----------------------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailstore, imap_poller.Mailbox]]:
    box = Mailstore("desk", "s3cret pass")
    with ImapServer(box) as server:
        yield box, imap_poller.Mailbox("127.0.0.1", server.port, "desk", "s3cret pass", use_ssl=False)


def test_the_poller_stores_every_unseen_message_and_flags_it_after_the_commit(
    mailbox: tuple[Mailstore, imap_poller.Mailbox],
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    agency_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, account = mailbox
    first, second = signed_order(), sign(mail(subject="second"))
    box.deliver(first, datetime(2026, 11, 1, 22, 15, tzinfo=UTC))
    box.deliver(second)
    real = store.receive
    calls = {"n": 0}

    def crash_once(*args: Any, **kwargs: Any) -> InboundMessage:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the process died before the commit")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "receive", crash_once)
    done = imap_poller.poll_once(sessions, clock, account, arrivals_for_test(container), dns=dns())
    assert (len(done.stored), done.failed) == (1, 1)
    assert box.seen() == [False, True]  # the first was not stored: still unseen, fetched again next round
    assert any("BODY.PEEK[]" in c for c in box.commands)
    assert not any("RFC822" in c for c in box.commands)  # RFC822 would set \Seen before the commit

    again = imap_poller.poll_once(sessions, clock, account, arrivals_for_test(container), dns=dns())
    assert len(again.stored) == 1
    assert box.seen() == [True, True]
    messages = {m.subject: m for m in stored(sessions)}
    assert set(messages) == {"Réquisition — EPOC", "second"}
    assert messages["Réquisition — EPOC"].received_at == datetime(2026, 11, 1, 22, 15, tzinfo=UTC)
    assert messages["Réquisition — EPOC"].raw == first
    assert messages["Réquisition — EPOC"].agency_id == agency_id

    for message in box.messages:  # a crash after the commit, before the flags: everything fetched again
        message.flags.clear()
    replay = imap_poller.poll_once(sessions, clock, account, arrivals_for_test(container), dns=dns())
    assert sorted(replay.stored) == sorted(m.id for m in messages.values())
    assert count(sessions) == 2


def test_the_poller_refuses_a_bad_login(
    mailbox: tuple[Mailstore, imap_poller.Mailbox],
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    _, account = mailbox
    wrong = imap_poller.Mailbox(account.host, account.port, "desk", "wrong", use_ssl=False)
    with pytest.raises(imap_poller.imaplib.IMAP4.error):
        imap_poller.poll_once(sessions, clock, wrong, arrivals_for_test(container), dns=StaticDns({}))


# --- the console ----------------------------------------------------------------------------------------


def console(client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, role: str) -> str:
    email = f"{role}@platform.example"
    secret = add_staff_login(sessions, clock, email, role)
    return log_in(client, "console", email, secret, clock)


def upload(client: TestClient, csrf: str, content: bytes = PDF, **fields: str) -> Any:
    data = {"csrf_token": csrf, "postmark": "2026-10-30", "sender_name": "Procureur de Lyon"} | fields
    return client.post(
        "/console/mailroom/documents",
        data=data,
        files={"file": ("courrier.pdf", content, "application/pdf")},
        follow_redirects=False,
    )


def test_the_mailroom_scans_a_letter_into_triage_with_the_postmark_as_date_of_receipt(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    csrf = console(client, sessions, clock, "legal_reviewer")
    response = upload(client, csrf, sender_address="67 rue Servient, Lyon", note="arrived by post")
    assert response.status_code == 303, response.text
    (letter,) = stored(sessions)
    assert letter.channel == "mailroom"
    assert letter.received_at == datetime(2026, 10, 30, 0, 0, tzinfo=UTC)
    assert letter.created_at == clock()
    assert letter.raw == PDF
    assert letter.sender == "Procureur de Lyon"
    assert letter.uploaded_by is not None
    assert letter.status == "triage"
    assert letter.note == "postmark 2026-10-30; from 67 rue Servient, Lyon; arrived by post"
    (scan,) = attachments(sessions, letter.id)
    assert (scan.filename, scan.content, scan.problem) == ("courrier.pdf", PDF, None)
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == letter.id)).one()
    assert event.action == AuditAction.INBOUND_UPLOAD.value
    assert event.actor_id == letter.uploaded_by
    page = client.get("/console/mailroom")
    assert "Letter from Procureur de Lyon" in page.text
    again = upload(client, csrf)
    assert again.status_code == 409
    assert "already in the queue" in again.text


def test_the_mailroom_upload_needs_the_csrf_token_and_the_permission(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    csrf = console(client, sessions, clock, "legal_reviewer")
    assert upload(client, "not-the-token").status_code == 403
    assert count(sessions) == 0
    approver = TestClient(client.app, base_url="https://testserver")
    approver_csrf = console(approver, sessions, clock, "legal_approver")
    page = approver.get("/console/mailroom")
    assert page.status_code == 200
    assert 'action="/console/mailroom/documents"' not in page.text  # no form without the permission
    assert upload(approver, approver_csrf).status_code == 403
    assert count(sessions) == 0
    refused = upload(client, csrf, content=b"GIF89a not a pdf")
    assert refused.status_code == 422
    assert "the scan must be a PDF" in refused.text
    future = upload(client, csrf, postmark="2026-12-01")
    assert future.status_code == 422
    assert "in the future" in future.text
    assert count(sessions) == 0


def test_the_triage_page_shows_the_verdicts_and_serves_attachments_sandboxed_and_audited(
    client: TestClient, sessions: sessionmaker[Session], clock: FrozenClock, agency_id: str
) -> None:
    with unit_of_work(sessions) as session:
        genuine = store.receive(session, clock, signed_order(), channel="email", dns=dns()).id
        forged = store.receive(session, clock, wire(mail(subject="Forged")), channel="email", dns=dns()).id
    (pdf,) = attachments(sessions, genuine)
    csrf = console(client, sessions, clock, "legal_reviewer")
    assert csrf
    page = client.get("/console/mailroom")
    assert page.status_code == 200
    genuine_card = page.text.split(f'id="inbound-{genuine}"')[1].split("</section>")[0]
    forged_card = page.text.split(f'id="inbound-{forged}"')[1].split("</section>")[0]
    assert "attributed: Test agency justice.fr" in genuine_card
    assert '<dd class="dmarc">pass (policy reject)</dd>' in genuine_card
    assert "not attributed" in forged_card
    assert "NOT attributed to the agency" in forged_card
    assert "the signed order is missing" in forged_card
    assert f"/console/mailroom/attachments/{pdf.id}" in genuine_card
    download = client.get(f"/console/mailroom/attachments/{pdf.id}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert download.headers["content-disposition"] == 'attachment; filename="ordonnance.pdf"'
    with sessions() as session:
        views = session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.INBOUND_ATTACHMENT_VIEW.value)
        ).all()
    assert [v.data["after"]["attachment_id"] for v in views] == [pdf.id]
    assert client.get("/console/mailroom/attachments/nope").status_code == 404


# --- the CLI --------------------------------------------------------------------------------------------


def test_the_cli_receives_a_file_uploads_a_letter_and_lists_triage(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authenticity, "system_lookup", dns())  # no DNS beyond the test
    app = typer.Typer()
    intake_cli.mount(app)
    env = cli_env(database_url, tmp_path)
    runner = CliRunner()
    engine = make_engine(database_url)
    try:
        with unit_of_work(sessionmaker(bind=engine)) as session:
            staff.add_user(
                session, system_clock, Actor.operator(), email="clerk@platform.example", roles=["admin"]
            )
            authorities.create_agency(
                session, system_clock, Actor.operator(), name="Parquet", country="FR", kind="prosecutor",
                domains=["justice.fr"],
            )  # fmt: skip
    finally:
        engine.dispose()
    eml = tmp_path / "order.eml"
    eml.write_bytes(signed_order())
    scan = tmp_path / "letter.pdf"
    scan.write_bytes(PDF)

    def run(*args: str, expect: int = 0) -> Any:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == expect, (result.output, result.stderr)
        return result

    received = run("mail", "receive", str(eml), "--to", DESK, "--json")
    assert '"dkim": "pass"' in received.output
    assert '"already_received": false' in received.output
    assert "already received" in run("mail", "receive", str(eml)).output
    run(
        "mailroom", "upload", str(scan), "--as", "clerk@platform.example", "--postmark", "2026-10-30",
        "--sender", "Procureur de Lyon", "--address", "Lyon",
    )  # fmt: skip
    bad = run(
        "mailroom", "upload", str(scan), "--as", "nobody@platform.example", "--postmark", "2026-10-30",
        "--sender", "X", expect=2,
    )  # fmt: skip
    assert "nobody@platform.example" in bad.stderr
    listed = run("triage", "list")
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2
    assert any("mailroom" in line and "Procureur de Lyon" in line for line in lines)
    assert any("email" in line and "dkim=pass dmarc=pass exact  agency" in line for line in lines), lines
