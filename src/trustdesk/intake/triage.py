"""Triage: what becomes of a message that arrived by e-mail or was scanned from a letter.

At once, in the unit of work that stored it (`on_arrival`):
- a **reply** to a request of the same agency (``extracted.reply_to_tracking``, set by ``store`` only when
  the mail is authenticated as that agency's) is attached to the file: an answer to an open clarification
  resumes the clock, anything else is a note from the authority;
- a message **attributed to a registered agency** (DKIM or SPF aligned with one of its official domains,
  DMARC not failing) is given its tracking number and acknowledged by e-mail, with the legal deadline
  counted from its receipt when the instrument could be read from it;
- anything else gets a reply saying how to reach the desk properly — unless the sender is not
  authenticated either (a reply would go to whoever's address was forged), its domain imitates an
  agency's (no help for a forger), or the mail was itself an automatic one (RFC 3834): then no reply, and
  the note says why. Every message stays in triage, kept and
  counted, until a legal reviewer decides it.

Then a legal reviewer (``staff:request:decide``) **accepts** it as a lawful request (`accept`: the same
`lawful.service.submit` as the portal and the API, with the date of receipt and the tracking number of the
message, its signed PDFs attached, its authenticity scored as forgery risk — a mail nothing authenticates,
a look-alike domain and a scanned letter are held for a callback before anything is disclosed), **attaches**
it to an existing request (`attach`), or **rejects** it with a reason (`reject`). Services never commit.
"""

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.intake import mail_texts, outbound, store
from trustdesk.intake.models import InboundAttachment, InboundMessage, OutboundMail
from trustdesk.lawful import clock as deadlines
from trustdesk.lawful import review
from trustdesk.lawful import service as lawful
from trustdesk.lawful.catalogue import Catalogue
from trustdesk.lawful.intake_risk import Origin
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.risk import MailFacts
from trustdesk.lawful.schemas import RequestIn
from trustdesk.oncall.models import Page
from trustdesk.policy.rules import PolicySet
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

__all__ = [
    "ACCEPTED",
    "ATTACHED",
    "REJECTED",
    "Replies",
    "accept",
    "attach",
    "on_arrival",
    "received_for_agency",
    "reject",
]

ACCEPTED, ATTACHED, REJECTED = "accepted", "attached", "rejected"
DECIDING = "deciding"
"""Only inside the transaction of a decision (never committed): the claim that makes it the only one."""
MAX_REASON: Final = 2000
MAX_BODY: Final = 19_000
"""Of a reply's text attached to the file (the file's messages hold 20,000 characters; the mail is kept
whole in any case)."""


@dataclass(frozen=True)
class Replies:
    """What the desk's automatic replies need: its From:, where the portal is, the channels to point to,
    and its own addresses (never answered: a loop)."""

    mail_from: str
    portal_url: str
    channels: tuple[tuple[str, str], ...] = ()
    own_addresses: frozenset[str] = frozenset()


def _parsed(message: InboundMessage) -> EmailMessage | None:
    try:
        parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    except Exception:  # noqa: BLE001 - the store already noted why it cannot be read
        return None
    return parsed if isinstance(parsed, EmailMessage) else None


def _auto_submitted(parsed: EmailMessage | None) -> bool:
    """An automatic message (RFC 3834 ``Auto-Submitted``, a bulk list, a bounce) is never answered."""
    if parsed is None:
        return True
    auto = str(parsed.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(parsed.get("Precedence", "")).strip().lower()
    return auto != "no" or precedence in {"bulk", "list", "junk"} or not parsed.get("From")


def _sender_authenticated(message: InboundMessage) -> bool:
    """DKIM or SPF aligned with the From: domain, and DMARC not failing: the From: is the sender's own."""
    verdict = message.authenticity or {}
    return bool(verdict.get("aligned")) and verdict.get("dmarc") != "fail"


def _note(message: InboundMessage, text: str) -> None:
    message.note = "; ".join(p for p in (message.note, text) if p)


def _audit(session: Session, clock: Clock, actor: Actor, action: AuditAction, message: InboundMessage,
           **after: Any) -> None:  # fmt: skip
    audit.record(
        session, clock, actor, action, subject_type="inbound_message", subject_id=message.id,
        data={"after": {"status": message.status, **after}},
    )  # fmt: skip


# --- at arrival -----------------------------------------------------------------------------------------


def on_arrival(
    session: Session, clock: Clock, message: InboundMessage, catalogue: Catalogue, replies: Replies
) -> OutboundMail | None:
    """Attach a reply, or acknowledge the message, or tell its sender how to reach the desk (the mail
    queued, if any). Nothing for a message already past triage (an identical delivery received again)
    or a letter (its sender has no authenticated address; it is acknowledged when triage records it)."""
    if message.status != store.TRIAGE or message.channel != store.EMAIL:
        return None
    if message.tracking_number is not None or _answered(session, message):
        return None
    found = message.extracted or {}
    if found.get("reply_to_tracking"):
        _attach_reply(session, clock, message, catalogue, str(found["reply_to_tracking"]))
        return None
    parsed = _parsed(message)
    to = (message.sender or "").strip().lower()
    if message.agency_id is not None:
        return _acknowledge(session, clock, message, catalogue, replies, parsed)
    if not to or to in replies.own_addresses:
        _note(message, "no automatic reply: the sender's address is missing or the desk's own")
        return None
    if _auto_submitted(parsed):
        _note(message, "no automatic reply: the message is itself automatic (RFC 3834)")
        return None
    if (imitated := (message.authenticity or {}).get("lookalike_of")) is not None:
        _note(message, f"no automatic reply: the sender's domain imitates {imitated} (a likely forgery)")
        return None
    if not _sender_authenticated(message):
        _note(message, "no automatic reply: nothing authenticates the sender, so a reply could reach "
                       "someone whose address was forged")  # fmt: skip
        return None
    subject, body = mail_texts.how_to_reach_us(
        message.received_at, channels=replies.channels, portal_url=replies.portal_url
    )
    return outbound.queue(
        session, clock, mail_from=replies.mail_from, kind=outbound.HOW_TO_REACH_US, to=to,
        subject=subject, body=body, inbound_id=message.id, in_reply_to=message.message_id,
    )  # fmt: skip


def _answered(session: Session, message: InboundMessage, kind: str | None = None) -> bool:
    """Whether the desk mailed anything about the message already (of ``kind``, when given)."""
    found = select(OutboundMail.id).where(OutboundMail.inbound_id == message.id)
    if kind is not None:
        found = found.where(OutboundMail.kind == kind)
    return session.scalar(found.limit(1)) is not None


def _read_instrument(message: InboundMessage, catalogue: Catalogue) -> Any:
    """The instrument the message names, when it names exactly one the catalogue knows."""
    named = list(dict.fromkeys((message.extracted or {}).get("instruments") or []))
    if len(named) != 1:
        return None
    try:
        return catalogue.get(named[0])
    except (KeyError, ValueError, NotFound):
        return None


def _acknowledge(
    session: Session,
    clock: Clock,
    message: InboundMessage,
    catalogue: Catalogue,
    replies: Replies,
    parsed: EmailMessage | None,
) -> OutboundMail | None:
    message.tracking_number = lawful.new_tracking_number(message.received_at.year)
    instrument = _read_instrument(message, catalogue)
    emergency = bool((message.extracted or {}).get("emergency"))
    due = None
    if instrument is not None:
        due = deadlines.due_at(
            instrument.deadline,
            message.received_at,
            emergency=emergency and instrument.supports_emergency,
            ordered_due_at=None,
        )
    session.flush()
    _audit(
        session, clock, Actor.system(), AuditAction.INBOUND_ACKNOWLEDGE, message,
        tracking_number=message.tracking_number, agency_id=message.agency_id,
        instrument=None if instrument is None else instrument.code.value,
        due_at=None if due is None else due.isoformat(),
    )  # fmt: skip
    if _auto_submitted(parsed) or not message.sender:
        _note(message, "not acknowledged by e-mail: the message is itself automatic (RFC 3834)")
        return None
    subject, body = mail_texts.acknowledgement(
        message.tracking_number, message.received_at,
        instrument_title=None if instrument is None else instrument.title, due_at=due,
        portal_url=replies.portal_url,
    )  # fmt: skip
    return outbound.queue(
        session, clock, mail_from=replies.mail_from, kind=outbound.ACKNOWLEDGEMENT, to=message.sender,
        subject=subject, body=body, inbound_id=message.id, in_reply_to=message.message_id,
    )  # fmt: skip


def _reply_text(message: InboundMessage) -> str:
    parsed = _parsed(message)
    text = store.body_text(parsed) if parsed is not None else ""
    names = [a.filename for a in message_attachments(message)]
    head = f"E-mail received {message.received_at:%Y-%m-%d %H:%M} UTC from {message.sender or 'unknown'}"
    if message.subject:
        head += f", subject {message.subject!r}"
    if names:
        head += f", attachments: {', '.join(names)} (kept with the mail in the mailroom)"
    body = text.strip() or "(no text)"
    return f"{head}:\n\n{body}"[:MAX_BODY]


def message_attachments(message: InboundMessage) -> list[InboundAttachment]:
    session = Session.object_session(message)
    if session is None:
        return []
    return list(
        session.scalars(
            select(InboundAttachment)
            .where(InboundAttachment.message_id == message.id)
            .order_by(InboundAttachment.position)
        )
    )


def _officer_for(session: Session, message: InboundMessage, request: LawfulRequest) -> Officer:
    """The officer of the request's agency whose registered address sent the mail, else the request's."""
    sender = (message.sender or "").strip().lower()
    found = session.scalars(
        select(Officer).where(Officer.agency_id == request.agency_id, Officer.email == sender)
    ).first()
    return found or session.get_one(Officer, request.officer_id)


def _attach_reply(
    session: Session, clock: Clock, message: InboundMessage, catalogue: Catalogue, tracking_number: str
) -> None:
    request = lawful.get_by_tracking_number(session, tracking_number)
    try:
        _attach_to(session, clock, message, catalogue, request, _officer_for(session, message, request))
    except Conflict as exc:  # a closed file: the reply stays in triage for a person
        _note(message, f"not attached to {tracking_number}: {exc}")
        return
    _audit(
        session, clock, Actor.system(), AuditAction.INBOUND_ATTACH, message,
        request_id=request.id, tracking_number=request.tracking_number, automatic=True,
    )  # fmt: skip


def _attach_to(
    session: Session,
    clock: Clock,
    message: InboundMessage,
    catalogue: Catalogue,
    request: LawfulRequest,
    officer: Officer,
) -> None:
    instrument = catalogue.get(request.instrument)
    review.officer_writes(session, clock, officer, request, instrument, _reply_text(message))
    message.status, message.request_id = ATTACHED, request.id


# --- a reviewer's decision ------------------------------------------------------------------------------


def _in_triage(session: Session, message_id: str) -> InboundMessage:
    """The message, claimed for this decision by a conditional update: two reviewers deciding it at once
    cannot both (the second waits for the first's commit, then finds it decided). The decision sets its
    final status; a failure rolls the claim back with everything else."""
    message = session.get(InboundMessage, message_id)
    if message is None:
        raise NotFound(f"no inbound message {message_id}", code="inbound_not_found")
    claimed = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id, InboundMessage.status == store.TRIAGE)
        .values(status=DECIDING)
        .execution_options(synchronize_session=False)
    )
    session.refresh(message)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"this message was already {message.status}", code="inbound_decided")
    return message


def received_for_agency(session: Session, tracking_number: str, agency_id: str) -> InboundMessage | None:
    """The agency's e-mail given this tracking number at arrival and not recorded as a request (yet): what
    the portal shows an officer who follows the number the acknowledgement gave."""
    return session.scalars(
        select(InboundMessage).where(
            InboundMessage.tracking_number == tracking_number.strip().upper(),
            InboundMessage.agency_id == agency_id,
            InboundMessage.request_id.is_(None),
        )
    ).first()


def mail_facts(message: InboundMessage, agency_domains: list[str]) -> MailFacts:
    """How the message's sender was authenticated, for the forgery risk of the request it becomes."""
    verdict = message.authenticity or {}
    domain = verdict.get("from_domain")
    official = bool(domain) and any(domain == d or str(domain).endswith("." + d) for d in agency_domains)
    return MailFacts(
        channel=message.channel,
        authenticated=message.agency_id is not None and _sender_authenticated(message) and official,
        from_domain=domain,
        lookalike_of=verdict.get("lookalike_of"),
    )


def accept(
    session: Session,
    clock: Clock,
    user: StaffUser,
    message_id: str,
    body: RequestIn,
    *,
    officer_id: str,
    catalogue: Catalogue,
    policy: PolicySet,
    replies: Replies,
    max_document_bytes: int,
) -> LawfulRequest:
    """Record the message as the lawful request ``body`` a legal reviewer completed from it, sent by
    ``officer_id`` (an officer of the agency the mail is authenticated as, if it is): received when the
    message was, under the tracking number its acknowledgement gave, with its readable PDFs attached.
    Acknowledged by e-mail to the officer now unless it was at arrival. The entry point publishes
    ``REQUEST_RECEIVED`` after the commit (the on-call page, the preservation on receipt)."""
    require(user, Permission.STAFF_REQUEST_DECIDE)
    message = _in_triage(session, message_id)
    officer = session.get(Officer, officer_id)
    if officer is None or not officer.active:
        raise InvalidInput("choose an active officer of the sending agency", field="officer_id")
    if message.agency_id is not None and officer.agency_id != message.agency_id:
        raise Conflict(
            "the mail is authenticated as sent by another agency: choose one of its officers",
            code="officer_of_other_agency",
            field="officer_id",
        )
    facts = mail_facts(message, [d.domain for d in officer.agency.domains])
    intake = lawful.submit(
        session, clock, catalogue, officer, body, idempotency_key=None, policy=policy,
        channel=message.channel, origin=Origin(mail=facts), received_at=message.received_at,
        tracking_number=message.tracking_number,
    )  # fmt: skip
    request = intake.request
    attached = _attach_pdfs(session, clock, message, officer, request, max_document_bytes)
    message.status, message.request_id = ACCEPTED, request.id
    message.tracking_number = request.tracking_number
    message.decided_by, message.decided_at = user.id, clock()
    session.execute(  # an emergency paged while in triage: the pages are now the request's
        update(Page).where(Page.inbound_id == message.id).values(request_id=request.id)
    )
    session.flush()
    _audit(
        session, clock, Actor(ActorKind.STAFF, user.id), AuditAction.INBOUND_ACCEPT, message,
        request_id=request.id, tracking_number=request.tracking_number, officer_id=officer.id,
        documents=attached, risk_score=request.risk_score, held_for_callback=request.held_for_callback,
    )  # fmt: skip
    if not _answered(session, message, outbound.ACKNOWLEDGEMENT) and request.receipt_ground is None:
        subject, text = mail_texts.acknowledgement(
            request.tracking_number, request.received_at,
            instrument_title=catalogue.get(request.instrument).title, due_at=request.due_at,
            portal_url=replies.portal_url,
        )  # fmt: skip
        outbound.queue(
            session, clock, mail_from=replies.mail_from, kind=outbound.ACKNOWLEDGEMENT, to=officer.email,
            subject=subject, body=text, request_id=request.id, inbound_id=message.id,
        )  # fmt: skip
    return request


def _attach_pdfs(
    session: Session,
    clock: Clock,
    message: InboundMessage,
    officer: Officer,
    request: LawfulRequest,
    max_bytes: int,
) -> list[str]:
    """The message's readable PDFs become the request's signed documents (the SHA-256 of each)."""
    attached: list[str] = []
    for part in message_attachments(message):
        if part.problem is not None or len(attached) >= lawful.MAX_DOCUMENTS_PER_REQUEST:
            continue
        try:
            document = lawful.attach_document(
                session, clock, officer, request.tracking_number, filename=part.filename,
                content_type="application/pdf", content=part.content, max_bytes=max_bytes,
            )  # fmt: skip
        except (InvalidInput, Conflict) as exc:  # kept in the mailroom with the mail, shown there
            _note(message, f"{part.filename} not attached: {exc}")
            continue
        attached.append(document.sha256)
    return attached


def attach(
    session: Session,
    clock: Clock,
    user: StaffUser,
    message_id: str,
    tracking_number: str,
    catalogue: Catalogue,
) -> LawfulRequest:
    """A legal reviewer attaches the message to an existing request as a message from its authority
    (a reply the store could not match, a letter following up a request)."""
    require(user, Permission.STAFF_REQUEST_DECIDE)
    message = _in_triage(session, message_id)
    request = lawful.get_by_tracking_number(session, tracking_number.strip().upper())
    if message.agency_id is not None and message.agency_id != request.agency_id:
        raise Conflict(
            f"the mail is authenticated as another agency's than {request.tracking_number}'s",
            code="inbound_other_agency",
        )
    _attach_to(session, clock, message, catalogue, request, _officer_for(session, message, request))
    message.decided_by, message.decided_at = user.id, clock()
    session.flush()
    _audit(
        session, clock, Actor(ActorKind.STAFF, user.id), AuditAction.INBOUND_ATTACH, message,
        request_id=request.id, tracking_number=request.tracking_number, automatic=False,
    )  # fmt: skip
    return request


def reject(
    session: Session, clock: Clock, user: StaffUser, message_id: str, reason: str, replies: Replies
) -> InboundMessage:
    """A legal reviewer decides the message is not a request (spam, a forgery, a misdirected letter): it
    stays kept, with the reason, and is counted. A message acknowledged at arrival (an agency's) is told so
    by e-mail, with the reason."""
    require(user, Permission.STAFF_REQUEST_DECIDE)
    text = reason.strip()
    if not text:
        raise InvalidInput("say why the message is not a request", field="reason")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the reason has at most {MAX_REASON} characters", field="reason")
    message = _in_triage(session, message_id)
    message.status = REJECTED
    message.decided_by, message.decided_at = user.id, clock()
    _note(message, f"rejected: {text}")
    session.flush()
    _audit(session, clock, Actor(ActorKind.STAFF, user.id), AuditAction.INBOUND_REJECT, message, reason=text)
    if message.tracking_number and message.sender and _answered(session, message, outbound.ACKNOWLEDGEMENT):
        subject, body = mail_texts.not_recorded(
            message.tracking_number, message.received_at, reason=text, portal_url=replies.portal_url
        )
        outbound.queue(
            session, clock, mail_from=replies.mail_from, kind=outbound.NOT_RECORDED, to=message.sender,
            subject=subject, body=body, inbound_id=message.id, in_reply_to=message.message_id,
        )  # fmt: skip
    return message
