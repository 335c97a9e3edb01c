"""Issue 13's first "done when", end to end on SQLite and PostgreSQL, with real mail both ways over loopback:
a magistrate e-mails a DKIM-signed PDF order to the desk's SMTP listener; it lands in triage attributed to
her agency and is acknowledged at once by e-mail with its tracking number and deadline; a legal reviewer
records it; it is decided, approved, executed and answered; the answer is mailed pointing to the portal and
carries nothing of the production. A forged twin of the same mail is flagged and cannot reach a disclosure
without a callback; a mail with a broken attachment, and one with none, are kept and routed to triage."""

import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import PDF, epoc
from tests.lawful_world import SECRET_TEXT, SUSPECT_PHONE, World, build_world
from tests.mail_world import DESK, arrivals_for_test
from tests.smtp_sink import SmtpSink, free_port, running_sink
from tests.unit.test_mail_authenticity import agency_dns, mail, sign, wire
from trustdesk.app import Container
from trustdesk.authorities.models import Officer
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.intake import outbound, store, triage
from trustdesk.intake.models import InboundMessage
from trustdesk.intake.outbound import SmtpSender
from trustdesk.intake.smtp_server import IntakeHandler, controller
from trustdesk.lawful import service as lawful
from trustdesk.lawful.schemas import RequestIn
from trustdesk.staff.models import StaffUser
from trustdesk.staff.service import find_user

FROM = "Trustdesk legal desk <lawful@trustdesk.example>"
ORDER_PDF = ("injonction.pdf", "application/pdf", PDF)
ORDER = (
    "Madame, Monsieur, Réf. PJ-2026-0311. Veuillez trouver ci-joint une injonction européenne de production "
    "(European Production Order, Regulation (EU) 2023/1543) : données d'abonné du compte +33612345678."
)


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)  # justice.fr with officer@justice.fr, staff


@pytest.fixture
def listener(container: Container) -> Iterator[int]:
    """The desk's SMTP intake on loopback, the mail DNS of justice.fr answered by the test: its DKIM key,
    DMARC p=reject, and an SPF record naming its own MTA (not loopback, where the test's mail comes from)."""
    dns = agency_dns()
    handler = IntakeHandler(
        container.sessions, container.clock, [DESK], 1_000_000, arrivals_for_test(container), dns=dns
    )
    port = free_port()
    smtp = controller(handler, "127.0.0.1", port)
    smtp.start()
    try:
        yield port
    finally:
        smtp.stop()


@pytest.fixture
def relay() -> Iterator[SmtpSink]:
    with running_sink() as sink:
        yield sink


def deliver(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("bounces@justice.fr", [DESK], raw)


def send_outbox(container: Container, relay: SmtpSink) -> int:
    sender = SmtpSender(relay.host, relay.port, security="none")
    with unit_of_work(container.sessions) as session:
        outbound.mail_correspondence(
            session, container.clock, mail_from=FROM, portal_url="https://desk.example"
        )
    return outbound.send_due(container.sessions, container.clock, sender, FROM)


def only_message(sessions: sessionmaker[Session]) -> InboundMessage:
    with sessions() as session:
        return session.scalars(select(InboundMessage).order_by(InboundMessage.created_at.desc())).first()  # type: ignore[return-value]


def record(world: World, message_id: str, **changes: Any) -> str:
    body = RequestIn.model_validate(
        epoc(
            emergency=False, emergency_justification=None, reference="PJ-2026-0311",
            targets=[{"type": "phone", "value": SUSPECT_PHONE}], suspect_confirmed=True,
            period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, **changes,
        )
    )  # fmt: skip
    c = world.container
    with unit_of_work(c.sessions) as session:
        reviewer = find_user(session, "rui@platform.example")
        assert isinstance(reviewer, StaffUser)
        officer_id = session.scalars(select(Officer.id).where(Officer.email == "officer@justice.fr")).one()
        request = triage.accept(
            session, c.clock, reviewer, message_id, body, officer_id=officer_id, catalogue=c.catalogue,
            policy=c.policy, replies=arrivals_for_test(c).replies,
            max_document_bytes=c.settings.max_document_bytes,
        )  # fmt: skip
        return request.tracking_number


def in_portal(world: World, email: str) -> None:
    """The world's client is logged in to the portal as this officer."""
    from tests.browser_login import give_officer_login, log_in

    sessions = world.container.sessions
    log_in(world.client, "portal", email, give_officer_login(sessions, world.clock, email), world.clock)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_a_signed_order_e_mailed_by_a_magistrate_is_acknowledged_recorded_decided_and_answered_by_mail(
    world: World, listener: int, relay: SmtpSink, sessions: sessionmaker[Session]
) -> None:
    raw = sign(
        mail(
            sender="officer@justice.fr", body=ORDER, attachments=[("injonction.pdf", "application/pdf", PDF)]
        )
    )
    deliver(listener, raw)
    message = only_message(sessions)
    assert message.status == store.TRIAGE
    assert message.agency_id is not None  # DKIM-signed by justice.fr, DMARC aligned: the agency's
    tracking = message.tracking_number
    assert tracking is not None

    # Acknowledged at once, by e-mail, to the sender, with the tracking number and the deadline.
    assert send_outbox(world.container, relay) == 1
    (ack,) = relay.received
    assert ack.rcpt_tos == ["officer@justice.fr"]
    assert f"[{tracking}]" in str(ack.message["Subject"])
    assert ack.message["In-Reply-To"] == message.message_id
    assert (message.received_at + timedelta(days=10)).strftime("%Y-%m-%d") in text_of(ack.message)  # an EPOC

    # A legal reviewer records it: the same tracking number, received when the mail was, its PDF attached.
    assert record(world, message.id) == tracking
    with sessions() as session:
        recorded = lawful.get_by_tracking_number(session, tracking)
        assert (recorded.channel, recorded.received_at) == ("email", message.received_at)
    assert [d["filename"] for d in world.view(tracking)["request"]["documents"]] == ["injonction.pdf"]

    # Decided, approved by a second person, executed and answered, as any request.
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")
    world.act(world.reviewer, tracking, "execute")
    world.act(world.reviewer, tracking, "answer")
    assert world.view(tracking)["request"]["status"] == "answered"

    # The answer is mailed to the officer, pointing to the portal, with nothing of the production.
    assert send_outbox(world.container, relay) >= 1
    answers = [r for r in relay.received[1:] if "Answer ready" in str(r.message["Subject"])]
    assert len(answers) == 1
    answer = text_of(answers[0].message)
    assert f"https://desk.example/portal/requests/{tracking}" in answer
    for secret in (SECRET_TEXT, SUSPECT_PHONE, "198.51.100.7", "203.0.113.9", "suspect"):
        assert secret not in answer
    assert not list(answers[0].message.iter_attachments())


def test_a_forged_twin_is_flagged_and_never_reaches_a_disclosure_without_a_callback(
    world: World, listener: int, relay: SmtpSink, sessions: sessionmaker[Session]
) -> None:
    forged = wire(
        mail(
            sender="officer@justice.fr", body=ORDER, attachments=[("injonction.pdf", "application/pdf", PDF)]
        )
    )
    deliver(listener, forged)  # unsigned, and from a host justice.fr's SPF does not name: DMARC fails
    message = only_message(sessions)
    verdict = message.authenticity or {}
    assert message.agency_id is None, verdict["reasons"]
    assert send_outbox(world.container, relay) == 0  # no acknowledgement, no reply to a forged address
    tracking = record(world, message.id)
    with sessions() as session:
        recorded = lawful.get_by_tracking_number(session, tracking)
        assert recorded.held_for_callback
        assert "mail_not_authenticated" in {r["code"] for r in recorded.risk_reasons or []}
    world.act(world.reviewer, tracking, "decide", {"outcome": "comply"})
    world.act(world.approver, tracking, "approve")  # approved on its merits; no data leaves yet
    refused = world.staff(world.reviewer, "POST", f"/{tracking}/execute", json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "callback_required"


@pytest.mark.parametrize(
    "attachments",
    [[("injonction.pdf", "application/pdf", b"%PDF-1.7 truncated")], []],
    ids=["broken PDF", "no attachment"],
)
def test_a_mail_with_a_broken_or_missing_attachment_is_kept_and_routed_to_triage(
    world: World, listener: int, sessions: sessionmaker[Session], attachments: list[tuple[str, str, bytes]]
) -> None:
    raw = sign(mail(sender="officer@justice.fr", body=ORDER, attachments=attachments))
    deliver(listener, raw)
    message = only_message(sessions)
    assert message.raw == raw
    assert message.status == store.TRIAGE
    assert message.tracking_number is not None  # still the agency's, still acknowledged
    assert message.note is not None
    assert "injonction.pdf: it does not parse" in message.note or "no PDF attached" in message.note


def test_the_officer_follows_the_acknowledged_number_in_the_portal_before_and_after_triage(
    world: World, listener: int, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    deliver(listener, sign(mail(sender="officer@justice.fr", body=ORDER, attachments=[ORDER_PDF])))
    tracking = only_message(sessions).tracking_number
    in_portal(world, "officer@justice.fr")
    waiting = world.client.get(f"/portal/requests/{tracking}")
    assert waiting.status_code == 200
    assert "A legal reviewer is checking the order" in waiting.text
    assert world.client.get("/portal/requests/TD-2026-AAAA-BBBB").status_code == 404
    record(world, only_message(sessions).id)
    recorded = world.client.get(f"/portal/requests/{tracking}")
    assert recorded.status_code == 200
    assert "A legal reviewer is checking the order" not in recorded.text
    assert "Received through e-mail" in recorded.text


def test_another_agencys_officer_never_sees_the_message(
    world: World, listener: int, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    deliver(listener, sign(mail(sender="officer@justice.fr", body=ORDER, attachments=[ORDER_PDF])))
    tracking = only_message(sessions).tracking_number
    in_portal(world, "officer@bka.bund.de")
    assert world.client.get(f"/portal/requests/{tracking}").status_code == 404
