"""The injected clock: the only place that reads the wall clock."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""A callable returning the current time as an aware UTC datetime."""


def system_clock() -> datetime:
    return datetime.now(UTC)


class FrozenClock:
    """A test clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
