"""The outbox: every mail the desk sends to an authority (an acknowledgement, how to reach the desk, a
question or an answer waiting in the portal) is first a row of ``outbound_mail``, queued in the transaction
that decided it, then sent through the relay (``TRUSTDESK_SMTP_*``, aiosmtplib) by a round of the serve
loop (`outbox_job`) or by ``trustdesk mail send``.

- `queue` checks one mail and adds it; services never commit, the entry point does.
- `send_due` sends what is due. Each mail is claimed by a conditional update in a short transaction of its
  own, sent with no transaction open (a slow relay holds no lock), and its outcome written in another. So
  two processes never send one mail twice, unless one dies between handing it to the relay and writing
  that down: its claim then lapses after `CLAIM` and the mail is sent again (at least once, never lost).
  ``attempts`` counts every attempt, the successful one too. A failure waits 1, 2, 4 … minutes (at most an
  hour) before the next; after `MAX_ATTEMPTS` the mail is ``failed``: kept, never deleted, listed by
  ``trustdesk mail outbox --status failed``, and queued again by `retry`.
- `mail_correspondence` queues one mail for each message of the file written to the authority of a request
  that came by e-mail or letter: once per message (``correspondence_id`` is unique).

No mail carries the file's contents (``mail_texts``): questions and answers point to the portal. A mail sent,
finally failed or queued again is audited (``intake:mail:send|fail|retry``, never its body); queueing is
audited by the decision that queued it (an acknowledgement, a question, an answer).
"""

import asyncio
import email.policy
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import Officer
from trustdesk.clock import Clock
from trustdesk.config import Settings, public_url
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.intake import mail_texts
from trustdesk.intake.models import OutboundMail
from trustdesk.lawful.models import Correspondence, LawfulRequest
from trustdesk.lawful.review import CorrespondenceKind

if TYPE_CHECKING:
    from trustdesk.app import Container

__all__ = [
    "ACKNOWLEDGEMENT",
    "ANSWER",
    "CLAIM",
    "FAILED",
    "HOW_TO_REACH_US",
    "MAX_ATTEMPTS",
    "QUESTION",
    "QUEUED",
    "SENT",
    "STATUSES",
    "MailError",
    "MailSender",
    "SmtpSender",
    "backoff",
    "build_message",
    "compose",
    "list_outbox",
    "mail_correspondence",
    "new_message_id",
    "outbox_job",
    "queue",
    "retry",
    "send_due",
    "sender_from_settings",
]

logger = logging.getLogger(__name__)

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES: Final = (QUEUED, SENT, FAILED)
ACKNOWLEDGEMENT, HOW_TO_REACH_US = "acknowledgement", "how_to_reach_us"
QUESTION, ANSWER = "question", "answer"
NOT_RECORDED: Final = "not_recorded"
KINDS: Final = frozenset({ACKNOWLEDGEMENT, HOW_TO_REACH_US, QUESTION, ANSWER, NOT_RECORDED})
AUTO_REPLIES: Final = frozenset({ACKNOWLEDGEMENT, HOW_TO_REACH_US})
"""Answers to a message received: ``Auto-Submitted: auto-replied`` (RFC 3834); the rest ``auto-generated``."""

MAX_ATTEMPTS: Final = 12
"""Attempts before a mail is ``failed``: with the back-off, about six hours of trying."""
MAX_BACKOFF: Final = timedelta(hours=1)
CLAIM: Final = timedelta(minutes=10)
"""How long a claimed mail is left to the process sending it (well beyond the relay's timeout)."""
MAX_ERROR: Final = 1000

MAILED_CHANNELS: Final = ("email", "mailroom")
"""Requests that came by e-mail or letter: the portal's and the API's users read their file there."""
_MAILED: Final = {
    CorrespondenceKind.CLARIFICATION_QUESTION.value: QUESTION,
    CorrespondenceKind.ANSWER.value: ANSWER,
    CorrespondenceKind.EFFECT_GIVEN.value: ANSWER,
    CorrespondenceKind.CANNOT_COMPLY.value: ANSWER,
}
"""The messages of the file that are mailed, and as what; notes and the rest are not."""

Security = Literal["starttls", "tls", "none"]
T = TypeVar("T")


# --- queueing ------------------------------------------------------------------------------------------


def _one_line(value: str, field_name: str, *, limit: int) -> None:
    if "\r" in value or "\n" in value:
        raise InvalidInput(f"{field_name}: one line, no CR or LF", field=field_name)
    if not value.strip():
        raise InvalidInput(f"{field_name}: empty", field=field_name)
    if len(value) > limit:
        raise InvalidInput(f"{field_name}: at most {limit} characters", field=field_name)


def _address(value: str, field_name: str) -> Address:
    """Exactly one address, read alike by the header parser and by ``parseaddr`` (where the two disagree,
    the value is ambiguous, and refused)."""
    _one_line(value, field_name, limit=320)
    refused = InvalidInput(f"{value!r} is not one valid e-mail address", field=field_name)
    try:
        header = email.policy.default.header_factory("To", value)
        groups, addresses, defects = header.groups, header.addresses, header.defects
    except Exception:  # noqa: BLE001 - the stdlib parser raises several kinds of error on malformed input
        raise refused from None
    if defects or len(addresses) != 1 or len(groups) != 1 or groups[0].display_name is not None:
        raise refused
    address: Address = addresses[0]
    if not address.username or not address.domain or parseaddr(value)[1] != address.addr_spec:
        raise refused
    return address


def new_message_id(mail_from: str) -> str:
    """A fresh Message-ID in the domain of the desk's From: address."""
    return make_msgid(domain=_address(mail_from, "mail_from").domain)


def queue(
    session: Session,
    clock: Clock,
    *,
    mail_from: str,
    kind: str,
    to: str,
    subject: str,
    body: str,
    request_id: str | None = None,
    inbound_id: str | None = None,
    correspondence_id: str | None = None,
    in_reply_to: str | None = None,
) -> OutboundMail:
    """Add one mail to the outbox, due now; bad input raises `InvalidInput` (with the field) and adds
    nothing. Flushed, not committed."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind of mail {kind!r}: one of {', '.join(sorted(KINDS))}", field="kind")
    recipient = _address(to, "to")
    message_id = new_message_id(mail_from)
    _one_line(subject, "subject", limit=998)
    if not body.strip():
        raise InvalidInput("the body is empty", field="body")
    if in_reply_to is not None:
        _one_line(in_reply_to, "in_reply_to", limit=998)
    now = clock()
    mail = OutboundMail(
        kind=kind,
        to=str(recipient),
        subject=subject,
        body=body,
        request_id=request_id,
        inbound_id=inbound_id,
        correspondence_id=correspondence_id,
        in_reply_to=in_reply_to,
        message_id=message_id,
        status=QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(mail)
    session.flush()
    return mail


def build_message(
    *,
    mail_from: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    date: datetime,
    auto_submitted: Literal["auto-replied", "auto-generated"],
    in_reply_to: str | None = None,
) -> EmailMessage:
    """One plain-text message with the headers every mail of the desk carries."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date.astimezone(UTC))
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["Auto-Submitted"] = auto_submitted  # RFC 3834: no vacation replies to the desk's own mail
    message.set_content(body)
    return message


def compose(mail: OutboundMail, mail_from: str) -> EmailMessage:
    """The message of a queued mail, the same at every attempt (its Date is when it was queued)."""
    return build_message(
        mail_from=mail_from,
        to=mail.to,
        subject=mail.subject,
        body=mail.body,
        message_id=mail.message_id,
        date=mail.created_at,
        auto_submitted="auto-replied" if mail.kind in AUTO_REPLIES else "auto-generated",
        in_reply_to=mail.in_reply_to,
    )


# --- the relay -----------------------------------------------------------------------------------------


class MailError(Exception):
    """A message was not accepted by the relay; the message names the relay, never its credentials."""


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand one message to the relay; raise `MailError` when it was not accepted."""
        ...


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from synchronous code: in this thread when no event loop runs here (the
    serve loop's thread, the CLI), else in a thread of its own (a running loop cannot be entered again)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class SmtpSender:
    """The relay over SMTP (aiosmtplib): STARTTLS required (``starttls``, port 587), implicit TLS (``tls``,
    465), or plain (``none``, loopback only). Certificates are verified."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: Security = "starttls"
    timeout: float = 30.0

    def send(self, message: EmailMessage) -> None:
        try:
            _run(
                aiosmtplib.send(
                    message,
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    use_tls=self.security == "tls",
                    start_tls=self.security == "starttls",
                    timeout=self.timeout,
                )
            )
        except (aiosmtplib.SMTPException, OSError) as exc:  # timeouts and refused connections are OSErrors
            reason = f"{exc.code} {exc.message}" if isinstance(exc, aiosmtplib.SMTPResponseException) else exc
            error = f"relay {self.host}:{self.port}: {type(exc).__name__}: {reason}"
            if self.password:
                error = error.replace(self.password, "***")
            raise MailError(error) from None  # not chained: the original may quote what the relay was sent


def sender_from_settings(settings: Settings) -> MailSender | None:
    """The relay of ``TRUSTDESK_SMTP_*``; None when ``TRUSTDESK_SMTP_HOST`` is unset (mail stays queued)."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password
    return SmtpSender(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_user,
        password=password.get_secret_value() if password else None,
        security=settings.smtp_security,
    )


# --- sending -------------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, at most an hour."""
    return min(timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


def _due(session: Session, now: datetime, limit: int) -> list[str]:
    return list(
        session.scalars(
            select(OutboundMail.id)
            .where(OutboundMail.status == QUEUED, OutboundMail.next_attempt_at <= now)
            .order_by(OutboundMail.next_attempt_at, OutboundMail.id)
            .limit(limit)
        )
    )


def _claim(sessions: "sessionmaker[Session]", now: datetime, mail_id: str) -> OutboundMail | None:
    """Take one due mail for this process (committed at once); None when another process took it."""
    with unit_of_work(sessions) as session:
        due = OutboundMail.status == QUEUED, OutboundMail.next_attempt_at <= now
        claimed = session.execute(
            update(OutboundMail)
            .where(OutboundMail.id == mail_id, *due)
            .values(attempts=OutboundMail.attempts + 1, next_attempt_at=now + CLAIM)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.get_one(OutboundMail, mail_id)


def _audit(session: Session, clock: Clock, actor: Actor, action: AuditAction, mail: OutboundMail) -> None:
    """Who was mailed what about which request, when (never the body)."""
    fields = ("kind", "to", "message_id", "status", "request_id", "inbound_id", "attempts", "last_error")
    after = {name: getattr(mail, name) for name in fields}
    audit.record(
        session, clock, actor, action, subject_type="outbound_mail", subject_id=mail.id, data={"after": after}
    )


def _record(session: Session, clock: Clock, mail: OutboundMail, error: str | None) -> None:
    now = clock()
    if error is None:
        mail.status, mail.sent_at, mail.next_attempt_at, mail.last_error = SENT, now, None, None
        logger.info("mail %s (%s) sent at attempt %d", mail.id, mail.kind, mail.attempts)
        _audit(session, clock, Actor.system(), AuditAction.MAIL_SEND, mail)
        return
    mail.last_error = error
    if mail.attempts >= MAX_ATTEMPTS:
        mail.status, mail.next_attempt_at = FAILED, None
        logger.error("mail %s (%s) failed after %d attempts: %s", mail.id, mail.kind, mail.attempts, error)
        _audit(session, clock, Actor.system(), AuditAction.MAIL_FAIL, mail)
    else:
        mail.next_attempt_at = now + backoff(mail.attempts)
        logger.warning("mail %s (%s) not sent, attempt %d: %s", mail.id, mail.kind, mail.attempts, error)


def _send_one(
    sessions: "sessionmaker[Session]", clock: Clock, sender: MailSender, mail_from: str, mail_id: str
) -> bool:
    mail = _claim(sessions, clock(), mail_id)
    if mail is None:
        return False
    error = None
    try:
        sender.send(compose(mail, mail_from))
    except Exception as exc:  # noqa: BLE001 - whatever broke, the mail is retried and at last shown failed
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    with unit_of_work(sessions) as session:
        _record(session, clock, session.get_one(OutboundMail, mail_id), error)
    return error is None


def send_due(
    sessions: "sessionmaker[Session]", clock: Clock, sender: MailSender, mail_from: str, *, limit: int = 100
) -> int:
    """Send the mail that is due, oldest first, each in transactions of its own; the number sent."""
    with unit_of_work(sessions) as session:
        due = _due(session, clock(), limit)
    return sum(_send_one(sessions, clock, sender, mail_from, mail_id) for mail_id in due)


def retry(session: Session, clock: Clock, mail_id: str, actor: Actor | None = None) -> OutboundMail:
    """Queue a failed mail again, due now, with a full set of attempts (once its cause is fixed); audited
    as ``actor`` (default: the operator at the server's CLI)."""
    mail = session.get(OutboundMail, mail_id)
    if mail is None:
        raise NotFound(f"no outbound mail {mail_id}", code="mail_not_found")
    if mail.status != FAILED:
        raise Conflict(
            f"mail {mail_id} is {mail.status}: only failed mail is retried", code="mail_not_failed"
        )
    mail.status, mail.attempts, mail.next_attempt_at = QUEUED, 0, clock()
    session.flush()
    _audit(session, clock, actor or Actor.operator(), AuditAction.MAIL_RETRY, mail)
    return mail


def list_outbox(session: Session, *, status: str | None = None, limit: int = 200) -> list[OutboundMail]:
    """The outbox, newest first; only one status when given."""
    query = select(OutboundMail).order_by(OutboundMail.created_at.desc(), OutboundMail.id).limit(limit)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"the status is one of {', '.join(STATUSES)}", field="status")
        query = query.where(OutboundMail.status == status)
    return list(session.scalars(query))


# --- what is mailed ------------------------------------------------------------------------------------


def mail_correspondence(session: Session, clock: Clock, *, mail_from: str, portal_url: str) -> int:
    """Queue the mail of every message written to the authority of a request that came by e-mail or letter
    and not mailed yet: a question waiting, or an answer ready, in the portal, to the request's officer.
    The number queued. A message another process queued meanwhile is skipped (mailed once)."""
    rows = session.execute(
        select(
            Correspondence.id,
            Correspondence.kind,
            LawfulRequest.id,
            LawfulRequest.tracking_number,
            Officer.email,
        )
        .join(LawfulRequest, LawfulRequest.id == Correspondence.request_id)
        .join(Officer, Officer.id == LawfulRequest.officer_id)
        .outerjoin(OutboundMail, OutboundMail.correspondence_id == Correspondence.id)
        .where(
            Correspondence.direction == "to_authority",
            Correspondence.kind.in_(list(_MAILED)),
            LawfulRequest.channel.in_(MAILED_CHANNELS),
            OutboundMail.id.is_(None),
        )
        .order_by(Correspondence.created_at, Correspondence.id)
    ).all()
    queued = 0
    for correspondence_id, kind, request_id, tracking_number, officer_email in rows:
        mail_kind = _MAILED[kind]
        text = mail_texts.question_waiting if mail_kind == QUESTION else mail_texts.answer_ready
        subject, body = text(tracking_number, portal_url=portal_url)
        try:
            with session.begin_nested():
                queue(
                    session, clock, mail_from=mail_from, kind=mail_kind, to=officer_email, subject=subject,
                    body=body, request_id=request_id, correspondence_id=correspondence_id,
                )  # fmt: skip
        except IntegrityError:  # another process queued it first
            continue
        queued += 1
    return queued


def outbox_job(container: "Container") -> Callable[[], int]:
    """One round of the outbox for the serve loop: queue the file's new messages (one transaction), then
    send what is due when a relay is set. Without ``TRUSTDESK_SMTP_HOST`` mail stays queued. Returns the
    number sent."""
    settings = container.settings
    sender = sender_from_settings(settings)
    portal_url = public_url(settings)
    if sender is None:
        logger.info("TRUSTDESK_SMTP_HOST is unset: outgoing mail stays queued in the outbox")

    def outbox_round() -> int:
        with unit_of_work(container.sessions) as session:
            mail_correspondence(session, container.clock, mail_from=settings.mail_from, portal_url=portal_url)
        if sender is None:
            return 0
        return send_due(container.sessions, container.clock, sender, settings.mail_from)

    return outbox_round
