"""The SMTP listener behind the platform's MX (aiosmtpd): mail for the desk's published addresses is stored
whole (``store.receive``) in its own unit of work, and only once that is committed does the sender's MTA get
its ``250``. A crash before the commit loses nothing: the MTA was not told the mail arrived, and retries.

Refused at the door, with nothing stored: a recipient that is not one of the channel directory's e-mail
addresses (550; ``trustdesk.intake.channels``), a message larger than ``TRUSTDESK_MAIL_MAX_BYTES`` (552;
the limit is advertised in EHLO as SIZE). A failure to store is a temporary error (451): the MTA keeps the
message and tries again.
"""

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.clock import Clock
from trustdesk.intake import store
from trustdesk.intake.authenticity import Lookup

if TYPE_CHECKING:
    from trustdesk.intake.arrivals import Arrivals

__all__ = ["IntakeHandler", "controller"]

log = logging.getLogger(__name__)


@dataclass
class IntakeHandler:
    """aiosmtpd's handler: RCPT checks the address, DATA stores the message and answers after the commit."""

    sessions: "sessionmaker[Session]"
    clock: Clock
    addresses: Iterable[str]
    max_bytes: int
    arrivals: "Arrivals"
    """Stores, triages and pages (``intake.arrivals``): the same for every channel."""
    dns: Lookup | None = None
    received: list[str] = field(default_factory=list)
    """The ids of the messages stored (for the operator's log and the tests)."""

    def __post_init__(self) -> None:
        self._addresses = frozenset(a.strip().lower() for a in self.addresses)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: Any,  # noqa: ARG002 - aiosmtpd's hook signature
        session: Any,  # noqa: ARG002
        envelope: Any,
        address: str,
        rcpt_options: list[str],  # noqa: ARG002
    ) -> str:
        if address.strip().lower() not in self._addresses:
            return f"550 5.1.1 <{address}>: no such address at this desk"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: Any,  # noqa: ARG002 - aiosmtpd's hook signature
        session: Any,
        envelope: Any,
    ) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        if len(raw) > self.max_bytes:
            return f"552 5.3.4 message larger than {self.max_bytes} bytes"
        peer = session.peer[0] if isinstance(session.peer, tuple) and session.peer else None
        facts = store.Envelope(client_ip=peer, helo=session.host_name)
        try:
            message_id = await asyncio.get_running_loop().run_in_executor(
                None, self._store, raw, envelope.mail_from, ", ".join(envelope.rcpt_tos), facts
            )
        except Exception:  # the MTA keeps the message and retries: nothing is lost
            log.exception("an inbound message could not be stored; answered 451")
            return "451 4.3.0 the message could not be stored now: try again later"
        self.received.append(message_id)
        return f"250 2.0.0 stored as {message_id}"

    def _store(self, raw: bytes, mail_from: str | None, recipient: str, facts: store.Envelope) -> str:
        """One unit of work per message: committed when this returns."""
        return self.arrivals.take(
            self.sessions, self.clock, raw, envelope_from=mail_from or None, recipient=recipient,
            envelope=facts, dns=self.dns,
        )  # fmt: skip


def controller(handler: IntakeHandler, host: str, port: int) -> Controller:
    """The listener (not started): ``.start()`` serves in a thread, ``.stop()`` ends it."""
    return Controller(
        handler, hostname=host, port=port, data_size_limit=handler.max_bytes, ident="Trustdesk intake"
    )
