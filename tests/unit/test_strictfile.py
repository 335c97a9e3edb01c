"""The one validation mechanism of the data files: strict types, named vocabularies, exact locations."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Self

import pytest
from pydantic import AfterValidator, Field, ValidationError, model_validator

from trustdesk.legaltime import CalendarPeriod
from trustdesk.strictfile import (
    Date,
    Duration,
    FileModel,
    Flag,
    Integer,
    OneLine,
    Period,
    Text,
    at,
    distinct,
    member,
    parse_duration,
    problems,
)
from trustdesk.vocabulary import IssuerKind


class Inner(FileModel):
    within: Duration
    keep: Period | None = None


class Outer(FileModel):
    name: OneLine
    note: Text | None = None
    on: Flag = False
    count: Annotated[Integer, Field(ge=1)] = 1
    since: Date | None = None
    kinds: Annotated[list[Annotated[IssuerKind, member(IssuerKind)]], AfterValidator(distinct)] = Field(
        default_factory=list
    )
    inner: dict[str, Inner] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rule(self) -> Self:
        if self.on and not self.kinds:
            raise at("kinds", "needed when on")
        return self


def problem(data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return problems(caught.value)[0]


def test_a_valid_table_reads_into_typed_values() -> None:
    read = Outer.model_validate(
        {
            "name": "x",
            "on": True,
            "count": 2,
            "since": date(2026, 8, 18),
            "kinds": ["court"],
            "inner": {"a": {"within": "PT48H", "keep": "P6M"}},
        }
    )
    assert read.kinds == [IssuerKind.COURT]
    assert read.inner["a"].within == timedelta(hours=48)
    assert read.inner["a"].keep == CalendarPeriod(months=6)


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        ({}, "name", "missing"),
        ({"name": "x", "nmae": "y"}, "nmae", "unknown key"),
        ({"name": "x\ny"}, "name", "one line"),
        ({"name": " "}, "name", "must not be empty"),
        ({"name": 3}, "name", "must be a string"),
        ({"name": "x", "on": "no"}, "on", "true or false"),
        ({"name": "x", "count": True}, "count", "must be an integer"),
        ({"name": "x", "count": "2"}, "count", "must be an integer"),
        ({"name": "x", "count": 0}, "count", "at least 1"),
        ({"name": "x", "since": "2026-08-18"}, "since", "a date like"),
        ({"name": "x", "since": datetime(2026, 8, 18, tzinfo=UTC)}, "since", "without a time"),
        ({"name": "x", "kinds": ["judge"]}, "kinds", "unknown IssuerKind 'judge'; allowed: 'police'"),
        ({"name": "x", "kinds": ["court", "court"]}, "kinds", "lists 'court' twice"),
        ({"name": "x", "kinds": "court"}, "kinds", "must be a list"),
        ({"name": "x", "inner": {"a": {"within": "2 days"}}}, "inner.a.within", "not a duration"),
        ({"name": "x", "inner": {"a": {"within": 2}}}, "inner.a.within", "must be a duration"),
        (
            {"name": "x", "inner": {"a": {"within": "P1D", "keep": "six months"}}},
            "inner.a.keep",
            "not a period",
        ),
        ({"name": "x", "inner": {"a": 1}}, "inner.a", "must be a table"),
        ({"name": "x", "on": True}, "kinds", "needed when on"),
    ],
)
def test_every_fault_is_named_at_its_dotted_key(data: dict[str, Any], where: str, words: str) -> None:
    path, text = problem(data)
    assert path == where
    assert words in text


def test_a_deadline_is_exact_and_never_in_months() -> None:
    assert parse_duration("P1DT12H") == timedelta(days=1, hours=12)
    for bad in ("P1M", "P", "PT", "10 days", "P-1D"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)
