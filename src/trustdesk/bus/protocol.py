"""What every bus implementation offers.

Two ways to listen:

- ``subscribe(subject, handler)`` - **fan-out**: every subscriber (in every process) gets every message
  published after it subscribed. A failing handler is logged and forgotten. For notices such as "the banks
  changed, refresh your index".
- ``subscribe(subject, handler, group="scanner")`` / ``subscribe_batch(subject, group, handler)`` - a
  member of a **queue group**: the group is durable and shared by any number of members (processes), each
  message goes to one member. A handler that returns acknowledges the message; one that raises has it
  redelivered after a backoff, and after ``max_deliver`` attempts it goes to ``deadletter.<subject>`` (see
  `dead_letter_payload`) and is not delivered again. Delivery is at least once: make effects idempotent.

``run()`` serves the group subscriptions until ``stop()`` (safe to call from a signal handler), which
lets the message in hand finish. Subjects must belong to a stream of `trustdesk.bus.streams.STREAMS`.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

Payload = Mapping[str, str]
Handler = Callable[[str, Payload], None]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a batch handler."""

    subject: str
    payload: Payload
    attempt: int  # 1 on the first delivery, more on redeliveries


BatchHandler = Callable[[Sequence[Delivery]], Mapping[int, BaseException] | None]
"""Called with a batch (at most ``max_in_flight``); returns the failed ones (index -> error) or None.

Messages not listed are acknowledged; raising fails the whole batch.
"""


class Event(NamedTuple):
    """A message to publish; ``msg_id`` makes the publish idempotent (the bus drops repeats of an id)."""

    subject: str
    payload: Payload
    msg_id: str | None = None


class BusError(Exception):
    """The bus refused or failed an operation."""


class BusUnavailable(BusError):
    """The bus server cannot be reached (or did not confirm a publish in time)."""


class UnknownSubject(BusError, ValueError):
    """A subject outside every configured stream."""


class Subject:
    """Subjects of the events Trustdesk publishes (``domain.subject.event``)."""

    REQUEST_RECEIVED = "lawful.request.received"
    DOCUMENT_ATTACHED = "lawful.document.attached"
    CONTENT_POSTED = "content.posted"  # stream CONTENT: what the scanner consumes
    BANKS_CHANGED = "safety.bank.changed"  # fan-out: every matcher refreshes its index
    SIGNALS_RECORDED = "safety.signal.recorded"
    CASE_OPENED = "safety.case.opened"
    CONTENT_REMOVED = "safety.action.content_removed"


DEAD_LETTER_PREFIX = "deadletter."


def dead_letter_subject(subject: str) -> str:
    return DEAD_LETTER_PREFIX + subject


@runtime_checkable
class EventBus(Protocol):
    def publish(self, subject: str, payload: Payload, *, msg_id: str | None = None) -> None:
        """Publish; returns once the message is stored (durable on JetStream)."""

    def publish_many(self, events: Iterable[Event]) -> None:
        """Publish many messages at once; returns once all are stored."""

    def subscribe(self, subject: str, handler: Handler, *, group: str | None = None) -> None:
        """Fan-out without ``group``; a member of the durable queue group ``group`` with it."""

    def subscribe_batch(self, subject: str, group: str, handler: BatchHandler) -> None:
        """A member of the queue group ``group`` that handles messages a batch at a time."""

    def run(self, *, signals: Sequence[int] = ()) -> None:
        """Serve the group subscriptions until `stop` (or one of ``signals``, main thread only)."""

    def stop(self) -> None:
        """Ask `run` to return after the message in hand; safe in a signal handler."""

    def close(self) -> None:
        """Release connections and threads; the bus is unusable afterwards."""
