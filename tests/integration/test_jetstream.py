"""What only the JetStream bus does: durability, de-duplication, back-pressure, redelivery across processes.

Each test has a nats-server of its own (`tests.nats`), so it may stop, restart or starve it.
"""

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.nats import NatsServer, free_port, nats_or_skip, unique_prefix
from trustdesk.bus.jetstream import JetStreamBus
from trustdesk.bus.protocol import BusUnavailable, Event, Payload
from trustdesk.bus.streams import MIB, STREAMS, capped

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    started = nats_or_skip(tmp_path / "nats")
    yield started
    started.stop()


@pytest.fixture
def make_bus(server: NatsServer) -> Iterator[Callable[..., JetStreamBus]]:
    made: list[JetStreamBus] = []
    prefix = unique_prefix()

    def make(**options: object) -> JetStreamBus:
        settings: dict[str, object] = {
            "prefix": prefix,
            "ack_wait": 5.0,
            "backoff": (0.05,),
            "fetch_wait": 0.1,
            "connect_timeout": 2.0,
            "publish_timeout": 2.0,
            "streams": capped(STREAMS, 8 * MIB),
        }
        settings.update(options)
        bus = JetStreamBus(server.url, **settings)  # type: ignore[arg-type]
        made.append(bus)
        return bus

    yield make
    for bus in made:
        bus.close()


def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextmanager
def running(*buses: JetStreamBus) -> Iterator[None]:
    threads = [threading.Thread(target=bus.run) for bus in buses]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for bus in buses:
            bus.stop()
        for thread in threads:
            thread.join(timeout=10)
            assert not thread.is_alive()


def test_nothing_connects_before_first_use() -> None:
    bus = JetStreamBus(f"nats://127.0.0.1:{free_port()}")
    bus.close()  # never connected: nothing to wait for


def test_publishing_without_a_server_raises_bus_unavailable_with_the_address() -> None:
    url = f"nats://user:secret@127.0.0.1:{free_port()}"
    bus = JetStreamBus(url, connect_timeout=0.5)
    try:
        with pytest.raises(
            BusUnavailable, match=r"cannot reach NATS at nats://\*\*\*@127\.0\.0\.1:\d+"
        ) as caught:
            bus.publish("content.text", {"id": "1"})
        assert "secret" not in str(caught.value)
        assert "nats-server" in str(caught.value)
        with pytest.raises(BusUnavailable):  # and again: a failed connection is not cached
            bus.subscribe("content.text", lambda _, __: None, group="g")
    finally:
        bus.close()


def test_a_group_shares_work_across_connections_each_message_once(
    make_bus: Callable[..., JetStreamBus],
) -> None:
    handled: list[tuple[int, str]] = []
    lock = threading.Lock()

    def member(n: int) -> Callable[[str, Payload], None]:
        def handle(_: str, p: Payload) -> None:
            with lock:
                handled.append((n, p["id"]))
            time.sleep(0.001)

        return handle

    workers = [make_bus(max_in_flight=10) for _ in range(2)]
    for n, worker in enumerate(workers):
        worker.subscribe("content.text", member(n), group="scanner")
    make_bus().publish_many(Event("content.text", {"id": str(i)}) for i in range(300))
    with running(*workers):
        eventually(lambda: len(handled) >= 300)
        time.sleep(0.3)

    assert sorted(int(i) for _, i in handled) == list(range(300))
    assert {n for n, _ in handled} == {0, 1}


def test_a_repeated_message_id_is_stored_once(make_bus: Callable[..., JetStreamBus]) -> None:
    bus = make_bus()
    seen: list[str] = []
    bus.subscribe("content.image", lambda _, p: seen.append(p["id"]), group="dedup")
    bus.publish("content.image", {"id": "a"}, msg_id="event-a")
    bus.publish("content.image", {"id": "a"}, msg_id="event-a")
    bus.publish_many(
        [Event("content.image", {"id": "b"}, "event-b")] * 3
        + [Event("content.image", {"id": "a"}, "event-a")]
    )
    bus.publish("content.image", {"id": "c"})
    bus.publish("content.image", {"id": "c"})  # no id: no de-duplication
    with running(bus):
        eventually(lambda: len(seen) >= 4)
        time.sleep(0.3)
    assert seen == ["a", "b", "c", "c"]


def test_a_slow_worker_never_holds_more_than_max_in_flight(make_bus: Callable[..., JetStreamBus]) -> None:
    bus = make_bus(max_in_flight=3)
    outstanding: list[int] = []

    def slow(_: str, __: Payload) -> None:
        outstanding.append(bus.group_info("content.text", "slow").ack_pending)
        time.sleep(0.01)

    bus.subscribe("content.text", slow, group="slow")
    bus.publish_many(Event("content.text", {"id": str(i)}) for i in range(30))
    with running(bus):
        eventually(lambda: len(outstanding) >= 30)
    assert max(outstanding) <= 3
    assert min(outstanding) >= 1  # the one in hand is unacknowledged
    info = bus.group_info("content.text", "slow")
    assert (info.pending, info.ack_pending) == (0, 0)


def test_what_was_published_before_a_restart_is_consumed_after_it(
    server: NatsServer, make_bus: Callable[..., JetStreamBus]
) -> None:
    before = make_bus()
    before.publish_many(Event("content.text", {"id": str(i)}) for i in range(20))
    bus = make_bus(publish_timeout=0.5)
    seen: list[str] = []
    bus.subscribe("content.text", lambda _, p: seen.append(p["id"]), group="survivor")

    server.stop()
    eventually(lambda: not bus.connected)
    with pytest.raises(BusUnavailable, match=r"not connected to NATS .*: publish to content\.text failed"):
        bus.publish("content.text", {"id": "never sent"})
    server.start()

    def published() -> bool:
        try:
            bus.publish("content.text", {"id": "after"})
        except BusUnavailable:
            return False
        return True

    eventually(published)  # the same bus reconnects by itself
    with running(bus):
        eventually(lambda: len(seen) >= 21)
        time.sleep(0.3)
    assert seen == [*(str(i) for i in range(20)), "after"]


def test_stop_finishes_the_message_in_hand_and_returns_the_rest_at_once(
    make_bus: Callable[..., JetStreamBus],
) -> None:
    first = make_bus(max_in_flight=10, ack_wait=30.0)
    handled: list[str] = []

    def stop_after_the_first(_: str, p: Payload) -> None:
        handled.append(p["id"])
        first.stop()

    first.subscribe("content.file", stop_after_the_first, group="handover")
    first.publish_many(Event("content.file", {"id": str(i)}) for i in range(10))
    first.run()
    assert handled == ["0"]

    second = make_bus(ack_wait=30.0)
    rest: list[str] = []
    second.subscribe("content.file", lambda _, p: rest.append(p["id"]), group="handover")
    with running(second):
        eventually(lambda: len(rest) >= 9, timeout=10)  # well before ack_wait: nak'ed, not abandoned
    assert sorted(rest, key=int) == [str(i) for i in range(1, 10)]


def test_a_killed_workers_messages_are_redelivered_and_take_effect_exactly_once(
    server: NatsServer, make_bus: Callable[..., JetStreamBus], tmp_path: Path
) -> None:
    total = 300
    db_path = tmp_path / "effects.sqlite"
    prefix = unique_prefix()
    # the same group settings as the workers (they update the consumer otherwise); it never runs
    publisher = make_bus(prefix=prefix, ack_wait=1.5, max_in_flight=25)
    publisher.subscribe("content.>", lambda _, __: None, group="kill")
    publisher.publish_many(Event("content.text", {"key": f"k{i}"}, f"k{i}") for i in range(total))

    def worker(*options: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-W", "error", "-m", "tests.nats_worker", server.url, prefix, str(db_path)]
        process = subprocess.Popen(
            [*command, "--ack-wait", "1.5", "--max-in-flight", "25", *options],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        return process

    def count(sql: str) -> int:
        if not db_path.exists():
            return 0
        with sqlite3.connect(db_path, timeout=30) as db:
            try:
                return int(db.execute(sql).fetchone()[0])
            except sqlite3.OperationalError:  # the worker has not created its tables yet
                return 0

    first = worker("--delay", "0.01")
    try:
        eventually(lambda: count("select count(*) from effects") >= 40)  # in its second batch of 25
    finally:
        first.kill()  # SIGKILL: no ack, no nak, nothing
        first.wait()
        if first.stdout:
            first.stdout.close()
    handled_by_first = count("select count(*) from effects")
    assert handled_by_first < total

    second = worker()
    try:
        eventually(lambda: count("select count(*) from effects") >= total, timeout=30)
        eventually(lambda: pending(publisher) == (0, 0), timeout=10)
    finally:
        second.terminate()  # SIGTERM: a clean stop
        assert second.wait(timeout=10) == 0
        if second.stdout:
            second.stdout.close()

    with sqlite3.connect(db_path) as db:
        keys = [k for (k,) in db.execute("select key from effects")]
        redelivered = db.execute("select count(*) from attempts where attempt > 1").fetchone()[0]
        rehandled = db.execute(
            "select count(distinct key) from attempts where key in "
            "(select key from attempts group by key having count(distinct pid) = 2)"
        ).fetchone()[0]
    db.close()
    assert sorted(keys) == sorted(f"k{i}" for i in range(total))  # none lost, each once in effect
    assert redelivered > 0  # the messages the first worker held came back to the second
    assert rehandled > 0  # some had been handled (not acknowledged): the UNIQUE key absorbed them


def pending(bus: JetStreamBus) -> tuple[int, int]:
    info = bus.group_info("content.>", "kill")
    return info.pending, info.ack_pending
