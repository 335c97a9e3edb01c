"""Keeping what arrives: every inbound message is stored whole (raw bytes and SHA-256) and flushed *before*
it is parsed, so that a message nothing else can read is still kept, in triage, with a note saying why.
Then it is parsed (stdlib ``email``, ``policy.default``), its attachments stored one by one (a PDF that does
not parse is kept with its ``problem``), its sender's authenticity checked (``authenticity``), its fields
prefilled (``extract``), and a reply to an existing request marked for attaching. All in the caller's unit of
work (the entry point commits), with one audit event.

Duplicates: the same raw bytes received again (an IMAP re-fetch after a crash, an MTA that retries after
losing our 250) return the message already stored, whenever it was stored: byte-identical mail includes
identical ``Received:`` headers and Message-ID, so it is the same delivery, and no time window would be safe
for an at-least-once poller that may restart hours later. The same Message-ID with *different* bytes (one
mail sent to two of the desk's addresses, or resent) is kept as its own message, marked ``duplicate_of``.
"""

import email
import email.policy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities import service as authorities
from trustdesk.clock import Clock
from trustdesk.errors import NotFound
from trustdesk.intake import authenticity, extract
from trustdesk.intake.models import InboundAttachment, InboundMessage, OutboundMail
from trustdesk.lawful import service as lawful
from trustdesk.lawful.models import LawfulRequest

__all__ = ["Envelope", "body_text", "catalogue_titles", "find_duplicate", "receive"]

MAX_ATTACHMENTS: Final = 50
EMAIL, MAILROOM = "email", "mailroom"
TRIAGE = "triage"


@dataclass(frozen=True)
class Envelope:
    """What the SMTP transaction says beyond the message: the client's address and its HELO name."""

    client_ip: str | None = None
    helo: str | None = None


def catalogue_titles(catalogue: Iterable[Any]) -> list[tuple[str, str]]:
    """(code, title) of every instrument of the catalogue, for ``extract.instrument_names``."""
    return [(str(i.code), str(i.title)) for i in catalogue]


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def find_duplicate(session: Session, raw: bytes, channel: str = EMAIL) -> InboundMessage | None:
    """The message already stored with exactly these bytes on this channel, if any."""
    return session.scalars(
        select(InboundMessage)
        .where(InboundMessage.sha256 == sha256(raw), InboundMessage.channel == channel)
        .order_by(InboundMessage.created_at)
        .limit(1)
    ).first()


def receive(
    session: Session,
    clock: Clock,
    raw: bytes,
    *,
    channel: str,
    envelope_from: str | None = None,
    recipient: str | None = None,
    received_at: datetime | None = None,
    uploaded_by: str | None = None,
    envelope: Envelope | None = None,
    dns: authenticity.Lookup | None = None,
    titles: Iterable[tuple[str, str]] = (),
    filename: str | None = None,
    note: str | None = None,
) -> InboundMessage:
    """Store ``raw`` whole, then read it; returns the stored message (the earlier one for identical bytes).

    ``dns`` answers the DKIM, SPF and DMARC lookups (default: the system resolver); ``titles`` are the
    catalogue's instruments (``catalogue_titles``) for the prefills. A mailroom letter's ``raw`` is the
    scanned PDF (``filename``), kept also as its one attachment; ``envelope_from`` names its sender."""
    if channel not in (EMAIL, MAILROOM):
        raise ValueError(f"unknown channel {channel!r}")
    existing = find_duplicate(session, raw, channel)
    if existing is not None:
        return existing
    now = clock()
    message = InboundMessage(
        channel=channel,
        received_at=received_at or now,
        raw=raw,
        sha256=sha256(raw),
        recipient=(recipient or "")[:320] or None,
        sender=(envelope_from or "")[:320] or None,
        status=TRIAGE,
        uploaded_by=uploaded_by,
        created_at=now,
        note=note,
    )
    session.add(message)
    session.flush()  # kept before anything can fail on its content
    if channel == EMAIL:
        _read_email(session, message, envelope or Envelope(), dns or authenticity.system_lookup, list(titles))
    else:
        _read_letter(session, message, filename or "letter.pdf", list(titles))
    actor = Actor(ActorKind.STAFF, uploaded_by) if uploaded_by else Actor.system()
    action = AuditAction.INBOUND_UPLOAD if channel == MAILROOM else AuditAction.INBOUND_RECEIVE
    audit.record(
        session, clock, actor, action,
        subject_type="inbound_message", subject_id=message.id,
        data={"after": summary(session, message)},
    )  # fmt: skip
    return message


def summary(session: Session, message: InboundMessage) -> dict[str, Any]:
    """What the audit event says about a received message (no body: it may carry personal data)."""
    verdict = message.authenticity or {}
    attachments = session.scalars(
        select(InboundAttachment.sha256).where(InboundAttachment.message_id == message.id)
    ).all()
    return {
        "channel": message.channel,
        "sha256": message.sha256,
        "received_at": message.received_at.isoformat(),
        "sender": message.sender,
        "recipient": message.recipient,
        "message_id": message.message_id,
        "agency_id": message.agency_id,
        "dkim": verdict.get("dkim"),
        "dmarc": verdict.get("dmarc"),
        "domain_match": verdict.get("domain_match"),
        "attachments": list(attachments),
        "status": message.status,
        "note": message.note,
    }


LETTER_REASON: Final = (
    "a letter or fax scanned by the mailroom: no electronic signature of the sender was checked; verify the "
    "letterhead, the signature and the sender through the agency's directory"
)


# --- reading a scanned letter ---------------------------------------------------------------------------


def _read_letter(
    session: Session, message: InboundMessage, filename: str, titles: list[tuple[str, str]]
) -> None:
    """A letter or fax scanned by the mailroom: the PDF is the message and its one attachment; no sender can
    be authenticated by the desk's machines (the clerk's note and the letterhead are what staff judge)."""
    problem = lawful.pdf_problem(message.raw)
    session.add(
        InboundAttachment(
            message_id=message.id, position=0, filename=filename[:255], content_type="application/pdf",
            content=message.raw, sha256=message.sha256, problem=problem,
        )
    )  # fmt: skip
    found = extract.extract(extract.pdf_text(message.raw) if problem is None else "", titles)
    found["problems"] = [f"{filename}: {problem}"] if problem else []
    message.extracted = found
    message.authenticity = {
        "dkim": "none", "dkim_domain": None, "spf": "none", "spf_domain": None, "dmarc": "none",
        "policy": None, "aligned": False, "from_domain": None, "agency_id": None, "domain_match": "unknown",
        "lookalike_of": None,
        "reasons": [LETTER_REASON],
    }  # fmt: skip
    if problem:
        message.note = "; ".join(p for p in (message.note, f"{filename}: {problem}") if p)


# --- reading an e-mail ----------------------------------------------------------------------------------


def _read_email(
    session: Session,
    message: InboundMessage,
    envelope: Envelope,
    dns: authenticity.Lookup,
    titles: list[tuple[str, str]],
) -> None:
    try:
        parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # policy.default builds EmailMessage
        _headers(message, parsed)
        texts = [message.subject or "", body_text(parsed)]
    except Exception as exc:  # noqa: BLE001 - whatever hostile bytes make the parser raise, the mail is kept
        message.note = f"the message cannot be parsed ({type(exc).__name__}): it is kept whole, in triage"
        message.authenticity = authenticity.check(
            message.raw, None, [], dns, client_ip=envelope.client_ip, mail_from=message.sender
        )
        message.extracted = {"problems": [message.note]}
        return
    problems: list[str] = []
    texts += _attachments(session, message, parsed, problems)
    agencies = [
        authenticity.AgencyDomains(a.id, a.name, tuple(a.domain_names))
        for a in authorities.list_agencies(session)
    ]
    verdict = authenticity.check(
        message.raw, parsed, agencies, dns,
        client_ip=envelope.client_ip, mail_from=message.sender, helo=envelope.helo,
    )  # fmt: skip
    smtp = {"client_ip": envelope.client_ip, "helo": envelope.helo, "mail_from": message.sender}
    message.authenticity = verdict | {"smtp": smtp}
    message.agency_id = verdict["agency_id"]
    from_address, _ = authenticity.from_domain_of(parsed)
    if from_address:
        message.sender = from_address[:320]
    found = extract.extract("\n".join(texts), titles)
    found["problems"] = problems
    _reply(session, message, found)
    _duplicate(session, message, found)
    message.extracted = found
    if problems:
        message.note = "; ".join(problems)


_MAX_HEADER: Final = 998


def _headers(message: InboundMessage, parsed: EmailMessage) -> None:
    def header(name: str) -> str | None:
        value = parsed.get(name)
        return str(value).strip()[:_MAX_HEADER] if value is not None else None

    message.subject = header("Subject")
    message.message_id = header("Message-ID")
    if message.recipient is None:  # no SMTP envelope (IMAP, a file): the addresses the mail was written to
        written_to = [
            a.addr_spec.lower() for name in ("To", "Cc") for a in getattr(parsed.get(name), "addresses", ())
        ]
        message.recipient = ", ".join(dict.fromkeys(written_to))[:320] or None
    thread = " ".join(v for v in (header("In-Reply-To"), header("References")) if v)
    message.in_reply_to = thread or None


def body_text(parsed: EmailMessage) -> str:
    """The mail's text (plain, else HTML without its tags), at most ``extract.MAX_CHARS``."""
    body = parsed.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if not isinstance(content, str):
        return ""
    if body.get_content_subtype() == "html":
        content = re.sub(r"<[^>]{0,2000}>", " ", content)
    return content[: extract.MAX_CHARS]


def _is_pdf(content_type: str, filename: str) -> bool:
    return content_type == "application/pdf" or filename.lower().endswith(".pdf")


def _attachments(
    session: Session, message: InboundMessage, parsed: EmailMessage, problems: list[str]
) -> list[str]:
    """Store every part with a file name (and every PDF), in order; the PDFs' text for the prefills."""
    texts: list[str] = []
    position, pdfs = 0, 0
    for part in parsed.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        content_type = part.get_content_type()
        if (
            not filename
            and part.get_content_disposition() != "attachment"
            and content_type != "application/pdf"
        ):
            continue
        if position >= MAX_ATTACHMENTS:
            problems.append(f"more than {MAX_ATTACHMENTS} attachments: the rest are only in the raw message")
            break
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        name = (filename or f"attachment-{position + 1}")[:255]
        problem = None
        if _is_pdf(content_type, name):
            pdfs += 1
            problem = lawful.pdf_problem(content)
            if problem is None:
                texts.append(extract.pdf_text(content))
        else:
            problem = f"not a PDF ({content_type}): it does not count as the signed order"
        if problem and _is_pdf(content_type, name):
            problems.append(f"{name}: {problem}")
        session.add(
            InboundAttachment(
                message_id=message.id, position=position, filename=name, content_type=content_type[:255],
                content=content, sha256=sha256(content), problem=problem,
            )
        )  # fmt: skip
        position += 1
    if not pdfs:
        problems.append("no PDF attached: the signed order is missing")
    return texts


_MESSAGE_IDS: Final = re.compile(r"<[^<>\s]{1,900}>")


def _replied_requests(session: Session, message: InboundMessage) -> list[str]:
    """The tracking numbers of the requests whose mail from the desk this message answers: named in its
    subject or thread headers, or the desk's own Message-IDs in its In-Reply-To or References."""
    candidates = extract.tracking_numbers(f"{message.subject or ''} {message.in_reply_to or ''}")
    ids = _MESSAGE_IDS.findall(message.in_reply_to or "")[:50]
    if ids:
        candidates += session.scalars(
            select(LawfulRequest.tracking_number)
            .join(OutboundMail, OutboundMail.request_id == LawfulRequest.id)
            .where(OutboundMail.message_id.in_(ids))
        ).all()
    return list(dict.fromkeys(candidates))


def _reply(session: Session, message: InboundMessage, found: dict[str, Any]) -> None:
    """A reply to a request of the same agency (its tracking number in the subject or in the In-Reply-To or
    References headers, or a Message-ID of the desk's mail about it there) is marked for attaching: triage
    attaches it at arrival (``triage.on_arrival``)."""
    for number in _replied_requests(session, message):
        try:
            request = lawful.get_by_tracking_number(session, number)
        except NotFound:
            continue
        if message.agency_id is not None and request.agency_id == message.agency_id:
            found["reply_to_tracking"] = request.tracking_number
            return
        found.setdefault("problems", []).append(
            f"it names {request.tracking_number}, but is not authenticated as from that request's agency: "
            "not attached"
        )


def _duplicate(session: Session, message: InboundMessage, found: dict[str, Any]) -> None:
    if not message.message_id:
        return
    earlier = session.scalars(
        select(InboundMessage.id).where(
            InboundMessage.message_id == message.message_id, InboundMessage.id != message.id
        )
    ).first()
    if earlier is not None:
        found["duplicate_of"] = earlier
