"""Paging the person on call when an emergency request arrives, and escalating when nobody acknowledges.

- `page_emergency`: an emergency request (any channel) pages position 0 of the shifts covering now. A
  delivery that fails is recorded (``failed``, with the error) and escalates at once to the next
  position; when nobody is (left) on call, the fallback channel is paged (a page with ``user_id`` None,
  audited as ``oncall:page:fallback``). Idempotent per request: a request already paged is not paged again
  (the arrival handler is retried by the bus when the platform fails).
- `acknowledge`: the paged person, or anyone of the legal desk (``staff:request:read``), takes it; no page
  of that request escalates afterwards.
- `escalate_due` / `escalation_job`: a page still ``sent`` after ``after`` is marked ``escalated`` and the
  next person on call is paged (level + 1); after the last backup, the fallback, and then it stops.

Delivery is **at least once, never silently lost**: a pager is called before the page row commits and
without any lock held (rows are written after the calls); a page is only recorded ``escalated`` by the one
process whose conditional update wins, so two escalators running at once can at worst send one duplicate
page, never record one twice. Every page, escalation and acknowledgement is an audit event on the request
(``lawful_request``), so the request's audit timeline shows them. Services never commit: the caller owns
the unit of work (`page_on_arrival` and `escalation_job` are the entry points that do).
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import new_id
from trustdesk.clock import Clock
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, NotFound
from trustdesk.intake.models import InboundMessage
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.notifiers import NotifierError, SignedWebhook
from trustdesk.oncall import rota
from trustdesk.oncall.models import Page
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission

if TYPE_CHECKING:
    from trustdesk.app import Container
    from trustdesk.config import Settings

__all__ = [
    "ACKNOWLEDGED",
    "ESCALATED",
    "FAILED",
    "SENT",
    "LogPager",
    "PageMessage",
    "Paged",
    "Pager",
    "PagerError",
    "WebhookPager",
    "acknowledge",
    "escalate_due",
    "escalate_page",
    "escalation_job",
    "page_emergency",
    "page_inbound",
    "page_inbound_on_arrival",
    "page_on_arrival",
    "pager_from_settings",
    "pages_of",
    "pages_of_inbound",
]

logger = logging.getLogger("trustdesk.oncall")

SENT, FAILED, ACKNOWLEDGED, ESCALATED = "sent", "failed", "acknowledged", "escalated"
SUBJECT, INBOUND_SUBJECT = "lawful_request", "inbound_message"
MAX_ERROR = 1000


class PagerError(Exception):
    """A page could not be delivered."""


@dataclass(frozen=True)
class Paged:
    """What a page is about: an emergency request, or an e-mail or letter in triage that sounds like one
    (``request_id`` None; its tracking number, if it was given one, and ``instrument`` "unknown")."""

    request_id: str | None
    inbound_id: str | None
    tracking_number: str
    instrument: str
    received_at: datetime
    due_at: datetime | None

    @classmethod
    def request(cls, request: LawfulRequest) -> "Paged":
        return cls(request.id, None, request.tracking_number, request.instrument.value, request.received_at,
                   request.due_at)  # fmt: skip

    @classmethod
    def inbound(cls, message: InboundMessage) -> "Paged":
        return cls(None, message.id, message.tracking_number or "", "unknown", message.received_at, None)


@dataclass(frozen=True)
class PageMessage:
    """One page as a pager sees it: plain values, no ORM object. ``to_email`` None: the fallback (nobody
    on call, or nobody left). ``tracking_number`` is "" for a message in triage that has none yet."""

    page_id: str
    request_id: str | None
    tracking_number: str
    instrument: str
    level: int
    to_email: str | None
    to_name: str | None
    received_at: datetime
    due_at: datetime | None
    inbound_id: str | None = None

    @property
    def fallback(self) -> bool:
        return self.to_email is None

    @property
    def console_path(self) -> str:
        if self.request_id is not None:
            return f"/console/requests/{self.tracking_number}"
        return f"/console/mailroom#inbound-{self.inbound_id}"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "oncall_page",
            "page_id": self.page_id,
            "request_id": self.request_id,
            "inbound_id": self.inbound_id,
            "tracking_number": self.tracking_number,
            "instrument": self.instrument,
            "emergency": True,
            "level": self.level,
            "fallback": self.fallback,
            "to": None if self.to_email is None else {"email": self.to_email, "name": self.to_name},
            "received_at": self.received_at.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "console_path": self.console_path,
        }


@runtime_checkable
class Pager(Protocol):
    channel: str
    """What `Page.channel` records: ``webhook``, ``email`` or ``log``."""

    def send(self, message: PageMessage) -> None:
        """Deliver one page; raise `PagerError` when it could not be delivered."""
        ...


class LogPager:
    """One ERROR line per page on the ``trustdesk.pages`` logger (the log is watched by the operator)."""

    channel = "log"

    def __init__(self, logger_: logging.Logger | None = None) -> None:
        self.logger = logger_ or logging.getLogger("trustdesk.pages")

    def send(self, message: PageMessage) -> None:
        who = "FALLBACK (nobody on call)" if message.fallback else f"{message.to_name} <{message.to_email}>"
        self.logger.error(
            "emergency page level %d to %s: %s %s, received %s",
            message.level,
            who,
            message.tracking_number or f"message {message.inbound_id} in triage",
            message.instrument,
            message.received_at.isoformat(),
        )

    def __repr__(self) -> str:
        return f"LogPager({self.logger.name})"


class WebhookPager:
    """POSTs each page as JSON (`PageMessage.as_dict`) to ``url``, signed like the deadline alerts
    (``X-Trustdesk-Signature: sha256=<HMAC>``, `trustdesk.lawful.notifiers.sign`) when given a secret.
    Anything but a 2xx answer (a redirect included), a timeout or a network error raises `PagerError`;
    errors name only the scheme, host and port (webhook paths often embed a token)."""

    channel = "webhook"

    def __init__(self, url: str, *, secret: str | None = None, timeout: float = 5.0) -> None:
        self.webhook = SignedWebhook(url, secret=secret, timeout=timeout, agent="trustdesk-oncall")
        self.url, self.target, self.timeout = url, self.webhook.target, timeout

    def __repr__(self) -> str:
        return f"WebhookPager({self.target}, signed={self.webhook.signed})"

    def body(self, message: PageMessage) -> bytes:
        return self.webhook.body(message.as_dict())

    def send(self, message: PageMessage) -> None:
        try:
            self.webhook.post(message.as_dict(), f"page {message.page_id} on {message.tracking_number}")
        except NotifierError as exc:
            raise PagerError(str(exc)) from None


def pager_from_settings(settings: "Settings") -> Pager:
    """The alert webhook (signed with its secret) when one is set, else e-mail through the desk's relay when
    one is set (the fallback page to ``TRUSTDESK_ONCALL_FALLBACK_EMAIL``), else the log."""
    if settings.alert_webhook_url:
        secret = settings.alert_webhook_secret
        return WebhookPager(settings.alert_webhook_url, secret=secret.get_secret_value() if secret else None)
    from trustdesk.config import public_url
    from trustdesk.intake.outbound import sender_from_settings
    from trustdesk.oncall.email_pager import EmailPager

    sender = sender_from_settings(settings)
    if sender is None:
        return LogPager()
    return EmailPager(
        sender,
        mail_from=settings.mail_from,
        console_url=public_url(settings),
        fallback_to=settings.oncall_fallback_email,
    )


# --- paging ------------------------------------------------------------------------------------------


def _deliver(clock: Clock, pager: Pager, about: Paged, user: StaffUser | None, level: int) -> Page:
    """Call the pager once; the page (not yet in the session) says how it went."""
    page = Page(
        id=new_id(),
        request_id=about.request_id,
        inbound_id=about.inbound_id,
        user_id=None if user is None else user.id,
        level=level,
        channel=pager.channel,
        paged_at=clock(),
    )
    message = PageMessage(
        page_id=page.id,
        request_id=about.request_id,
        tracking_number=about.tracking_number,
        instrument=about.instrument,
        level=level,
        to_email=None if user is None else user.email,
        to_name=None if user is None else user.name,
        received_at=about.received_at,
        due_at=about.due_at,
        inbound_id=about.inbound_id,
    )
    try:
        pager.send(message)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the page is recorded failed and escalates
        page.status, page.error = FAILED, f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        logger.error(
            "page %s on %s failed: %s", page.id, about.tracking_number or about.inbound_id, page.error
        )
    else:
        page.status = SENT
    return page


def _chain(
    clock: Clock,
    about: Paged,
    pager: Pager,
    fallback: Pager,
    people: Iterable[StaffUser],
    level: int,
) -> list[Page]:
    """Page ``people`` in order until one delivery succeeds (each failure escalates at once); the
    fallback when none is left. No database write here: rows are written by `_record` afterwards."""
    pages: list[Page] = []
    for user in people:
        page = _deliver(clock, pager, about, user, level)
        pages.append(page)
        if page.status == SENT:
            return pages
        page.escalated_at = clock()
        level += 1
    pages.append(_deliver(clock, fallback, about, None, level))
    return pages


def _view(page: Page) -> dict[str, object]:
    return {
        "page_id": page.id,
        "level": page.level,
        "user_id": page.user_id,
        "channel": page.channel,
        "status": page.status,
        "error": page.error,
    }


def _subject(page: Page) -> tuple[str, str]:
    """What a page's audit events are about: its request, or the message in triage it was sent about."""
    if page.request_id is not None:
        return SUBJECT, page.request_id
    assert page.inbound_id is not None
    return INBOUND_SUBJECT, page.inbound_id


def _same_subject(page: Page) -> ColumnElement[bool]:
    """The pages about the same emergency as ``page``."""
    if page.request_id is not None:
        return Page.request_id == page.request_id
    return Page.inbound_id == page.inbound_id


def _record(session: Session, clock: Clock, pages: list[Page]) -> None:
    for page in pages:
        session.add(page)
        session.flush()
        fallback = page.user_id is None
        audit.record(
            session,
            clock,
            Actor.system(),
            AuditAction.ONCALL_PAGE_FALLBACK if fallback else AuditAction.ONCALL_PAGE_SEND,
            subject_type=_subject(page)[0],
            subject_id=_subject(page)[1],
            data={"after": _view(page) | ({"reason": "nobody on call"} if fallback else {})},
        )
        if page.escalated_at is not None:
            _audit_escalation(session, clock, page, "delivery_failed")


def _audit_escalation(session: Session, clock: Clock, page: Page, reason: str) -> None:
    audit.record(
        session,
        clock,
        Actor.system(),
        AuditAction.ONCALL_PAGE_ESCALATE,
        subject_type=_subject(page)[0],
        subject_id=_subject(page)[1],
        data={"after": {"page_id": page.id, "level": page.level, "reason": reason}},
    )


def _people(session: Session, at: datetime, skip: set[str]) -> list[StaffUser]:
    """Who is on call at ``at``, in paging order, once each, without those in ``skip``."""
    order: list[StaffUser] = []
    for shift in rota.on_call(session, at):
        if shift.user_id in skip:
            continue
        skip.add(shift.user_id)
        order.append(session.get_one(StaffUser, shift.user_id))
    return order


def page_emergency(
    session: Session, clock: Clock, request: LawfulRequest, pager: Pager, *, fallback: Pager | None = None
) -> list[Page]:
    """Page the person on call about an emergency ``request``; the pages recorded (none for a request
    that is not an emergency, or was paged already). ``fallback`` defaults to ``pager``."""
    if not request.emergency:
        return []
    if session.scalar(select(Page.id).where(Page.request_id == request.id).limit(1)) is not None:
        return []
    people = _people(session, clock(), set())
    pages = _chain(clock, Paged.request(request), pager, fallback or pager, people, 0)
    _record(session, clock, pages)
    return pages


def page_inbound(
    session: Session, clock: Clock, message: InboundMessage, pager: Pager, *, fallback: Pager | None = None
) -> list[Page]:
    """Page the person on call about an e-mail or letter in triage that sounds like an emergency (or came to
    the emergency address): at 3 a.m. nobody else reads the mailroom. Once per message; its pages become
    the request's when triage records it."""
    if session.scalar(select(Page.id).where(Page.inbound_id == message.id).limit(1)) is not None:
        return []
    pages = _chain(
        clock, Paged.inbound(message), pager, fallback or pager, _people(session, clock(), set()), 0
    )
    _record(session, clock, pages)
    return pages


def pages_of(session: Session, request_id: str) -> list[Page]:
    """The pages of one request, in the order they were sent."""
    return list(
        session.scalars(
            select(Page).where(Page.request_id == request_id).order_by(Page.level, Page.paged_at, Page.id)
        )
    )


def pages_of_inbound(session: Session, inbound_id: str) -> list[Page]:
    """The pages sent about one message in triage."""
    return list(
        session.scalars(
            select(Page).where(Page.inbound_id == inbound_id).order_by(Page.level, Page.paged_at, Page.id)
        )
    )


def _acknowledged(session: Session, page: Page) -> bool:
    found = select(Page.id).where(_same_subject(page), Page.status == ACKNOWLEDGED).limit(1)
    return session.scalar(found) is not None


def acknowledge(session: Session, clock: Clock, user: StaffUser, page_id: str) -> Page:
    """``user`` takes the emergency: the paged person, or anyone of the legal desk
    (``staff:request:read``). No page of the request escalates afterwards."""
    page = session.get(Page, page_id)
    if page is None:
        raise NotFound(f"no page {page_id}", code="page_not_found")
    if page.user_id != user.id or not user.active:
        staff.require(user, Permission.STAFF_REQUEST_READ)
    if page.status == ACKNOWLEDGED:
        raise Conflict("this page was already acknowledged", code="page_acknowledged")
    changed = session.execute(
        update(Page)
        .where(Page.id == page.id, Page.status != ACKNOWLEDGED)
        .values(status=ACKNOWLEDGED, acknowledged_at=clock())
        .execution_options(synchronize_session="fetch")
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this page was already acknowledged", code="page_acknowledged")
    session.refresh(page)
    audit.record(
        session,
        clock,
        Actor(ActorKind.STAFF, user.id),
        AuditAction.ONCALL_PAGE_ACKNOWLEDGE,
        subject_type=_subject(page)[0],
        subject_id=_subject(page)[1],
        data={"after": {"page_id": page.id, "level": page.level, "paged_user_id": page.user_id}},
    )
    return page


# --- escalation --------------------------------------------------------------------------------------


def due_pages(session: Session, clock: Clock, after: timedelta) -> list[str]:
    """The ids of the pages to a person still unacknowledged ``after`` they were sent, oldest first."""
    cutoff = clock() - after
    return list(
        session.scalars(
            select(Page.id)
            .where(Page.status == SENT, Page.user_id.is_not(None), Page.paged_at <= cutoff)
            .order_by(Page.paged_at, Page.id)
        )
    )


def escalate_page(
    session: Session, clock: Clock, pager: Pager, page_id: str, *, fallback: Pager | None = None
) -> list[Page]:
    """Escalate one unacknowledged page: the next person on call now (not paged yet for this request),
    or the fallback after the last backup. Nothing when the page is no longer ``sent`` or the request
    was acknowledged meanwhile. The pages recorded."""
    page = session.get(Page, page_id)
    if page is None or page.status != SENT or page.user_id is None:
        return []
    if _acknowledged(session, page):
        return []
    if page.request_id is not None:
        about = Paged.request(session.get_one(LawfulRequest, page.request_id))
    else:
        about = Paged.inbound(session.get_one(InboundMessage, page.inbound_id))
    paged = {p.user_id for p in session.scalars(select(Page).where(_same_subject(page))) if p.user_id}
    pages = _chain(clock, about, pager, fallback or pager, _people(session, clock(), paged), page.level + 1)
    claimed = session.execute(
        update(Page)
        .where(Page.id == page.id, Page.status == SENT)
        .values(status=ESCALATED, escalated_at=clock())
        .execution_options(synchronize_session="fetch")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        logger.warning("page %s was escalated by another process: %d page(s) sent twice", page.id, len(pages))
        return []
    session.refresh(page)
    _audit_escalation(session, clock, page, "not_acknowledged")
    _record(session, clock, pages)
    return pages


def escalate_due(
    session: Session, clock: Clock, pager: Pager, *, after: timedelta, fallback: Pager | None = None
) -> list[Page]:
    """Escalate every page unacknowledged for ``after`` (in the caller's unit of work); idempotent."""
    sent: list[Page] = []
    for page_id in due_pages(session, clock, after):
        sent += escalate_page(session, clock, pager, page_id, fallback=fallback)
    return sent


def escalation_job(container: "Container") -> Callable[[], int]:
    """One round of escalation for the serve loop (safe every round, on any number of processes): each due
    page in a unit of work of its own, so one failure does not hold back the others. Returns the number
    of pages sent."""
    after = timedelta(minutes=container.settings.oncall_escalate_minutes)

    def escalate_round() -> int:
        with unit_of_work(container.sessions) as session:
            due = due_pages(session, container.clock, after)
        sent = 0
        for page_id in due:
            try:
                with unit_of_work(container.sessions) as session:
                    sent += len(escalate_page(session, container.clock, container.pager, page_id))
            except Exception:  # logged; the next round tries again
                logger.exception("escalating page %s failed", page_id)
        return sent

    return escalate_round


def page_on_arrival(container: "Container", request_id: str) -> list[str]:
    """The arrival hook: page about the request in a unit of work of its own; the ids of the pages."""
    with unit_of_work(container.sessions) as session:
        request = session.get_one(LawfulRequest, request_id)
        return [p.id for p in page_emergency(session, container.clock, request, container.pager)]


def page_inbound_on_arrival(container: "Container", inbound_id: str) -> list[str]:
    """After an emergency-sounding message was stored (committed): page about it in a unit of work of its
    own; the ids of the pages."""
    with unit_of_work(container.sessions) as session:
        message = session.get_one(InboundMessage, inbound_id)
        return [p.id for p in page_inbound(session, container.clock, message, container.pager)]
