"""The in-process bus of the one-machine setup: handlers run synchronously, inside ``publish``.

Same API and semantics as the JetStream bus, kept simple: fan-out subscribers are called in subscription
order; each queue group gets the message once, handed to its members in turn; a failing group handler is
retried at once up to ``max_deliver`` times, then the message is dead-lettered (published to
``deadletter.<subject>`` and kept in `dead_letters`). Nothing is stored: a group only sees messages published
after it subscribed. `run` just waits for `stop`, since delivery already happened in ``publish``.
"""

import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from trustdesk.bus import codec
from trustdesk.bus.protocol import (
    BatchHandler,
    Delivery,
    Event,
    Handler,
    Payload,
    dead_letter_subject,
)
from trustdesk.bus.stopping import stop_on_signals
from trustdesk.bus.streams import STREAMS, StreamSpec, matches, stream_for

log = logging.getLogger(__name__)


@dataclass
class _Group:
    pattern: str
    name: str
    members: list[BatchHandler] = field(default_factory=list)
    turn: Iterator[int] = field(default_factory=itertools.count)


def single(handler: Handler) -> BatchHandler:
    """A batch handler calling ``handler`` once per message; a message whose call raises fails alone."""

    def handle(batch: Sequence[Delivery]) -> Mapping[int, BaseException] | None:
        failed: dict[int, BaseException] = {}
        for i, delivery in enumerate(batch):
            try:
                handler(delivery.subject, delivery.payload)
            except Exception as exc:  # noqa: BLE001 - the handler's failure is the message's outcome
                failed[i] = exc
        return failed or None

    return handle


class InProcessBus:
    def __init__(self, *, max_deliver: int = 5, streams: tuple[StreamSpec, ...] = STREAMS) -> None:
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        self.max_deliver = max_deliver
        self.streams = streams
        self.dead_letters: list[tuple[str, dict[str, str]]] = []
        self._handlers: list[tuple[str, Handler]] = []
        self._groups: dict[tuple[str, str], _Group] = {}
        self._lock = threading.Lock()
        self._stop_requested = False

    def publish(self, subject: str, payload: Payload, *, msg_id: str | None = None) -> None:
        del msg_id  # nothing is stored, so nothing repeats
        stream_for(subject, self.streams)
        data = codec.encode(payload)
        with self._lock:
            handlers = [h for pattern, h in self._handlers if matches(pattern, subject)]
            groups = [g for g in self._groups.values() if matches(g.pattern, subject)]
        for handler in handlers:
            try:
                handler(subject, codec.decode(data))
            except Exception:
                # The publisher's transaction is already committed; a failing consumer must not undo it.
                log.exception("handler %r failed on %s", handler, subject)
        for group in groups:
            self._deliver(group, subject, data)

    def publish_many(self, events: Iterable[Event]) -> None:
        for event in events:
            self.publish(event.subject, event.payload, msg_id=event.msg_id)

    def subscribe(self, subject: str, handler: Handler, *, group: str | None = None) -> None:
        if group is not None:
            self.subscribe_batch(subject, group, single(handler))
            return
        stream_for(subject, self.streams)
        with self._lock:
            self._handlers.append((subject, handler))

    def subscribe_batch(self, subject: str, group: str, handler: BatchHandler) -> None:
        stream_for(subject, self.streams)
        if not group:
            raise ValueError("a queue group needs a name")
        with self._lock:
            self._groups.setdefault((subject, group), _Group(subject, group)).members.append(handler)

    def _deliver(self, group: _Group, subject: str, data: bytes) -> None:
        member = group.members[next(group.turn) % len(group.members)]
        error: BaseException | None = None
        for attempt in range(1, self.max_deliver + 1):
            try:
                failed = member([Delivery(subject, codec.decode(data), attempt)])
            except Exception as exc:  # noqa: BLE001 - a failed batch is retried, then dead-lettered
                failed = {0: exc}
            if not failed:
                return
            error = failed.get(0) or next(iter(failed.values()))
            log.warning("group %s failed on %s (attempt %d): %s", group.name, subject, attempt, error)
        assert error is not None
        letter = codec.dead_letter_payload(
            subject=subject,
            group=group.name,
            error=codec.describe(error),
            attempts=self.max_deliver,
            data=data,
            where="in-process",
        )
        self.dead_letters.append((subject, letter))
        log.error(
            "group %s gave up on %s after %d attempts: %s", group.name, subject, self.max_deliver, error
        )
        self.publish(dead_letter_subject(subject), letter)

    def run(self, *, signals: Sequence[int] = ()) -> None:
        with stop_on_signals(signals, self.stop):
            while not self._stop_requested:
                time.sleep(0.05)
        self._stop_requested = False

    def stop(self) -> None:
        self._stop_requested = True

    def close(self) -> None:
        self.stop()
