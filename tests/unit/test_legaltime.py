"""CalendarPeriod: legal periods in calendar months (TCO Art. 6(2): six months, not 183 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.legaltime import CalendarPeriod


@pytest.mark.parametrize(
    ("text", "months", "delta"),
    [
        ("P6M", 6, timedelta(0)),
        ("P1Y2M10DT2H", 14, timedelta(days=10, hours=2)),
        ("P60D", 0, timedelta(days=60)),
        ("PT8H", 0, timedelta(hours=8)),
        ("P6W", 0, timedelta(weeks=6)),
        ("PT1M", 0, timedelta(minutes=1)),
    ],
)
def test_parse_reads_years_months_and_exact_time(text: str, months: int, delta: timedelta) -> None:
    assert CalendarPeriod.parse(text) == CalendarPeriod(months, delta)


@pytest.mark.parametrize("text", ["", "P", "PT", "6M", "P1.5M", "P-1M", "six months", "P1DT"])
def test_parse_refuses_what_is_not_an_iso_period(text: str) -> None:
    with pytest.raises(ValueError, match="not a period"):
        CalendarPeriod.parse(text)


def test_six_months_from_31_august_is_the_end_of_february_tco_art_6_2() -> None:
    """TCO Art. 6(2) counts six calendar months; a month without the 31st ends on its last day."""
    six = CalendarPeriod.parse("P6M")
    assert six.after(datetime(2026, 8, 31, 12, tzinfo=UTC)) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert six.after(datetime(2027, 8, 31, 12, tzinfo=UTC)) == datetime(2028, 2, 29, 12, tzinfo=UTC)


def test_months_are_added_in_utc_then_the_exact_delta() -> None:
    brussels = datetime(2026, 3, 1, 0, 30, tzinfo=ZoneInfo("Europe/Brussels"))  # 28 Feb 23:30 UTC
    assert CalendarPeriod(1, timedelta(hours=1)).after(brussels) == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_datetime_plus_period_is_after() -> None:
    start = datetime(2026, 1, 31, tzinfo=UTC)
    period = CalendarPeriod.parse("P1M")
    assert start + period == period.after(start) == datetime(2026, 2, 28, tzinfo=UTC)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CalendarPeriod(1).after(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value under test


def test_a_period_is_comparable_to_nothing_else() -> None:
    assert CalendarPeriod(0, timedelta(days=30)) != timedelta(days=30)
    assert CalendarPeriod(1) != CalendarPeriod(0, timedelta(days=30))
    with pytest.raises(TypeError):
        _ = CalendarPeriod(1) < CalendarPeriod(2)  # type: ignore[operator]


@pytest.mark.parametrize("bad", [{"months": -1}, {"delta": -timedelta(seconds=1)}, {"months": True}])
def test_negative_periods_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        CalendarPeriod(**bad)  # type: ignore[arg-type]


periods = st.builds(
    CalendarPeriod,
    months=st.integers(0, 40),
    delta=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)).map(
        lambda d: timedelta(seconds=int(d.total_seconds()))
    ),
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - bounds of an aware strategy are naive by design
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(periods)
def test_str_gives_the_iso_text_back(period: CalendarPeriod) -> None:
    assert CalendarPeriod.parse(str(period)) == period


@given(periods, instants)
def test_a_period_never_ends_before_it_starts_and_months_take_28_to_31_days(
    period: CalendarPeriod, start: datetime
) -> None:
    end = period.after(start)
    assert end.tzinfo is UTC
    assert end >= start
    assert start + timedelta(days=28 * period.months) + period.delta <= end
    assert end <= start + timedelta(days=31 * period.months) + period.delta


@given(periods, instants, st.integers(0, 3))
def test_multiples_add_months_and_time(period: CalendarPeriod, start: datetime, n: int) -> None:
    assert (n * period).months == n * period.months
    assert (n * period).delta == n * period.delta
    assert (period + period) == 2 * period


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("P6M", "6 months"),
        ("P60D", "60 days"),
        ("PT8H", "8 hours"),
        ("P1M2D", "1 month and 2 days"),
        ("P1Y", "12 months"),
    ],
)
def test_spoken_reads_as_people_say_it(text: str, spoken: str) -> None:
    assert CalendarPeriod.parse(text).spoken() == spoken
