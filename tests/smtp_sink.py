"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, for the tests of the desk's
outgoing mail. It can be told to refuse (``refuse = "451 …"`` answers DATA with that line) and to offer
AUTH, with an authenticator the test gives."""

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on (bound once by the system, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One message as the sink got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    refuse: str | None = None
    """An SMTP reply line (``451 4.3.0 …``, ``550 5.7.1 …``) DATA answers with instead of accepting."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd
        if self.refuse is not None:
            self.refused += 1
            return self.refuse
        raw = envelope.content.replace(b"\r\n", b"\n")  # the wire's line ends, as a mail store keeps them
        message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"


@dataclass
class SmtpSink:
    host: str
    port: int
    handler: SinkHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def running_sink(authenticator: Callable[..., Any] | None = None) -> Iterator[SmtpSink]:
    """A sink listening on 127.0.0.1 at a free port until the block ends; with ``authenticator`` it offers
    AUTH over the plain connection (a test relay: never do this elsewhere)."""
    handler = SinkHandler()
    port = free_port()
    extra: dict[str, Any] = {}
    if authenticator is not None:
        extra = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler)
    finally:
        controller.stop()
