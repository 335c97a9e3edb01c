"""What happens when a message arrives, whatever way it came (the SMTP listener, the IMAP poller, `trustdesk
mail receive`, the mailroom): stored whole and triaged in one unit of work (``store.receive`` then
``triage.on_arrival``: a reply attached, an acknowledgement or a "how to reach us" queued), and, once that
is committed, the person on call paged when it sounds like an emergency or came to the emergency address.

The page comes after the commit and in a unit of work of its own, as for the portal and the API: a failing
pager never loses the message, and the page is idempotent (an identical delivery received again, or an
IMAP re-fetch, is not paged twice).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from trustdesk.clock import Clock
from trustdesk.db import unit_of_work
from trustdesk.intake import store, triage
from trustdesk.intake.models import InboundMessage
from trustdesk.lawful.catalogue import Catalogue

if TYPE_CHECKING:
    from trustdesk.app import Container

__all__ = ["Arrivals", "arrivals_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arrivals:
    catalogue: Catalogue
    replies: triage.Replies
    emergency_addresses: frozenset[str] = frozenset()
    page: Callable[[str], object] | None = None
    """Pages the person on call about a stored message (its id); None: nobody is paged (a test)."""
    titles: list[tuple[str, str]] = field(default_factory=list)

    def urgent(self, message: InboundMessage) -> bool:
        """Whether the message sounds like an emergency or was sent to the emergency address."""
        if message.status != store.TRIAGE:
            return False
        recipients = {r.strip().lower() for r in (message.recipient or "").split(",")}
        return bool((message.extracted or {}).get("emergency")) or bool(recipients & self.emergency_addresses)

    def triage(self, session: Session, clock: Clock, message: InboundMessage) -> bool:
        """In the unit of work that stored ``message``: its triage at arrival; whether to page about it.

        Under a savepoint: whatever fails here (a hostile header the outbox refuses, a closed file) is rolled
        back alone and noted, and the message stays stored, in triage, for a person — a failure must never
        make the SMTP listener answer 451 for ever, nor the poller leave the mail unseen for ever."""
        try:
            with session.begin_nested():
                triage.on_arrival(session, clock, message, self.catalogue, self.replies)
        except Exception as exc:
            log.exception("triage at arrival of inbound message %s failed", message.id)
            failed = f"triage at arrival failed ({type(exc).__name__}): left in triage for a person"
            message.note = "; ".join(p for p in (message.note, failed) if p)
        return self.urgent(message)

    def after_commit(self, message_id: str, urgent: bool) -> None:
        """Page about a committed message that is urgent; a pager failure is logged (the page row says
        how it went, and the mailroom shows the message in any case)."""
        if not urgent or self.page is None:
            return
        try:
            self.page(message_id)
        except Exception:
            log.exception("paging about inbound message %s failed", message_id)

    def take(self, sessions: "sessionmaker[Session]", clock: Clock, raw: bytes, **receive: Any) -> str:
        """Store, triage and commit one e-mail (``store.receive``'s keywords), then page if it is urgent;
        the message's id."""
        with unit_of_work(sessions) as session:
            message = store.receive(session, clock, raw, channel=store.EMAIL, titles=self.titles, **receive)
            urgent = self.triage(session, clock, message)
            message_id = message.id
        self.after_commit(message_id, urgent)
        return message_id


def arrivals_for(container: "Container") -> Arrivals:
    """The arrivals of this deployment: its channel directory, From:, portal and pager."""
    from trustdesk.config import public_url
    from trustdesk.oncall import paging

    directory = container.channels
    addresses = frozenset(directory.intake_addresses)
    return Arrivals(
        catalogue=container.catalogue,
        replies=triage.Replies(
            mail_from=container.settings.mail_from,
            portal_url=public_url(container.settings),
            channels=tuple(directory.lines()),
            own_addresses=addresses,
        ),
        emergency_addresses=frozenset(a for a in addresses if directory.is_emergency_address(a)),
        page=lambda message_id: paging.page_inbound_on_arrival(container, message_id),
        titles=store.catalogue_titles(container.catalogue),
    )
