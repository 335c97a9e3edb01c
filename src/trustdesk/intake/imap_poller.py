"""The mailbox poller, for deployments whose own mail server receives the desk's mail: every unseen message
of the folder is fetched *without* marking it seen (``BODY.PEEK[]``; a plain ``RFC822`` fetch would set
``\\Seen`` before the message is safe), stored by ``store.receive`` in its own unit of work, and flagged
``\\Seen`` only after that commit. At least once: a crash between the commit and the flag fetches the message
again on the next round, and ``receive`` returns the message already stored for identical bytes.

The mailbox's arrival time (INTERNALDATE) is the message's ``received_at``. No SMTP client address is known
here, so SPF is not checked; DKIM and DMARC are (docs/mail-intake.md).
"""

import imaplib
import logging
import re
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from trustdesk.clock import Clock
from trustdesk.config import Settings
from trustdesk.intake.authenticity import Lookup

if TYPE_CHECKING:
    from trustdesk.intake.arrivals import Arrivals

__all__ = ["Mailbox", "PollResult", "poll_forever", "poll_once"]

log = logging.getLogger(__name__)
MAX_PER_ROUND = 200


class MailboxError(RuntimeError):
    """The mailbox refused the login, the folder or a command."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    use_ssl: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> "Mailbox":
        if not (settings.imap_host and settings.imap_user and settings.imap_password):
            raise MailboxError("set TRUSTDESK_IMAP_HOST, TRUSTDESK_IMAP_USER and TRUSTDESK_IMAP_PASSWORD")
        return cls(
            settings.imap_host, settings.imap_port, settings.imap_user,
            settings.imap_password.get_secret_value(), settings.imap_folder, settings.imap_ssl,
        )  # fmt: skip


@dataclass
class PollResult:
    stored: list[str] = field(default_factory=list)
    """The ids of the messages stored (or found already stored) and flagged seen this round."""
    failed: int = 0
    """Messages left unseen for the next round (stored nowhere: they are fetched again)."""


def _ok(answer: tuple[str, Sequence[object]], what: str) -> list[object]:
    typ, data = answer
    if typ != "OK":
        raise MailboxError(f"{what}: {typ} {data!r}")
    return list(data)


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.use_ssl:
        return imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=30
        )
    return imaplib.IMAP4(mailbox.host, mailbox.port, timeout=30)


def _arrival(header: bytes) -> datetime | None:
    match = re.search(rb'INTERNALDATE "([^"]+)"', header)
    if not match:
        return None
    parsed = imaplib.Internaldate2tuple(b'INTERNALDATE "' + match.group(1) + b'"')
    return datetime.fromtimestamp(time.mktime(parsed), UTC) if parsed else None


def _fetched(data: list[object]) -> tuple[bytes, datetime | None] | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            head = item[0] if isinstance(item[0], bytes) else b""
            return item[1], _arrival(head)
    return None


def poll_once(
    sessions: "sessionmaker[Session]",
    clock: Clock,
    mailbox: Mailbox,
    arrivals: "Arrivals",
    *,
    dns: Lookup | None = None,
) -> PollResult:
    """One round: store and flag every unseen message of the folder (at most ``MAX_PER_ROUND``)."""
    result = PollResult()
    imap = _connect(mailbox)
    try:
        _ok(imap.login(mailbox.user, mailbox.password), "LOGIN")
        _ok(imap.select(mailbox.folder), f"SELECT {mailbox.folder}")
        (found,) = _ok(imap.search(None, "UNSEEN"), "SEARCH UNSEEN")[:1] or [b""]
        numbers = found.split() if isinstance(found, bytes) else []
        for number in numbers[:MAX_PER_ROUND]:
            num = number.decode()
            fetched = _fetched(_ok(imap.fetch(num, "(INTERNALDATE BODY.PEEK[])"), f"FETCH {num}"))
            if fetched is None:
                result.failed += 1
                continue
            raw, arrived = fetched
            try:
                message_id = arrivals.take(sessions, clock, raw, received_at=arrived, dns=dns)
            except Exception:  # left unseen: the next round fetches it again
                log.exception("message %s of %s could not be stored; left unseen", num, mailbox.folder)
                result.failed += 1
                continue
            _ok(imap.store(num, "+FLAGS", "(\\Seen)"), f"STORE {num}")  # only after the commit
            result.stored.append(message_id)
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            log.warning("the IMAP logout failed", exc_info=True)
    return result


def poll_forever(
    sessions: "sessionmaker[Session]",
    clock: Clock,
    mailbox: Mailbox,
    interval: float,
    stop: threading.Event,
    arrivals: "Arrivals",
    *,
    dns: Lookup | None = None,
) -> None:
    """Poll every ``interval`` seconds until ``stop`` is set; a failed round is logged and retried."""
    while not stop.is_set():
        try:
            done = poll_once(sessions, clock, mailbox, arrivals, dns=dns)
            if done.stored or done.failed:
                log.info(
                    "mailbox %s: %d stored, %d left for later", mailbox.folder, len(done.stored), done.failed
                )
        except (MailboxError, imaplib.IMAP4.error, OSError):
            log.exception("the mailbox round failed; retrying in %s s", interval)
        stop.wait(interval)
