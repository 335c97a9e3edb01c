"""Strictly validated data files: the base model, the shared field types, and faults in plain English.

The legal data (the instrument catalogue, the policy files, the text rules) is TOML read into Pydantic
models derived from :class:`FileModel`: unknown keys are refused, a value must already have its type
(``"no"`` is not a :data:`Flag`, ``10`` is not a string, a datetime is not a :data:`Date`), and the
models are frozen. The types below add what TOML lacks: enum members written as their values
(:func:`member`), exact ISO 8601 durations and calendar periods, non-blank text, lists of distinct
values (:func:`distinct`). A rule between fields raises :func:`at`, naming the key at fault below the
model it checks. :func:`faults` turns a ``ValidationError`` into :class:`Fault` values (dotted path,
plain-English problem), from which each loader builds its own error.

Pure: no I/O, no wall clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Final, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator, Strict, ValidationError
from pydantic_core import PydanticCustomError

from trustdesk.legaltime import CalendarPeriod

__all__ = [
    "Date",
    "Duration",
    "Fault",
    "FileModel",
    "Flag",
    "Integer",
    "OneLine",
    "Period",
    "Text",
    "at",
    "distinct",
    "faults",
    "member",
    "parse_duration",
    "problems",
]

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


class FileModel(BaseModel):
    """A table of a data file: no unknown keys, no coercion, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def at(key: str, problem: str) -> PydanticCustomError:
    """The error a rule between fields raises: ``problem`` at ``key`` (dotted, below the model that
    checks; "" for the model itself)."""
    return PydanticCustomError("rule", "{problem}", {"problem": problem, "key": key})


Flag = Annotated[bool, Strict()]
"""``true`` or ``false``; never a string or a number."""
Integer = Annotated[int, Strict()]
"""A whole number; never a flag or a string."""
Date = Annotated[date, Strict()]
"""A TOML date (``2026-08-18``); never a string or a date with a time."""

_DURATION: Final = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes, seconds ("P10D").

    Years and months are refused: their length varies, and a legal period must be exact.
    """
    match = _DURATION.fullmatch(text)
    parts = {} if match is None else match.groupdict()
    if match is None or text.endswith("T") or all(v is None for v in parts.values()):
        raise ValueError(
            f"{text!r} is not a duration like 'P10D' or 'PT8H' "
            "(ISO 8601 with weeks, days, hours, minutes, seconds only)"
        )
    return timedelta(**{name: int(v) for name, v in parts.items() if v is not None})


def _parsed(parse: Callable[[str], T], what: str) -> PlainValidator:
    def validate(value: object) -> T:
        if not isinstance(value, str):
            raise at("", f"must be {what}, got {value!r}")
        try:
            return parse(value)
        except ValueError as exc:
            raise at("", str(exc)) from None

    return PlainValidator(validate)


Duration = Annotated[timedelta, _parsed(parse_duration, "a duration like 'P10D'")]
"""Exact elapsed time (see :func:`parse_duration`): a deadline is never in months."""
Period = Annotated[CalendarPeriod, _parsed(CalendarPeriod.parse, "a period like 'P6M'")]
"""A calendar period, years and months allowed (see :meth:`CalendarPeriod.parse`)."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise at("", "must not be empty")
    return value


def _one_line(value: str) -> str:
    if "\n" in value:
        raise at("", "must be one line")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
"""A string that is not blank."""
OneLine = Annotated[str, AfterValidator(_not_blank), AfterValidator(_one_line)]
"""A string that is not blank and has no line break."""


def member(kind: type[E]) -> PlainValidator:
    """Annotation of a field of enum ``kind`` (``Annotated[Kind, member(Kind)]``): its value, written as
    the member's value; anything else is "unknown Kind 'x'; allowed: ..."."""
    allowed = ", ".join(repr(m.value) for m in kind)

    def validate(value: object) -> E:
        if isinstance(value, kind):
            return value
        if not isinstance(value, str):
            raise at("", f"must be a string, got {value!r}")
        try:
            return kind(value)
        except ValueError:
            raise at("", f"unknown {kind.__name__} {value!r}; allowed: {allowed}") from None

    return PlainValidator(validate)


def _shown(value: object) -> str:
    return repr(value.value if isinstance(value, Enum) else value)


def distinct(values: list[T]) -> list[T]:
    """An ``AfterValidator`` of lists: refuses a value listed twice."""
    twice = [v for i, v in enumerate(values) if v in values[:i]]
    if twice:
        raise at("", f"lists {', '.join(dict.fromkeys(_shown(v) for v in twice))} twice")
    return values


# ------------------------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One problem of a file: where (``loc``), what (``problem``), and the value at fault."""

    loc: tuple[str | int, ...]
    """The keys from the document down to the fault; list indices are ints."""
    problem: str
    value: object
    """The value at fault (the table itself for a missing key or a rule between fields)."""
    on_key: bool = False
    """The fault is the last key itself (not one of a table's names), not its value."""

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of :attr:`loc`, without list indices."""
        return tuple(part for part in self.loc if isinstance(part, str))

    @property
    def path(self) -> str:
        """The dotted path of :attr:`keys` ("" for the document itself)."""
        return ".".join(self.keys)


_TYPES: Final = {
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "date_type": "must be a date like 2026-08-18",
}


def _fault(error: Any) -> Fault:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    on_key = bool(loc) and loc[-1] == "[key]"
    loc = loc[:-1] if on_key else loc
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        problem = "missing"
    elif kind == "extra_forbidden":
        problem = "unknown key"
    elif kind == "rule":
        problem = ctx["problem"]
        loc += tuple(part for part in ctx["key"].split(".") if part)
    elif kind == "date_type" and isinstance(value, datetime):
        problem = f"must be a date without a time, got {value!r}"
    elif kind in _TYPES:
        problem = f"{_TYPES[kind]}, got {value!r}"
    elif kind == "greater_than_equal":
        problem = f"must be at least {ctx['ge']}, got {value!r}"
    elif kind == "value_error":  # a ValueError in a validator: an invariant of a value built there
        problem = str(ctx["error"])
    else:  # not expected from these types: Pydantic's own words
        problem = str(error["msg"])
    return Fault(loc, problem, value, on_key)


def faults(error: ValidationError) -> list[Fault]:
    """Every fault of ``error``, unknown keys first (a misspelt key is also a missing one: the unknown
    key says why)."""
    found = [_fault(e) for e in error.errors(include_url=False)]
    return sorted(found, key=lambda fault: fault.problem != "unknown key")


def problems(error: ValidationError) -> list[tuple[str, str]]:
    """Every fault of ``error`` as (dotted path, problem), in the order of :func:`faults`."""
    return [(fault.path, fault.problem) for fault in faults(error)]
