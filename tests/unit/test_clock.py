"""The deadline clock: worked examples from the law, and properties that must hold for any input."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trustdesk.lawful.catalogue import DeadlineRule, HoldRule, PauseRule
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.lawful.clock import (
    ExtensionNotAllowed,
    Pause,
    due_at,
    hold_expires_at,
    is_at_risk,
    is_overdue,
    protective_period_end,
    time_left,
)
from trustdesk.legaltime import CalendarPeriod
from trustdesk.vocabulary import InstrumentCode

CATALOGUE = load_catalogue()
EPOC = CATALOGUE.get(InstrumentCode.EU_EPOC)
EPOC_PR = CATALOGUE.get(InstrumentCode.EU_EPOC_PR)
TCO = CATALOGUE.get(InstrumentCode.EU_TCO_REMOVAL)
SUBPOENA = CATALOGUE.get(InstrumentCode.US_SUBPOENA)
US_PRESERVATION = CATALOGUE.get(InstrumentCode.US_PRESERVATION)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PROPERTY = settings(deadline=None, max_examples=200)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# ------------------------------------------------------------------------------- worked examples


def test_epoc_is_due_ten_days_after_receipt() -> None:
    assert due_at(EPOC.deadline, T0) == datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


def test_epoc_emergency_is_due_eight_hours_after_receipt() -> None:
    assert due_at(EPOC.deadline, T0, emergency=True) == datetime(2026, 11, 2, 17, 0, tzinfo=UTC)


def test_tco_removal_is_due_within_the_hour() -> None:
    assert due_at(TCO.deadline, T0) == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_an_instrument_without_an_emergency_track_refuses_emergency() -> None:
    with pytest.raises(ValueError, match="no emergency track"):
        due_at(TCO.deadline, T0, emergency=True)


def test_the_result_is_utc_whatever_the_zone_of_receipt() -> None:
    received = datetime(2026, 11, 2, 10, 0, tzinfo=timezone(hours(1)))  # 09:00 UTC
    due = due_at(EPOC.deadline, received)
    assert due == datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
    assert due is not None
    assert due.tzinfo is UTC


def test_periods_are_exact_elapsed_time_across_a_daylight_saving_change() -> None:
    try:
        berlin = ZoneInfo("Europe/Berlin")
    except ZoneInfoNotFoundError:  # pragma: no cover - depends on the machine's tz database
        pytest.skip("no time zone database")
    received = datetime(2026, 10, 20, 9, 0, tzinfo=berlin)  # CEST; the clocks go back on 25 October
    due = due_at(EPOC.deadline, received)
    assert due == received.astimezone(UTC) + days(10)
    assert due == datetime(2026, 10, 30, 7, 0, tzinfo=UTC)  # 08:00 CET, exactly 240 hours later


def test_a_clarification_suspends_the_epoc_clock() -> None:
    pause = Pause(T0 + days(2), T0 + days(5))
    assert due_at(EPOC.deadline, T0, pauses=[pause]) == T0 + days(13)


def test_overlapping_pauses_count_once() -> None:
    pauses = [Pause(T0 + days(1), T0 + days(3)), Pause(T0 + days(2), T0 + days(4))]
    assert due_at(EPOC.deadline, T0, pauses=pauses) == T0 + days(13)
    nested = [Pause(T0 + days(1), T0 + days(4)), Pause(T0 + days(2), T0 + days(3))]
    assert due_at(EPOC.deadline, T0, pauses=nested) == T0 + days(13)


def test_separate_pauses_add_up() -> None:
    pauses = [Pause(T0 + days(6), T0 + days(7)), Pause(T0 + days(1), T0 + days(2))]
    assert due_at(EPOC.deadline, T0, pauses=pauses) == T0 + days(12)


def test_a_pause_counts_if_it_starts_before_the_shifted_deadline() -> None:
    first = Pause(T0 + days(1), T0 + days(3))  # due moves from day 10 to day 12
    second = Pause(T0 + days(11), T0 + days(12))  # after the original due, before the shifted one
    assert due_at(EPOC.deadline, T0, pauses=[first, second]) == T0 + days(13)


def test_a_pause_after_the_deadline_does_not_revive_it() -> None:
    late = Pause(T0 + days(11), T0 + days(12))
    assert due_at(EPOC.deadline, T0, pauses=[late]) == T0 + days(10)
    assert due_at(EPOC.deadline, T0, pauses=[Pause(T0 + days(11))]) == T0 + days(10)
    at_the_deadline = Pause(T0 + days(10), T0 + days(12))
    assert due_at(EPOC.deadline, T0, pauses=[at_the_deadline]) == T0 + days(10)


def test_an_open_pause_stops_the_clock() -> None:
    assert due_at(EPOC.deadline, T0, pauses=[Pause(T0 + days(3))]) is None
    assert due_at(EPOC.deadline, T0, emergency=True, pauses=[Pause(T0 + hours(1))]) is None
    assert due_at(TCO.deadline, T0, pauses=[Pause(T0 + minutes(20))]) is None
    closed_then_open = [Pause(T0 + days(1), T0 + days(2)), Pause(T0 + days(4))]
    assert due_at(EPOC.deadline, T0, pauses=closed_then_open) is None


def test_tco_restarts_the_full_hour_when_the_impediment_is_gone() -> None:
    impediment = Pause(T0 + minutes(20), T0 + minutes(90))
    assert due_at(TCO.deadline, T0, pauses=[impediment]) == T0 + minutes(150)
    # Suspending instead would only have added the 70 minutes to the 60.
    suspended = DeadlineRule(TCO.deadline.standard, None, False, False, PauseRule.SUSPEND)
    assert due_at(suspended, T0, pauses=[impediment]) == T0 + minutes(130)


def test_tco_restarts_from_the_end_of_the_last_impediment() -> None:
    pauses = [Pause(T0 + minutes(10), T0 + minutes(30)), Pause(T0 + minutes(50), T0 + minutes(55))]
    assert due_at(TCO.deadline, T0, pauses=pauses) == T0 + minutes(115)
    late = [Pause(T0 + minutes(10), T0 + minutes(30)), Pause(T0 + minutes(95), T0 + minutes(100))]
    assert due_at(TCO.deadline, T0, pauses=late) == T0 + minutes(90)


def test_pauses_do_not_move_a_deadline_without_a_pause_rule() -> None:
    assert due_at(SUBPOENA.deadline, T0, pauses=[Pause(T0 + days(1), T0 + days(5))]) == T0 + days(14)
    assert due_at(SUBPOENA.deadline, T0, pauses=[Pause(T0 + days(1))]) == T0 + days(14)


def test_a_pause_before_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="precedes receipt"):
        due_at(EPOC.deadline, T0, pauses=[Pause(T0 - hours(1), T0 + hours(1))])


def test_a_pause_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Pause(T0 + hours(2), T0 + hours(1))


def test_the_order_may_set_the_date_of_us_legal_process() -> None:
    ordered = datetime(2026, 11, 20, 17, 0, tzinfo=timezone(-hours(5)))
    due = due_at(SUBPOENA.deadline, T0, ordered_due_at=ordered)
    assert due == ordered
    assert due is not None
    assert due.tzinfo is UTC


def test_the_order_cannot_set_a_date_the_law_fixes() -> None:
    with pytest.raises(ValueError, match="set by law"):
        due_at(EPOC.deadline, T0, ordered_due_at=T0 + days(30))


@pytest.mark.parametrize("ordered", [T0, T0 - days(1)])
def test_an_ordered_date_must_be_after_receipt(ordered: datetime) -> None:
    with pytest.raises(ValueError, match="not after receipt"):
        due_at(SUBPOENA.deadline, T0, ordered_due_at=ordered)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 2, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"):
        due_at(EPOC.deadline, naive)
    with pytest.raises(ValueError, match="aware"):
        Pause(naive)
    with pytest.raises(ValueError, match="aware"):
        due_at(SUBPOENA.deadline, T0, ordered_due_at=naive)
    with pytest.raises(ValueError, match="aware"):
        hold_expires_at(US_PRESERVATION.hold, naive)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        time_left(T0, naive)
    with pytest.raises(ValueError, match="aware"):
        is_overdue(naive, T0)
    with pytest.raises(ValueError, match="aware"):
        is_at_risk(naive, T0 + days(1), T0)


# ------------------------------------------------------------------------------------------- holds


def test_epoc_pr_hold_is_60_days_plus_one_30_day_extension() -> None:
    assert EPOC_PR.hold is not None
    assert hold_expires_at(EPOC_PR.hold, T0) == T0 + days(60)
    assert hold_expires_at(EPOC_PR.hold, T0, extensions=1) == T0 + days(90)
    with pytest.raises(ExtensionNotAllowed, match=r"2 extension\(s\).*at most 1"):
        hold_expires_at(EPOC_PR.hold, T0, extensions=2)


def test_us_preservation_is_90_days_plus_one_90_day_extension() -> None:
    assert US_PRESERVATION.hold is not None
    assert hold_expires_at(US_PRESERVATION.hold, T0) == T0 + days(90)
    assert hold_expires_at(US_PRESERVATION.hold, T0, extensions=1) == T0 + days(180)
    with pytest.raises(ExtensionNotAllowed):
        hold_expires_at(US_PRESERVATION.hold, T0, extensions=2)


def test_removed_terrorist_content_is_kept_six_months_without_extension() -> None:
    assert TCO.hold is not None
    """TCO Art. 6(2): six calendar months from removal (2 November 09:00 -> 2 May 09:00)."""
    assert hold_expires_at(TCO.hold, T0) == datetime(2027, 5, 2, 9, 0, tzinfo=UTC)
    assert datetime(2026, 11, 2, 9, 0, tzinfo=UTC) == T0
    with pytest.raises(ExtensionNotAllowed, match="no extension"):
        hold_expires_at(TCO.hold, T0, extensions=1)


def test_a_negative_number_of_extensions_is_refused() -> None:
    assert EPOC_PR.hold is not None
    with pytest.raises(ExtensionNotAllowed, match="negative"):
        hold_expires_at(EPOC_PR.hold, T0, extensions=-1)
    assert issubclass(ExtensionNotAllowed, ValueError)


# ------------------------------------------------------------------------------ time left and risk


def test_time_left_and_overdue() -> None:
    due = T0 + days(10)
    assert time_left(due, T0) == days(10)
    assert time_left(due, due + hours(1)) == -hours(1)
    assert not is_overdue(due, due)
    assert is_overdue(due, due + timedelta(microseconds=1))
    assert not is_overdue(due, T0)


def test_at_risk_in_the_last_quarter_only() -> None:
    due = T0 + days(10)
    assert not is_at_risk(T0, due, T0)
    assert not is_at_risk(T0, due, T0 + days(7.5))  # exactly a quarter left
    assert is_at_risk(T0, due, T0 + days(7.5) + timedelta(seconds=1))
    assert is_at_risk(T0, due, due)
    assert not is_at_risk(T0, due, due + timedelta(seconds=1))  # overdue is not "at risk"
    assert not is_at_risk(T0, due, T0 - hours(1))


def test_at_risk_needs_a_due_after_receipt() -> None:
    with pytest.raises(ValueError, match="after receipt"):
        is_at_risk(T0, T0, T0)


# -------------------------------------------------------------------------------------- properties

_ZONES: list[tzinfo] = [UTC, timezone(hours(5.5)), timezone(-hours(8)), timezone(hours(14))]
for _name in ("Europe/Berlin", "America/New_York"):
    with contextlib.suppress(ZoneInfoNotFoundError):  # depends on the machine's tz database
        _ZONES.append(ZoneInfo(_name))

aware = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - bounds of an aware strategy are naive by design
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(_ZONES),
)
periods = st.timedeltas(min_value=timedelta(seconds=1), max_value=days(60))


@st.composite
def deadline_rules(
    draw: st.DrawFn, pause: PauseRule | None = None, emergency: bool | None = None
) -> DeadlineRule:
    standard = draw(periods)
    has_emergency = draw(st.booleans()) if emergency is None else emergency
    short = draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=standard)) if has_emergency else None
    return DeadlineRule(
        standard=standard,
        emergency=short,
        configurable=draw(st.booleans()),
        as_ordered=draw(st.booleans()),
        pause=draw(st.sampled_from(PauseRule)) if pause is None else pause,
    )


def catalogue_or_random(
    pause: PauseRule | None = None, emergency: bool | None = None
) -> st.SearchStrategy[DeadlineRule]:
    from_catalogue = [
        i.deadline
        for i in CATALOGUE
        if (pause is None or i.deadline.pause is pause)
        and (emergency is None or i.supports_emergency == emergency)
    ]
    generated = deadline_rules(pause, emergency)
    return st.one_of(st.sampled_from(from_catalogue), generated) if from_catalogue else generated


@st.composite
def pauses_after(draw: st.DrawFn, received: datetime, allow_open: bool = True) -> list[Pause]:
    """Up to four pauses, none before receipt, some possibly overlapping, possibly one still open."""
    received = received.astimezone(UTC)  # add exact durations, not wall-clock ones
    result = []
    for _ in range(draw(st.integers(0, 4))):
        start = received + draw(st.timedeltas(min_value=timedelta(0), max_value=days(30)))
        is_open = allow_open and draw(st.booleans()) and draw(st.booleans())
        length = draw(st.timedeltas(min_value=timedelta(0), max_value=days(5)))
        result.append(Pause(start, None if is_open else start + length))
    return result


def _is_utc(value: datetime) -> bool:
    return value.tzinfo is UTC and value.utcoffset() == timedelta(0)


@PROPERTY
@given(rule=catalogue_or_random(emergency=True), received=aware, data=st.data())
def test_an_emergency_deadline_is_never_later_than_the_standard_one(
    rule: DeadlineRule, received: datetime, data: st.DataObject
) -> None:
    pauses = data.draw(pauses_after(received))
    emergency = due_at(rule, received, emergency=True, pauses=pauses)
    standard = due_at(rule, received, pauses=pauses)
    if emergency is None:
        assert standard is None  # a pause that stops the shorter clock stops the longer one too
    elif standard is not None:
        assert emergency <= standard


@PROPERTY
@given(rule=catalogue_or_random(pause=PauseRule.SUSPEND), received=aware, data=st.data())
def test_one_closed_pause_before_the_deadline_shifts_it_by_exactly_its_length(
    rule: DeadlineRule, received: datetime, data: st.DataObject
) -> None:
    emergency = rule.emergency is not None and data.draw(st.booleans())
    base = due_at(rule, received, emergency=emergency)
    assert base is not None
    start = received.astimezone(UTC) + data.draw(
        st.timedeltas(min_value=timedelta(0), max_value=base - received)
    )
    assume(start < base)
    length = data.draw(st.timedeltas(min_value=timedelta(0), max_value=days(20)))
    pause = Pause(start, start + length)
    assert due_at(rule, received, emergency=emergency, pauses=[pause]) == base + length


@PROPERTY
@given(rule=catalogue_or_random(pause=PauseRule.NONE), received=aware, data=st.data())
def test_pauses_are_ignored_without_a_pause_rule(
    rule: DeadlineRule, received: datetime, data: st.DataObject
) -> None:
    # Even pauses that would be refused elsewhere (before receipt, still open) change nothing.
    anchor = received.astimezone(UTC) - days(data.draw(st.integers(0, 3)))
    pauses = data.draw(pauses_after(anchor))
    emergency = rule.emergency is not None and data.draw(st.booleans())
    assert due_at(rule, received, emergency=emergency, pauses=pauses) == due_at(
        rule, received, emergency=emergency
    )


@PROPERTY
@given(rule=catalogue_or_random(), received=aware, data=st.data())
def test_a_deadline_is_aware_utc_after_receipt_and_pauses_never_bring_it_forward(
    rule: DeadlineRule, received: datetime, data: st.DataObject
) -> None:
    emergency = rule.emergency is not None and data.draw(st.booleans())
    pauses = data.draw(pauses_after(received))
    base = due_at(rule, received, emergency=emergency)
    due = due_at(rule, received, emergency=emergency, pauses=pauses)
    assert base is not None
    assert _is_utc(base)
    period = rule.emergency if emergency and rule.emergency else rule.standard
    assert base == received.astimezone(UTC) + period
    if due is not None:
        assert _is_utc(due)
        assert due > received
        assert due >= base
    else:
        assert rule.pause is not PauseRule.NONE
        assert any(p.is_open for p in pauses)


@PROPERTY
@given(
    rule=catalogue_or_random().filter(lambda r: r.as_ordered),
    received=aware,
    after=st.timedeltas(min_value=timedelta(microseconds=1), max_value=days(365)),
    zone=st.sampled_from(_ZONES),
)
def test_an_ordered_date_is_honoured(
    rule: DeadlineRule, received: datetime, after: timedelta, zone: tzinfo
) -> None:
    ordered = (received.astimezone(UTC) + after).astimezone(zone)
    due = due_at(rule, received, ordered_due_at=ordered)
    assert due == ordered
    assert due is not None
    assert _is_utc(due)


calendar_periods = st.builds(
    CalendarPeriod,
    months=st.integers(0, 24),
    delta=st.timedeltas(min_value=timedelta(seconds=1), max_value=days(200)),
)
holds = st.one_of(
    st.sampled_from([i.hold for i in CATALOGUE if i.hold is not None]),
    st.builds(
        HoldRule, duration=calendar_periods, extension=calendar_periods, max_extensions=st.integers(1, 3)
    ),
    st.builds(HoldRule, duration=calendar_periods, extension=st.none(), max_extensions=st.just(0)),
)


@PROPERTY
@given(rule=holds, placed=aware, extensions=st.integers(-3, 6))
def test_extensions_can_never_exceed_the_law(rule: HoldRule, placed: datetime, extensions: int) -> None:
    if 0 <= extensions <= rule.max_extensions:
        expires = hold_expires_at(rule, placed, extensions)
        assert _is_utc(expires)
        start = placed.astimezone(UTC)  # calendar months in UTC, then exact elapsed time
        expected = rule.duration.after(start)
        for _ in range(extensions):  # each extension runs from the previous expiry
            assert rule.extension is not None
            expected = rule.extension.after(expected)
        assert expires == expected
        assert expires <= hold_expires_at(rule, placed, rule.max_extensions)
        assert expires > placed
    else:
        with pytest.raises(ExtensionNotAllowed):
            hold_expires_at(rule, placed, extensions)


@PROPERTY
@given(received=aware, total=periods, elapsed=st.timedeltas(min_value=-days(5), max_value=days(70)))
def test_risk_and_overdue_agree_with_time_left(
    received: datetime, total: timedelta, elapsed: timedelta
) -> None:
    start = received.astimezone(UTC)
    due = (start + total).astimezone(received.tzinfo)
    now = start + elapsed
    left = time_left(due, now)
    assert left == total - elapsed
    assert is_overdue(due, now) == (left < timedelta(0))
    assert is_at_risk(received, due, now) == (timedelta(0) <= left < total / 4)
    assert not (is_at_risk(received, due, now) and is_overdue(due, now))


# --- protective periods (Reg. (EEC, Euratom) No 1182/71 Art. 3) -------------------------------------------

BRUSSELS = ZoneInfo("Europe/Brussels")


def test_a_period_in_days_ends_at_the_end_of_the_last_local_day_reg_1182_71_art_3() -> None:
    """Art. 3(1), (2)(b): the day of the event is not counted; the period ends at 24:00 of the last day."""
    start = datetime(2026, 9, 1, 15, 20, tzinfo=UTC)  # 17:20 in Brussels
    end = protective_period_end(start, days(10), BRUSSELS)
    assert end == datetime(2026, 9, 12, 0, 0, tzinfo=BRUSSELS).astimezone(UTC)
    assert end == datetime(2026, 9, 11, 22, 0, tzinfo=UTC)


def test_a_period_in_hours_starts_at_the_next_full_hour_reg_1182_71_art_3() -> None:
    """Art. 3(1): the hour of the event is not counted (Art. 10(4) e-Evidence: 96 hours to object)."""
    start = datetime(2026, 9, 1, 15, 20, tzinfo=UTC)
    assert protective_period_end(start, hours(96), BRUSSELS, in_hours=True) == datetime(
        2026, 9, 5, 16, 0, tzinfo=UTC
    )
    assert protective_period_end(start, hours(8), BRUSSELS) == datetime(2026, 9, 2, 0, 0, tzinfo=UTC)


def test_a_local_half_hour_zone_counts_local_hours() -> None:
    start = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)  # 15:30 in Kolkata: the next full hour is 16:00
    end = protective_period_end(start, hours(2), ZoneInfo("Asia/Kolkata"))
    assert end == datetime(2026, 9, 1, 18, 0, tzinfo=ZoneInfo("Asia/Kolkata")).astimezone(UTC)


def test_a_period_in_days_over_the_dst_change_ends_at_local_midnight() -> None:
    start = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)  # the clocks go back on 25 October 2026
    end = protective_period_end(start, days(10), BRUSSELS)
    assert end == datetime(2026, 10, 30, 23, 0, tzinfo=UTC)  # 31 October 00:00 CET


zones = st.sampled_from(
    [
        ZoneInfo(name)
        for name in ("Europe/Brussels", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Lord_Howe")
    ]
)


@PROPERTY
@given(start=aware, n=st.integers(1, 60), zone=zones)
def test_a_protective_period_in_days_ends_at_local_midnight_never_early(
    start: datetime, n: int, zone: ZoneInfo
) -> None:
    end = protective_period_end(start, days(n), zone)
    assert _is_utc(end)
    assert end >= start.astimezone(UTC) + days(n)
    local = end.astimezone(zone)
    assert (local.hour, local.minute, local.second) == (0, 0, 0) or end == start.astimezone(UTC) + days(n)
    assert end - start.astimezone(UTC) <= days(n + 1) + hours(2)  # at most the rest of the first day


@PROPERTY
@given(start=aware, n=st.integers(1, 200), zone=zones)
def test_a_protective_period_in_hours_is_never_earlier_than_the_exact_time(
    start: datetime, n: int, zone: ZoneInfo
) -> None:
    end = protective_period_end(start, hours(n), zone, in_hours=True)
    exact = start.astimezone(UTC) + hours(n)
    assert _is_utc(end)
    assert exact <= end <= exact + hours(1)


def test_a_protective_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        protective_period_end(T0, timedelta(0), BRUSSELS)
