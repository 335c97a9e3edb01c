"""The bus contract, run over every implementation (the in-process bus today; NATS JetStream later)."""

from collections.abc import Callable

import pytest

from trustdesk.bus.memory import InProcessBus
from trustdesk.bus.protocol import EventBus, Payload

BUSES: list[Callable[[], EventBus]] = [InProcessBus]


@pytest.fixture(params=BUSES, ids=lambda factory: factory.__name__)
def bus(request: pytest.FixtureRequest) -> EventBus:
    made: EventBus = request.param()
    assert isinstance(made, EventBus)
    return made


def test_subscribers_receive_events_of_their_subject_in_order(bus: EventBus) -> None:
    seen: list[tuple[str, Payload]] = []
    bus.subscribe("lawful.request.received", lambda s, p: seen.append((s, p)))
    bus.subscribe("other.subject", lambda s, p: seen.append(("wrong", p)))

    bus.publish("lawful.request.received", {"request_id": "r1"})
    bus.publish("lawful.request.received", {"request_id": "r2"})

    assert seen == [
        ("lawful.request.received", {"request_id": "r1"}),
        ("lawful.request.received", {"request_id": "r2"}),
    ]


def test_a_failing_subscriber_neither_breaks_the_publisher_nor_the_others(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken(_: str, __: Payload) -> None:
        raise RuntimeError("consumer bug")

    bus.subscribe("s", broken)
    bus.subscribe("s", lambda _, p: seen.append(p["id"]))
    bus.publish("s", {"id": "1"})

    assert seen == ["1"]
    assert "consumer bug" in caplog.text


def test_payloads_are_copies(bus: EventBus) -> None:
    payload = {"id": "1"}
    received: list[Payload] = []
    bus.subscribe("s", lambda _, p: received.append(p))
    bus.publish("s", payload)
    payload["id"] = "changed"
    assert received == [{"id": "1"}]
