"""Reporting periods: parsing, UTC bounds, the EU way of writing them, clear errors."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.transparency.periods import PeriodError, PeriodKind, parse_eu_range, parse_period


@pytest.mark.parametrize(
    ("text", "start", "end", "eu"),
    [
        ("2026-Q1", "2026-01-01", "2026-04-01", "2026-01-01/2026-03-31"),
        ("2026-q4", "2026-10-01", "2027-01-01", "2026-10-01/2026-12-31"),
        ("2026-H1", "2026-01-01", "2026-07-01", "2026-01-01/2026-06-30"),
        ("2026-H2", "2026-07-01", "2027-01-01", "2026-07-01/2026-12-31"),
        ("2024", "2024-01-01", "2025-01-01", "2024-01-01/2024-12-31"),
        ("2028-Q1", "2028-01-01", "2028-04-01", "2028-01-01/2028-03-31"),
    ],
)
def test_a_period_runs_from_its_first_instant_to_the_next_periods(
    text: str, start: str, end: str, eu: str
) -> None:
    period = parse_period(text)
    assert period.start == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert period.end == datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert period.eu_range == eu
    assert parse_eu_range(eu) == period
    assert parse_period(period.label) == period


def test_bounds_are_inclusive_then_exclusive() -> None:
    h1 = parse_period("2026-H1")
    assert h1.contains(h1.start)
    assert not h1.contains(h1.end)
    assert h1.contains(h1.end - timedelta(microseconds=1))
    with pytest.raises(ValueError, match="aware"):
        h1.contains(datetime(2026, 3, 1))  # noqa: DTZ001 - the naive datetime refused


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-Q5", "no Q5"),
        ("2026-H3", "no H3"),
        ("2026-Q0", "no Q0"),
        ("26-Q1", "not a reporting period"),
        ("2026Q1", "not a reporting period"),
        ("2026-S1", "not a reporting period"),
        ("", "not a reporting period"),
        ("1999", "between 2000"),
    ],
)
def test_a_bad_period_is_refused_saying_what_is_accepted(text: str, says: str) -> None:
    with pytest.raises(PeriodError, match=says):
        parse_period(text)


@pytest.mark.parametrize(
    "text",
    ["2026-01-01/2026-06-29", "2026-01-02/2026-06-30", "2026-07-01/2027-06-30", "2026-06-30/2026-01-01",
     "2026-02-30/2026-03-31", "2026-01-01 2026-06-30"],
)  # fmt: skip
def test_an_eu_range_must_be_exactly_a_reporting_period(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_eu_range(text)


def test_quarters_make_up_their_period() -> None:
    assert [q.label for q in parse_period("2026").quarters()] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert [q.label for q in parse_period("2026-H2").quarters()] == ["2026-Q3", "2026-Q4"]
    assert [q.label for q in parse_period("2026-Q2").quarters()] == ["2026-Q2"]


@given(st.integers(2000, 2998), st.sampled_from(["Q1", "Q2", "Q3", "Q4", "H1", "H2", None]))
def test_periods_of_a_kind_tile_the_year(year: int, part: str | None) -> None:
    period = parse_period(f"{year}-{part}" if part else str(year))
    quarters = period.quarters()
    assert (quarters[0].start, quarters[-1].end) == (period.start, period.end)
    assert all(a.end == b.start for a, b in itertools.pairwise(quarters))
    assert (period.kind is PeriodKind.YEAR) == (part is None)
    assert period.last_day == (period.end - timedelta(days=1)).date()
