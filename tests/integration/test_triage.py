"""Triage of e-mail and letters, on SQLite and PostgreSQL: what happens at arrival (a reply attached, an
acknowledgement with the tracking number and the deadline from receipt, a "how to reach us", or no reply and
why), and a legal reviewer's decisions (record as a request, attach, reject), with the mail's authenticity
in the request's forgery risk. Every DNS answer comes from the test (``StaticDns``)."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import PDF, epoc, officer_key
from tests.mail_world import DESK, EMERGENCY_DESK, arrivals_for_test, replies
from tests.unit.test_mail_authenticity import MTA_IP, agency_dns, mail, sign, wire
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import AgencyDomain, Officer
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, Forbidden, InvalidInput
from trustdesk.intake import outbound, store, triage
from trustdesk.intake.arrivals import Arrivals
from trustdesk.intake.models import InboundMessage, OutboundMail
from trustdesk.lawful import review
from trustdesk.lawful import service as lawful
from trustdesk.lawful.models import Correspondence, LawfulRequest
from trustdesk.lawful.schemas import RequestIn
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.oncall import paging, rota
from trustdesk.oncall.models import Page
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser

EPOC_BODY = (
    "Réf. PJ-2026-114. European Production Order (Regulation (EU) 2023/1543) for the subscriber data of the "
    "account +33612345678."
)


@pytest.fixture
def arrivals(container: Container) -> Arrivals:
    return arrivals_for_test(container)


@pytest.fixture
def sent(container: Container) -> list[paging.PageMessage]:
    """Every page sent, in order: the container's pager replaced by one that records them."""
    pages: list[paging.PageMessage] = []

    class Recording:
        channel = "log"

        def send(self, message: paging.PageMessage) -> None:
            pages.append(message)

    container.__dict__["pager"] = Recording()
    return pages


@pytest.fixture
def agency_id(sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    officer_key(sessions, clock, email="magistrate@justice.fr")  # justice.fr, verified, with that officer
    with unit_of_work(sessions) as session:
        return session.scalars(
            select(AgencyDomain.agency_id).where(AgencyDomain.domain == "justice.fr")
        ).one()


@pytest.fixture
def reviewer(sessions: sessionmaker[Session], clock: FrozenClock) -> str:
    with unit_of_work(sessions) as session:
        return staff.add_user(
            session, clock, Actor.operator(), email="rui@platform.example", roles=["legal_reviewer"]
        ).user.id


def arrive(arrivals: Arrivals, container: Container, raw: bytes, *, to: str = DESK, ip: str = MTA_IP) -> str:
    return arrivals.take(
        container.sessions, container.clock, raw, envelope_from="bounces@justice.fr", recipient=to,
        envelope=store.Envelope(client_ip=ip, helo="mx.justice.fr"), dns=agency_dns(),
    )  # fmt: skip


def signed_order(**kwargs: Any) -> bytes:
    kwargs.setdefault("body", EPOC_BODY)
    return sign(mail(attachments=[("ordonnance.pdf", "application/pdf", PDF)], **kwargs))


def get(sessions: sessionmaker[Session], message_id: str) -> InboundMessage:
    with sessions() as session:
        return session.get_one(InboundMessage, message_id)


def outbox(sessions: sessionmaker[Session]) -> list[OutboundMail]:
    with sessions() as session:
        return list(session.scalars(select(OutboundMail).order_by(OutboundMail.created_at, OutboundMail.id)))


def body_of(message: InboundMessage, container: Container) -> RequestIn:
    """What the reviewer completes from the message (the EPOC of the mail)."""
    return RequestIn.model_validate(
        epoc(emergency=False, emergency_justification=None, reference="PJ-2026-114")
    )


def accept(container: Container, reviewer: str, message_id: str, officer_email: str, **kw: Any) -> str:
    with unit_of_work(container.sessions) as session:
        officer = session.scalars(select(Officer).where(Officer.email == officer_email)).one()
        request = triage.accept(
            session, container.clock, session.get_one(StaffUser, reviewer), message_id,
            kw.pop("body", None) or body_of(get(container.sessions, message_id), container),
            officer_id=officer.id, catalogue=container.catalogue, policy=container.policy,
            replies=replies(), max_document_bytes=container.settings.max_document_bytes,
        )  # fmt: skip
        return request.id


def clarify(container: Container, reviewer: str, request_id: str) -> str:
    """The reviewer asks the authority a question about the request; its tracking number."""
    with unit_of_work(container.sessions) as session:
        request = session.get_one(LawfulRequest, request_id)
        review.clarify(
            session, container.clock, session.get_one(StaffUser, reviewer), request,
            container.catalogue.get(request.instrument), "Which period do you need?",
        )  # fmt: skip
        return request.tracking_number


def events(sessions: sessionmaker[Session], action: AuditAction) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action.value)))


# --- at arrival -----------------------------------------------------------------------------------------


def test_a_signed_order_from_an_agency_is_acknowledged_at_once_with_its_tracking_number_and_deadline(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str
) -> None:
    message = get(sessions, arrive(arrivals, container, signed_order()))
    assert message.agency_id == agency_id
    assert message.status == store.TRIAGE
    assert message.tracking_number is not None
    assert message.tracking_number.startswith("TD-")
    (ack,) = outbox(sessions)
    assert ack.kind == outbound.ACKNOWLEDGEMENT
    assert ack.to == "magistrate@justice.fr"
    assert f"[{message.tracking_number}]" in ack.subject
    assert ack.inbound_id == message.id
    assert ack.in_reply_to == message.message_id
    due = message.received_at + timedelta(days=10)  # an EPOC: 10 days from receipt
    assert due.strftime("%Y-%m-%d") in ack.body
    (event,) = events(sessions, AuditAction.INBOUND_ACKNOWLEDGE)
    assert event.data["after"]["tracking_number"] == message.tracking_number


def test_an_identical_delivery_is_not_acknowledged_twice(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str
) -> None:
    raw = signed_order()
    first = arrive(arrivals, container, raw)
    assert arrive(arrivals, container, raw) == first
    assert len(outbox(sessions)) == 1


def test_a_forged_sender_is_not_attributed_gets_no_reply_and_says_why(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str
) -> None:
    forged = wire(mail(body=EPOC_BODY, attachments=[("ordonnance.pdf", "application/pdf", PDF)]))
    message = get(sessions, arrive(arrivals, container, forged, ip="192.0.2.66"))  # not the agency's MTA
    assert message.agency_id is None
    assert message.tracking_number is None
    assert message.authenticity is not None
    assert message.authenticity["dmarc"] == "fail"
    assert outbox(sessions) == []  # a reply would go to the magistrate whose address was forged
    assert message.note is not None
    assert "nothing authenticates the sender" in message.note


def test_an_authenticated_stranger_is_told_how_to_reach_the_desk(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str
) -> None:
    raw = sign(
        mail(sender="clerk@tribunal.example", body="Please send us the data."), domain="tribunal.example"
    )
    dns = agency_dns(domain="tribunal.example")
    message_id = arrivals.take(
        container.sessions, container.clock, raw, envelope_from="clerk@tribunal.example", recipient=DESK,
        envelope=store.Envelope(client_ip=MTA_IP), dns=dns,
    )  # fmt: skip
    message = get(sessions, message_id)
    assert message.agency_id is None
    assert message.status == store.TRIAGE
    (reply,) = outbox(sessions)
    assert reply.kind == outbound.HOW_TO_REACH_US
    assert reply.to == "clerk@tribunal.example"
    assert "https://desk.example/portal" in reply.body
    assert "TD-" not in reply.subject


def test_an_automatic_message_is_never_answered(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str
) -> None:
    raw = sign(
        mail(sender="noreply@tribunal.example", Auto_Submitted="auto-replied"), domain="tribunal.example"
    )
    message_id = arrivals.take(
        container.sessions, container.clock, raw, envelope_from="noreply@tribunal.example", recipient=DESK,
        envelope=store.Envelope(client_ip=MTA_IP), dns=agency_dns(domain="tribunal.example"),
    )  # fmt: skip
    assert outbox(sessions) == []
    assert "RFC 3834" in (get(sessions, message_id).note or "")


def test_a_reply_naming_a_request_is_attached_and_answers_its_clarification(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    request_id = accept(
        container, reviewer, arrive(arrivals, container, signed_order()), "magistrate@justice.fr"
    )
    tracking = clarify(container, reviewer, request_id)
    answer = sign(mail(subject=f"Re: [{tracking}] Question", body="From 1 to 31 October 2026."))
    message = get(sessions, arrive(arrivals, container, answer))
    assert message.status == triage.ATTACHED
    assert message.request_id == request_id
    with sessions() as session:
        request = session.get_one(LawfulRequest, request_id)
        assert request.status is RequestStatus.IN_REVIEW  # the clock resumed
        (last,) = session.scalars(
            select(Correspondence).where(
                Correspondence.request_id == request_id, Correspondence.kind == "clarification_answer"
            )
        ).all()
        assert "From 1 to 31 October 2026." in last.body
        assert last.direction == "from_authority"


def test_a_reply_to_a_closed_file_stays_in_triage_with_the_reason(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    request_id = accept(
        container, reviewer, arrive(arrivals, container, signed_order()), "magistrate@justice.fr"
    )
    with unit_of_work(sessions) as session:
        request = session.get_one(LawfulRequest, request_id)
        officer = session.get_one(Officer, request.officer_id)
        review.withdraw(session, container.clock, officer, request, "Solved otherwise.")
        review.close(session, container.clock, session.get_one(StaffUser, reviewer), request)
        tracking = request.tracking_number
    late = sign(mail(subject=f"Re: [{tracking}]", body="One more thing."))
    message = get(sessions, arrive(arrivals, container, late))
    assert message.status == store.TRIAGE
    assert "not attached" in (message.note or "")


# --- emergencies ----------------------------------------------------------------------------------------


def test_an_emergency_mail_at_night_pages_the_person_on_call_who_escalates_when_unacknowledged(
    arrivals: Arrivals, sent: list[paging.PageMessage], container: Container,
    sessions: sessionmaker[Session], clock: FrozenClock, agency_id: str, reviewer: str,
) -> None:  # fmt: skip
    night = (clock.now + timedelta(days=1)).replace(hour=3, minute=0)
    clock.advance(night - clock.now)
    with unit_of_work(sessions) as session:
        backup = staff.add_user(
            session, clock, Actor.operator(), email="backup@platform.example", roles=["legal_approver"]
        ).user
        first = session.get_one(StaffUser, reviewer)
        shift = {"starts_at": night - timedelta(hours=3), "ends_at": night + timedelta(hours=6)}
        rota.add_shift(session, clock, None, user=first, **shift)
        rota.add_shift(session, clock, None, user=backup, position=1, **shift)
    urgent = sign(mail(subject="URGENT — threat to life", body="Imminent threat to life. " + EPOC_BODY))
    message_id = arrive(arrivals, container, urgent)
    assert [(m.to_email, m.level, m.inbound_id) for m in sent] == [(first.email, 0, message_id)]
    assert sent[0].console_path == f"/console/mailroom#inbound-{message_id}"
    clock.advance(timedelta(minutes=container.settings.oncall_escalate_minutes + 1))
    assert paging.escalation_job(container)() == 1
    assert [m.to_email for m in sent] == [first.email, "backup@platform.example"]
    # Recorded as a request, the pages are the request's (its page history), and it is not paged again.
    request_id = accept(container, reviewer, message_id, "magistrate@justice.fr")
    assert paging.page_on_arrival(container, request_id) == []
    with sessions() as session:
        assert {p.request_id for p in session.scalars(select(Page))} == {request_id}


def test_mail_to_the_emergency_address_pages_even_without_emergency_words(
    arrivals: Arrivals,
    sent: list[paging.PageMessage],
    container: Container,
    sessions: sessionmaker[Session],
    agency_id: str,
) -> None:
    arrive(arrivals, container, signed_order(to=EMERGENCY_DESK), to=EMERGENCY_DESK)
    assert len(sent) == 1
    assert sent[0].fallback
    arrive(arrivals, container, signed_order())  # an ordinary order to the ordinary address: no page
    assert len(sent) == 1


# --- a reviewer's decisions -----------------------------------------------------------------------------


def test_recording_a_mail_keeps_its_receipt_tracking_number_and_documents_and_scores_its_channel(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], clock: FrozenClock,
    agency_id: str, reviewer: str,
) -> None:  # fmt: skip
    message_id = arrive(arrivals, container, signed_order())
    received = get(sessions, message_id)
    clock.advance(timedelta(hours=5))  # triaged in the morning: the deadline still counts from receipt
    request_id = accept(container, reviewer, message_id, "magistrate@justice.fr")
    with sessions() as session:
        request = session.get_one(LawfulRequest, request_id)
        assert request.channel == "email"
        assert request.received_at == received.received_at
        assert request.tracking_number == received.tracking_number
        assert request.due_at == received.received_at + timedelta(days=10)
        assert [d.filename for d in request.documents] == ["ordonnance.pdf"]
        codes = {r["code"] for r in request.risk_reasons or []}
        assert "by_email" in codes
        assert "mail_not_authenticated" not in codes
        assert not request.held_for_callback
        message = session.get_one(InboundMessage, message_id)
        assert message.status == triage.ACCEPTED
        assert message.request_id == request_id
    assert len(outbox(sessions)) == 1  # acknowledged at arrival: not twice
    (event,) = events(sessions, AuditAction.INBOUND_ACCEPT)
    assert event.data["after"]["documents"] == [request.documents[0].sha256]


def test_a_forged_mail_recorded_as_a_request_is_held_for_a_callback_before_any_disclosure(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    forged = wire(mail(body=EPOC_BODY, attachments=[("ordonnance.pdf", "application/pdf", PDF)]))
    message_id = arrive(arrivals, container, forged, ip="192.0.2.66")
    request_id = accept(container, reviewer, message_id, "magistrate@justice.fr")
    with sessions() as session:
        request = session.get_one(LawfulRequest, request_id)
        assert request.held_for_callback
        assert "mail_not_authenticated" in {r["code"] for r in request.risk_reasons or []}
    (ack,) = outbox(sessions)  # acknowledged now, to the officer's registered address, not the From:
    assert ack.to == "magistrate@justice.fr"
    assert ack.request_id == request_id


def test_a_look_alike_domain_is_scored_as_such(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    raw = sign(mail(sender="juge@justice-fr.com", body=EPOC_BODY), domain="justice-fr.com")
    message_id = arrivals.take(
        container.sessions, container.clock, raw, envelope_from="juge@justice-fr.com", recipient=DESK,
        envelope=store.Envelope(client_ip=MTA_IP), dns=agency_dns(domain="justice-fr.com"),
    )  # fmt: skip
    assert outbox(sessions) == []  # a look-alike is not told how to reach the desk: it knows
    request_id = accept(container, reviewer, message_id, "magistrate@justice.fr")
    with sessions() as session:
        request = session.get_one(LawfulRequest, request_id)
        assert "mail_lookalike" in {r["code"] for r in request.risk_reasons or []}
        assert request.held_for_callback


def test_a_letter_is_held_for_a_callback_and_acknowledged_by_mail_once_recorded(
    container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    from trustdesk.intake import mailroom

    with unit_of_work(sessions) as session:
        letter = mailroom.upload_letter(
            session, container.clock, session.get_one(StaffUser, reviewer), PDF, "letter.pdf",
            postmark=container.clock().date(), sender_name="Tribunal judiciaire de Paris",
        )  # fmt: skip
        letter_id = letter.id
    request_id = accept(container, reviewer, letter_id, "magistrate@justice.fr")
    with sessions() as session:
        request = session.get_one(LawfulRequest, request_id)
        assert request.channel == "mailroom"
        assert request.held_for_callback
        assert "letter_unverified" in {r["code"] for r in request.risk_reasons or []}
    (ack,) = outbox(sessions)
    assert ack.kind == outbound.ACKNOWLEDGEMENT
    assert request.tracking_number in ack.subject


def test_an_officer_of_another_agency_cannot_be_the_sender_of_an_attributed_mail(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], clock: FrozenClock,
    agency_id: str, reviewer: str,
) -> None:  # fmt: skip
    officer_key(sessions, clock, country="DE", domain="bka.bund.de")
    message_id = arrive(arrivals, container, signed_order())
    with pytest.raises(Conflict) as refused:
        accept(container, reviewer, message_id, "officer@bka.bund.de")
    assert refused.value.code == "officer_of_other_agency"
    assert get(sessions, message_id).status == store.TRIAGE


def test_rejecting_needs_a_reason_and_a_decided_message_cannot_be_decided_again(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    message_id = arrive(arrivals, container, signed_order())
    with unit_of_work(sessions) as session, pytest.raises(InvalidInput):
        triage.reject(
            session, container.clock, session.get_one(StaffUser, reviewer), message_id, "  ", replies()
        )
    assert get(sessions, message_id).status == store.TRIAGE
    with unit_of_work(sessions) as session:
        triage.reject(
            session, container.clock, session.get_one(StaffUser, reviewer), message_id, "Spam.", replies()
        )
    assert get(sessions, message_id).status == triage.REJECTED
    kinds = {m.kind: m for m in outbox(sessions)}  # acknowledged at arrival, so told it is not recorded
    assert sorted(kinds) == [outbound.ACKNOWLEDGEMENT, outbound.NOT_RECORDED]
    told = kinds[outbound.NOT_RECORDED]
    assert "Spam." in told.body
    assert f"[{get(sessions, message_id).tracking_number}]" in told.subject
    with pytest.raises(Conflict):
        accept(container, reviewer, message_id, "magistrate@justice.fr")
    (event,) = events(sessions, AuditAction.INBOUND_REJECT)
    assert event.data["after"]["reason"] == "Spam."


def test_a_moderator_cannot_triage(
    arrivals: Arrivals,
    container: Container,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    agency_id: str,
) -> None:
    message_id = arrive(arrivals, container, signed_order())
    with unit_of_work(sessions) as session:
        moderator = staff.add_user(
            session, clock, Actor.operator(), email="mo@platform.example", roles=["moderator"]
        ).user
        with pytest.raises(Forbidden):
            triage.reject(session, clock, moderator, message_id, "Not mine.", replies())


def test_attaching_a_letter_to_a_request_adds_it_to_the_file(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    request_id = accept(
        container, reviewer, arrive(arrivals, container, signed_order()), "magistrate@justice.fr"
    )
    forged = wire(mail(subject="Follow-up", body="Our reference PJ-2026-114: any news?"))
    message_id = arrive(arrivals, container, forged, ip="192.0.2.66")  # not attributed: not attached alone
    assert get(sessions, message_id).status == store.TRIAGE
    with unit_of_work(sessions) as session:
        tracking = session.get_one(LawfulRequest, request_id).tracking_number
        triage.attach(
            session, container.clock, session.get_one(StaffUser, reviewer), message_id, tracking.lower(),
            container.catalogue,
        )  # fmt: skip
    with sessions() as session:
        notes = session.scalars(
            select(Correspondence.body).where(Correspondence.request_id == request_id)
        ).all()
        assert any("any news?" in n for n in notes)
    assert get(sessions, message_id).status == triage.ATTACHED


def test_the_tracking_number_given_at_arrival_is_unique_across_requests(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    message_id = arrive(arrivals, container, signed_order())
    request_id = accept(container, reviewer, message_id, "magistrate@justice.fr")
    with sessions() as session:
        tracking = session.get_one(LawfulRequest, request_id).tracking_number
        assert lawful.get_by_tracking_number(session, tracking).id == request_id


def test_a_reply_to_the_desks_own_mail_is_matched_by_its_message_id(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    request_id = accept(
        container, reviewer, arrive(arrivals, container, signed_order()), "magistrate@justice.fr"
    )
    clarify(container, reviewer, request_id)
    with unit_of_work(sessions) as session:
        assert (
            outbound.mail_correspondence(
                session, container.clock, mail_from=replies().mail_from, portal_url="https://desk.example"
            )
            == 1
        )
    question = next(m for m in outbox(sessions) if m.kind == outbound.QUESTION)
    answer = sign(mail(subject="Re: your question", body="October 2026.", In_Reply_To=question.message_id))
    message = get(sessions, arrive(arrivals, container, answer))
    assert message.status == triage.ATTACHED
    assert message.request_id == request_id


def test_the_agencys_dossier_shows_when_its_mail_was_acknowledged_and_what_became_of_every_message(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], clock: FrozenClock,
    agency_id: str, reviewer: str,
) -> None:  # fmt: skip
    from trustdesk.dossier import service as dossier
    from trustdesk.dossier.document import Period, stamp

    class Relay:
        def send(self, message: object) -> None:
            """Accepted at once."""

    recorded = arrive(arrivals, container, signed_order())
    clock.advance(timedelta(minutes=2))
    assert outbound.send_due(sessions, clock, Relay(), replies().mail_from) == 1
    sent_at = clock()
    accept(container, reviewer, recorded, "magistrate@justice.fr")
    clock.advance(timedelta(minutes=1))
    spam = arrive(arrivals, container, signed_order(subject="Another one", body="Hello"))
    with unit_of_work(sessions) as session:
        triage.reject(session, clock, session.get_one(StaffUser, reviewer), spam, "A test mail.", replies())
    clock.advance(timedelta(minutes=1))
    waiting = arrive(arrivals, container, signed_order(subject="Third", body="Réf. X-1"))
    day = clock().date()
    with unit_of_work(sessions) as session:
        scope = dossier.scope_of_agency(session, agency_id)
        built = dossier.build(session, clock, container.signer, scope, Period(day, day), provider="Test")
    (line,) = built.document["lines"]
    tracking = get(sessions, recorded).tracking_number
    assert line["channel"] == "email"
    assert line["tracking_number"] == tracking
    assert line["acknowledged_at"] == stamp(sent_at)
    fates = [(m["sha256"], m["status"], m["tracking_number"]) for m in built.document["inbound"]]
    assert fates == [
        (get(sessions, recorded).sha256, triage.ACCEPTED, tracking),
        (get(sessions, spam).sha256, triage.REJECTED, get(sessions, spam).tracking_number),
        (get(sessions, waiting).sha256, store.TRIAGE, get(sessions, waiting).tracking_number),
    ]
    assert line["n"] == 1


def test_the_cli_shows_records_and_rejects_messages_and_refuses_bad_input(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.clitools import cli, cli_env
    from trustdesk.clock import system_clock
    from trustdesk.db import make_engine
    from trustdesk.intake import authenticity

    monkeypatch.setattr(authenticity, "system_lookup", agency_dns())  # no DNS beyond the test
    engine = make_engine(database_url)
    try:
        officer_key(sessionmaker(bind=engine), system_clock, email="magistrate@justice.fr")
        with unit_of_work(sessionmaker(bind=engine)) as session:
            staff.add_user(
                session,
                system_clock,
                Actor.operator(),
                email="rui@platform.example",
                roles=["legal_reviewer"],
            )
    finally:
        engine.dispose()
    env = cli_env(database_url, tmp_path)
    ids = []
    for raw in (signed_order(), signed_order(subject="Spam", body="Buy now")):
        eml = tmp_path / f"m{len(ids)}.eml"
        eml.write_bytes(raw)
        ids.append(json.loads(cli(env, "mail", "receive", str(eml), "--to", DESK, "--json").stdout)["id"])
    recorded, other = ids
    shown = json.loads(cli(env, "triage", "show", recorded, "--json").stdout)
    assert shown["attachments"][0]["filename"] == "ordonnance.pdf"
    assert shown["tracking_number"].startswith("TD-")  # attributed (DNS as the agency publishes it)
    request = tmp_path / "request.json"
    request.write_text(json.dumps(epoc(emergency=False, emergency_justification=None)))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(epoc(instrument="NOT_AN_INSTRUMENT")))
    refused = cli(
        env, "triage", "accept", recorded, "--as", "rui@platform.example", "--officer",
        "magistrate@justice.fr", "--request", str(bad), expect=2,
    )  # fmt: skip
    assert "instrument" in refused.stderr
    assert json.loads(cli(env, "triage", "show", recorded, "--json").stdout)["status"] == store.TRIAGE
    done = cli(
        env, "triage", "accept", recorded, "--as", "rui@platform.example", "--officer",
        "magistrate@justice.fr", "--request", str(request), "--json",
    )  # fmt: skip
    assert json.loads(done.stdout)["tracking_number"] == shown["tracking_number"]
    assert json.loads(cli(env, "triage", "show", recorded, "--json").stdout)["status"] == triage.ACCEPTED
    cli(env, "triage", "reject", other, "--as", "rui@platform.example", "--reason", "Spam.")
    again = cli(env, "triage", "reject", other, "--as", "rui@platform.example", "--reason", "x", expect=2)
    assert "already rejected" in again.stderr


def test_a_stranger_told_how_to_reach_us_is_still_acknowledged_once_recorded(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], agency_id: str, reviewer: str
) -> None:
    raw = sign(mail(sender="clerk@tribunal.example", body=EPOC_BODY), domain="tribunal.example")
    message_id = arrivals.take(
        container.sessions, container.clock, raw, envelope_from="clerk@tribunal.example", recipient=DESK,
        envelope=store.Envelope(client_ip=MTA_IP), dns=agency_dns(domain="tribunal.example"),
    )  # fmt: skip
    request_id = accept(container, reviewer, message_id, "magistrate@justice.fr")
    sent = {(m.kind, m.to) for m in outbox(sessions)}
    assert sent == {
        (outbound.HOW_TO_REACH_US, "clerk@tribunal.example"),
        (outbound.ACKNOWLEDGEMENT, "magistrate@justice.fr"),
    }
    with sessions() as session:
        assert session.get_one(LawfulRequest, request_id).held_for_callback  # not the agency's domain


def test_a_page_about_a_message_in_triage_is_acknowledged_and_stops_escalating(
    arrivals: Arrivals, container: Container, sessions: sessionmaker[Session], clock: FrozenClock,
    agency_id: str, reviewer: str,
) -> None:  # fmt: skip
    with unit_of_work(sessions) as session:
        first = session.get_one(StaffUser, reviewer)
        rota.add_shift(
            session, clock, None, user=first, starts_at=clock(), ends_at=clock() + timedelta(hours=8)
        )
    message_id = arrive(arrivals, container, sign(mail(subject="URGENT", body="Threat to life.")))
    with unit_of_work(sessions) as session:
        (page,) = paging.pages_of_inbound(session, message_id)
        paging.acknowledge(session, clock, session.get_one(StaffUser, reviewer), page.id)
    clock.advance(timedelta(hours=1))
    assert paging.escalation_job(container)() == 0
    (event,) = events(sessions, AuditAction.ONCALL_PAGE_ACKNOWLEDGE)
    assert (event.subject_type, event.subject_id) == ("inbound_message", message_id)


def test_mail_fetched_without_an_envelope_is_read_as_sent_to_its_to_addresses(
    arrivals: Arrivals,
    sent: list[paging.PageMessage],
    container: Container,
    sessions: sessionmaker[Session],
    agency_id: str,
) -> None:
    """IMAP and `mail receive` have no SMTP envelope: the To: and Cc: say where it was sent, so mail to the
    emergency address fetched from a mailbox pages like mail the listener took."""
    raw = signed_order(to=f"Desk <{EMERGENCY_DESK.upper()}>", Cc=DESK)
    message_id = arrivals.take(container.sessions, container.clock, raw, dns=agency_dns())
    assert get(sessions, message_id).recipient == f"{EMERGENCY_DESK}, {DESK}"
    assert len(sent) == 1
