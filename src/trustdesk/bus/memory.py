"""The in-process bus of the one-machine setup: handlers run synchronously, in subscription order."""

import logging
from collections import defaultdict

from trustdesk.bus.protocol import Handler, Payload

log = logging.getLogger(__name__)


class InProcessBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)

    def publish(self, subject: str, payload: Payload) -> None:
        for handler in list(self._handlers[subject]):
            try:
                handler(subject, dict(payload))
            except Exception:
                # The publisher's transaction is already committed; a failing consumer must not undo it.
                log.exception("handler %r failed on %s", handler, subject)

    def subscribe(self, subject: str, handler: Handler) -> None:
        self._handlers[subject].append(handler)
