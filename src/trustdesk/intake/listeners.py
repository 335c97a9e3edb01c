"""The mail intake inside `trustdesk serve`: the SMTP listener when ``TRUSTDESK_SMTP_LISTEN`` names where,
and the IMAP poller when ``TRUSTDESK_IMAP_HOST`` names a mailbox. `trustdesk mail listen` and `mail poll`
run the same parts alone (one process per role in a larger deployment)."""

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from trustdesk.intake import imap_poller, smtp_server

if TYPE_CHECKING:
    from trustdesk.app import Container

__all__ = ["handler_for", "listen_address", "start_mail_intake"]

log = logging.getLogger(__name__)


def listen_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:25`` for IPv6; checked by the settings) as a (host, port) pair."""
    host, _, port = value.strip().rpartition(":")
    return host.strip("[]"), int(port)


def handler_for(container: "Container") -> smtp_server.IntakeHandler:
    """The SMTP handler of this deployment: its channel directory's addresses, its arrivals."""
    return smtp_server.IntakeHandler(
        container.sessions,
        container.clock,
        container.channels.intake_addresses,
        container.settings.mail_max_bytes,
        container.arrivals,
    )


def start_mail_intake(container: "Container", stop: threading.Event) -> Callable[[], None]:
    """Start what the settings ask for; returns what stops it (the poller stops with ``stop``)."""
    stoppers: list[Callable[[], None]] = []
    settings = container.settings
    if settings.smtp_listen:
        host, port = listen_address(settings.smtp_listen)
        listener = smtp_server.controller(handler_for(container), host, port)
        listener.start()
        stoppers.append(listener.stop)
        log.info(
            "mail intake: SMTP on %s:%d for %s", host, port, ", ".join(container.channels.intake_addresses)
        )
    if settings.imap_host:
        box = imap_poller.Mailbox.from_settings(settings)
        threading.Thread(
            target=imap_poller.poll_forever,
            args=(
                container.sessions,
                container.clock,
                box,
                settings.imap_poll_seconds,
                stop,
                container.arrivals,
            ),
            name="mail-poller",
            daemon=True,
        ).start()
        log.info("mail intake: polling %s every %s s", settings.imap_host, settings.imap_poll_seconds)

    def stop_all() -> None:
        for stopper in stoppers:
            stopper()

    return stop_all
