"""What every bus implementation offers."""

from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

Payload = Mapping[str, str]
Handler = Callable[[str, Payload], None]


class Subject:
    """Subjects of the events Trustdesk publishes (``domain.subject.event``)."""

    REQUEST_RECEIVED = "lawful.request.received"
    DOCUMENT_ATTACHED = "lawful.document.attached"


@runtime_checkable
class EventBus(Protocol):
    def publish(self, subject: str, payload: Payload) -> None: ...

    def subscribe(self, subject: str, handler: Handler) -> None: ...
