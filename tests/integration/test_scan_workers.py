"""`trustdesk worker scan` processes on NATS JetStream: they share the stream, and a worker killed with
SIGKILL mid-stream has its unacknowledged events redelivered to another, which acts on each once."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from tests.nats import NatsServer, nats_or_skip, unique_prefix
from tests.safety_world import item
from trustdesk import migrations
from trustdesk.bus.jetstream import JetStreamBus
from trustdesk.bus.protocol import Event, Subject
from trustdesk.bus.streams import MIB, STREAMS, capped
from trustdesk.safety.models import Case, Signal
from trustdesk.safety.rules import load_rules
from trustdesk.safety.vocabulary import BankAction

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    nats = nats_or_skip(tmp_path / "nats")
    yield nats
    nats.stop()


def review_text() -> str:
    """A starter example that only review rules hit, in a public chat of 5,000."""
    rules = load_rules()
    for rule in rules.rules:
        for example in rule.examples:
            hits = rules.evaluate(example.event)
            only_review = example.should_match and hits and all(h.action is BankAction.REVIEW for h in hits)
            if only_review and not rule.conditions.chat_types and not rule.conditions.min_audience:
                return example.event.text
    raise AssertionError("no unconditional review example in the starter rules")


def eventually(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_a_killed_scan_worker_loses_nothing_and_nothing_acts_twice(
    server: NatsServer, tmp_path: Path
) -> None:
    total = 120
    url = f"sqlite:///{tmp_path / 'trustdesk.db'}"
    migrations.upgrade(url)
    prefix = unique_prefix()
    env = {
        **os.environ,
        "TRUSTDESK_DATABASE_URL": url,
        "TRUSTDESK_BUS": "nats",
        "TRUSTDESK_NATS_URL": server.url,
        "TRUSTDESK_NATS_STREAM_PREFIX": prefix,
        "TRUSTDESK_NATS_STREAM_MAX_MIB": "8",
        "TRUSTDESK_BUS_ACK_WAIT_SECONDS": "2",
        "TRUSTDESK_BUS_MAX_IN_FLIGHT": "10",
        "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{tmp_path / 'platform.db'}",
        "TRUSTDESK_INDEX_DIR": str(tmp_path / "index"),
    }
    text = review_text()
    publisher = JetStreamBus(server.url, prefix=prefix, streams=capped(STREAMS, 8 * MIB))
    try:
        publisher.publish_many(
            Event(Subject.CONTENT_POSTED, item(event_id=str(i), text=text).to_payload(), str(i))
            for i in range(total)
        )
    finally:
        publisher.close()
    engine = create_engine(url)

    def cases() -> int:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Case)).scalar_one()

    def worker(name: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "trustdesk.cli", "worker", "scan"],
                cwd=tmp_path,
                env=env,
                stderr=stderr,
            )
        eventually(lambda: "scanning content events" in log.read_text() or process.poll() is not None)
        assert process.poll() is None, log.read_text()
        return process

    first = worker("first")
    try:
        eventually(lambda: cases() >= 15)
    finally:
        first.kill()  # SIGKILL mid-stream: its batch in hand is neither acknowledged nor refused
        first.wait()
    assert cases() < total
    second = worker("second")
    try:
        eventually(lambda: cases() == total)
        time.sleep(3)  # past the ack wait: anything redelivered late would show now
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert second.returncode == 0
    with engine.connect() as connection:
        assert cases() == total
        keys = connection.execute(select(Signal.event_key)).scalars().all()
    engine.dispose()
    assert sorted(set(keys)) == sorted(f"reference:{i}" for i in range(total))
    assert len(keys) == len(set(keys)) * (len(keys) // total)  # every event has the same signals, once
