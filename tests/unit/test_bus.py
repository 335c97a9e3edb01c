"""The bus contract, run over every implementation: the in-process bus and NATS JetStream.

The JetStream bus runs against the session's own nats-server (`tests.nats`), each test on streams of its
own prefix; without nats-server those cases skip (fail under ``TRUSTDESK_REQUIRE_NATS=1``). Delivery on
JetStream is asynchronous, hence `eventually`; queue groups are served while `running`.
"""

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import pytest

from tests.nats import shared_nats_server, unique_prefix
from trustdesk.bus.jetstream import JetStreamBus
from trustdesk.bus.memory import InProcessBus
from trustdesk.bus.protocol import Delivery, Event, EventBus, Payload, UnknownSubject
from trustdesk.bus.streams import MIB, STREAMS, capped, covers, stream_for

MAX_DELIVER = 3
MAX_IN_FLIGHT = 5


def in_process() -> EventBus:
    return InProcessBus(max_deliver=MAX_DELIVER)


def jetstream() -> EventBus:
    return JetStreamBus(
        shared_nats_server().url,
        prefix=unique_prefix(),
        max_deliver=MAX_DELIVER,
        ack_wait=5,
        backoff=(0.05, 0.1),
        max_in_flight=MAX_IN_FLIGHT,
        fetch_wait=0.1,
        streams=capped(STREAMS, 8 * MIB),  # the store reserves each stream's limit; tests make many
    )


BUSES: list[Callable[[], EventBus]] = [in_process, jetstream]


@pytest.fixture(params=BUSES, ids=lambda factory: factory.__name__)
def bus(request: pytest.FixtureRequest) -> Iterator[EventBus]:
    made: EventBus = request.param()
    assert isinstance(made, EventBus)
    yield made
    made.close()


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def settled() -> None:
    """Long enough for a stray (wrong) delivery to show up."""
    time.sleep(0.3)


@contextmanager
def running(bus: EventBus) -> Iterator[None]:
    """Serve the bus's queue groups in a thread while inside."""
    thread = threading.Thread(target=bus.run)
    thread.start()
    try:
        yield
    finally:
        bus.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "run() did not return after stop()"


# -- fan-out ---------------------------------------------------------------------------------------------


def test_subscribers_receive_events_of_their_subject_in_order(bus: EventBus) -> None:
    seen: list[tuple[str, Payload]] = []
    bus.subscribe("lawful.request.received", lambda s, p: seen.append((s, p)))
    bus.subscribe("lawful.other.subject", lambda s, p: seen.append(("wrong", p)))

    for i in range(20):
        bus.publish("lawful.request.received", {"request_id": f"r{i}"})

    expected = [("lawful.request.received", {"request_id": f"r{i}"}) for i in range(20)]
    eventually(lambda: len(seen) >= 20)
    settled()
    assert seen == expected


def test_every_subscriber_gets_every_message_and_wildcards_match(bus: EventBus) -> None:
    first: list[str] = []
    second: list[str] = []
    bus.subscribe("safety.bank.changed", lambda _, p: first.append(p["bank"]))
    bus.subscribe("safety.bank.>", lambda s, p: second.append(f"{s}:{p['bank']}"))

    bus.publish("safety.bank.changed", {"bank": "b1"})
    bus.publish("safety.bank.deleted", {"bank": "b2"})

    eventually(lambda: len(first) == 1 and len(second) == 2)
    assert first == ["b1"]
    assert second == ["safety.bank.changed:b1", "safety.bank.deleted:b2"]


def test_a_failing_subscriber_neither_breaks_the_publisher_nor_the_others(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken(_: str, __: Payload) -> None:
        raise RuntimeError("consumer bug")

    bus.subscribe("lawful.s", broken)
    bus.subscribe("lawful.s", lambda _, p: seen.append(p["id"]))
    bus.publish("lawful.s", {"id": "1"})

    eventually(lambda: seen == ["1"] and "consumer bug" in caplog.text)


def test_payloads_are_copies(bus: EventBus) -> None:
    payload = {"id": "1"}
    received: list[Payload] = []
    bus.subscribe("lawful.s", lambda _, p: received.append(p))
    bus.publish("lawful.s", payload)
    payload["id"] = "changed"
    eventually(lambda: received == [{"id": "1"}])


def test_subjects_outside_every_stream_and_payloads_of_non_strings_are_refused(bus: EventBus) -> None:
    with pytest.raises(UnknownSubject, match=r"'nowhere\.s' belongs to no stream"):
        bus.publish("nowhere.s", {"id": "1"})
    with pytest.raises(UnknownSubject):
        bus.subscribe("nowhere.>", lambda _, __: None)
    with pytest.raises(UnknownSubject):
        bus.subscribe("nowhere.s", lambda _, __: None, group="g")
    with pytest.raises(TypeError, match="str to str"):
        bus.publish("lawful.s", {"id": 1})  # type: ignore[dict-item]


# -- queue groups ----------------------------------------------------------------------------------------


def test_a_queue_group_shares_the_messages_each_handled_exactly_once(bus: EventBus) -> None:
    handled: dict[str, list[str]] = {"a": [], "b": []}
    fanned: list[str] = []

    def member(name: str) -> Callable[[str, Payload], None]:
        def handle(_: str, p: Payload) -> None:
            handled[name].append(p["id"])
            time.sleep(0.002)  # let the other member take its share

        return handle

    bus.subscribe("content.text", member("a"), group="scanner")
    bus.subscribe("content.text", member("b"), group="scanner")
    bus.subscribe("content.text", lambda _, p: fanned.append(p["id"]))
    with running(bus):
        bus.publish_many(Event("content.text", {"id": str(i)}) for i in range(60))
        eventually(lambda: len(handled["a"]) + len(handled["b"]) >= 60)
        settled()

    both = handled["a"] + handled["b"]
    assert sorted(both, key=int) == [str(i) for i in range(60)]  # each exactly once
    assert handled["a"]
    assert handled["b"]
    assert sorted(fanned, key=int) == [str(i) for i in range(60)]  # fan-out still sees all


def test_one_member_gets_a_subjects_messages_in_order(bus: EventBus) -> None:
    seen: list[str] = []
    bus.subscribe("content.>", lambda _, p: seen.append(p["id"]), group="ordered")
    with running(bus):
        for i in range(30):
            bus.publish("content.image", {"id": str(i)})
        eventually(lambda: len(seen) >= 30)
    assert seen == [str(i) for i in range(30)]


def test_two_groups_each_get_every_message(bus: EventBus) -> None:
    scanner: list[str] = []
    archive: list[str] = []
    bus.subscribe("safety.signal.>", lambda _, p: scanner.append(p["id"]), group="scanner")
    bus.subscribe("safety.signal.>", lambda _, p: archive.append(p["id"]), group="archive")
    with running(bus):
        bus.publish("safety.signal.hash", {"id": "1"})
        bus.publish("safety.signal.text", {"id": "2"})
        eventually(lambda: len(scanner) == 2 and len(archive) == 2)


def test_a_failing_group_handler_is_retried_then_dead_lettered_with_the_error(bus: EventBus) -> None:
    attempts: Counter[str] = Counter()
    handled: list[str] = []
    dead: list[tuple[str, Payload]] = []

    def handle(_: str, p: Payload) -> None:
        attempts[p["id"]] += 1
        if p["id"] == "poison":
            raise ValueError("cannot scan this")
        if p["id"] == "flaky" and attempts["flaky"] == 1:
            raise ConnectionError("try again")
        handled.append(p["id"])

    bus.subscribe("deadletter.>", lambda s, p: dead.append((s, p)))
    bus.subscribe("content.file", handle, group="scanner")
    with running(bus):
        for key in ("ok", "poison", "flaky"):
            bus.publish("content.file", {"id": key})
        eventually(lambda: len(dead) == 1 and sorted(handled) == ["flaky", "ok"])
        settled()

    assert attempts == {"ok": 1, "poison": MAX_DELIVER, "flaky": 2}
    [(subject, letter)] = dead
    assert subject == "deadletter.content.file"
    assert letter["subject"] == "content.file"
    assert letter["group"] == "scanner"
    assert letter["error"] == "ValueError: cannot scan this"
    assert letter["attempts"] == str(MAX_DELIVER)
    assert letter["payload"] == '{"id":"poison"}'


def test_a_batch_handler_gets_bounded_batches_and_fails_messages_one_by_one(bus: EventBus) -> None:
    batches: list[list[str]] = []
    attempts: list[tuple[str, int]] = []
    done: list[str] = []

    def handle(batch: Sequence[Delivery]) -> Mapping[int, BaseException] | None:
        batches.append([d.payload["id"] for d in batch])
        failed: dict[int, BaseException] = {}
        for i, d in enumerate(batch):
            attempts.append((d.payload["id"], d.attempt))
            if d.payload["id"] == "7" and d.attempt == 1:
                failed[i] = RuntimeError("once")
            else:
                done.append(d.payload["id"])
        return failed

    bus.subscribe_batch("content.video", "batcher", handle)
    with running(bus):
        bus.publish_many(Event("content.video", {"id": str(i)}) for i in range(23))
        eventually(lambda: len(done) >= 23)
        settled()

    assert sorted(done, key=int) == [str(i) for i in range(23)]
    assert all(len(b) <= MAX_IN_FLIGHT for b in batches)
    assert ("7", 1) in attempts
    assert ("7", 2) in attempts
    assert sum(1 for key, _ in attempts if key != "7") == 22  # the others are not redelivered


def test_a_raising_batch_handler_fails_the_whole_batch(bus: EventBus) -> None:
    calls: list[list[tuple[str, int]]] = []

    def handle(batch: Sequence[Delivery]) -> None:
        calls.append([(d.payload["id"], d.attempt) for d in batch])
        if batch[0].attempt == 1:
            raise RuntimeError("database down")

    bus.subscribe_batch("safety.action.remove", "enforcer", handle)
    with running(bus):
        bus.publish("safety.action.remove", {"id": "1"})
        eventually(lambda: [a for c in calls for a in c] == [("1", 1), ("1", 2)])


def test_run_stops_on_a_signal_in_the_main_thread(bus: EventBus) -> None:
    bus.subscribe("content.text", lambda _, __: None, group="stopper")
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.start()
    started = time.monotonic()
    bus.run(signals=[signal.SIGUSR1])
    timer.join()
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # the previous handler is back


# -- the stream map (pure) ----------------------------------------------------------------------------------


def test_every_subject_pattern_belongs_to_exactly_one_stream() -> None:
    patterns = [(spec.name, p) for spec in STREAMS for p in spec.subjects]
    for name, pattern in patterns:
        assert stream_for(pattern).name == name
        for other_name, other in patterns:
            if other_name != name:
                assert not covers(other, pattern)
                assert not covers(pattern, other)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("content.>", "content.text", True),
        ("content.>", "content.image.png", True),
        ("content.>", "content", False),
        ("content.*", "content.text", True),
        ("content.*", "content.text.x", False),
        ("content.*", "content.>", False),
        ("content.>", "content.*", True),
        ("content.text", "content.*", False),
        ("lawful.request.received", "lawful.request.received", True),
    ],
)
def test_subject_patterns(pattern: str, subject: str, expected: bool) -> None:
    assert covers(pattern, subject) is expected
