"""The repeat-offender strike policy (DSA Art. 23): which action an account's upheld decisions call for.

Art. 23(1) DSA: an online platform suspends, for a reasonable period and after a prior warning, the
accounts that frequently provide manifestly illegal content; Art. 23(4) asks for the policy to be set out
clearly and in detail in the terms and conditions. This module is that policy as data and arithmetic:

* each upheld decision against the account is a `Strike` (when it was decided, its `DsaCategory`, its
  optional `DsaKeyword`, whether it was reversed on appeal);
* a strike weighs what the policy says for its keyword, else for its category, else ``default_weight``;
  a reversed strike weighs nothing;
* a strike counts while ``decided_at <= now < decided_at + window_days``: at exactly ``window_days``
  after its decision it has expired;
* a strike whose rule says ``terminate_at_once`` (child sexual abuse material, terrorist content in the
  default policy) terminates the account at once, whatever the other strikes, and does not expire;
* otherwise the total of the counted strikes is held against the policy's ``levels`` (a warning first,
  then suspensions, then termination), and the highest level reached is the action due. A suspension runs
  for its ``days`` from the latest counted decision; once it has ended, the next lower level that still
  applies is due instead (typically the warning), so re-evaluating later never re-suspends.

`evaluate` returns a `StrikeVerdict`: the action (none / warn / suspend until / terminate) and a reason
that cites the policy (its name and version, the level or the rule that applied, the strikes counted).

The policy is a TOML table validated with Pydantic (unknown keys, wrong types, unknown DSA codes and
inconsistent levels are refused with `StrikePolicyError`, naming the key); `default_policy` reads
``strikes.toml`` next to this module. Pure: no ORM, no web, no wall clock (``now`` is given).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword

__all__ = [
    "SCHEMA_VERSION",
    "CategoryRule",
    "Level",
    "Strike",
    "StrikeAction",
    "StrikePolicy",
    "StrikePolicyError",
    "StrikeVerdict",
    "default_policy",
    "evaluate",
    "load_policy",
]

SCHEMA_VERSION: Final = 1
"""The policy file format this module reads (``schema_version`` in the TOML)."""


class StrikeAction(StrEnum):
    """What the strikes call for, from the mildest."""

    NONE = "none"
    WARN = "warn"
    SUSPEND = "suspend"
    TERMINATE = "terminate"

    @property
    def severity(self) -> int:
        return list(StrikeAction).index(self)


# ----------------------------------------------------------------------------------- the policy

_Category = Annotated[
    DsaCategory, Strict(False)
]  # TOML keys are strings; the enum still refuses unknown codes
_Keyword = Annotated[DsaKeyword, Strict(False)]
_Action = Annotated[StrikeAction, Strict(False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CategoryRule(_Model):
    """What one decision of a DSA category (or keyword) weighs: strikes, or termination at once."""

    weight: int | None = Field(default=None, ge=0)
    terminate_at_once: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if self.weight is None and not self.terminate_at_once:
            raise ValueError("set weight or terminate_at_once")
        return self


class Level(_Model):
    """A threshold: at ``strikes`` counted strikes, ``action`` is due (a suspension for ``days``)."""

    strikes: int = Field(ge=1)
    action: _Action
    days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _days_for_suspensions_only(self) -> Self:
        if self.action is StrikeAction.NONE:
            raise ValueError("action must be warn, suspend or terminate")
        if self.action is StrikeAction.SUSPEND and self.days is None:
            raise ValueError("a suspension needs days")
        if self.action is not StrikeAction.SUSPEND and self.days is not None:
            raise ValueError(f"days applies to a suspension only, not to {self.action.value}")
        return self

    def describe(self) -> str:
        at = f"at {self.strikes} strike{'' if self.strikes == 1 else 's'}"
        if self.action is StrikeAction.SUSPEND:
            return f"suspend {self.days} day{'' if self.days == 1 else 's'} {at}"
        return f"{self.action.value} {at}"


class StrikePolicy(_Model):
    """A strike policy: the window, the weights, the thresholds. Built by `load_policy`."""

    schema_version: Literal[1]
    name: str = Field(min_length=1, pattern=r"\S")
    version: int = Field(ge=1)
    window_days: int = Field(ge=1)
    default_weight: int = Field(ge=1)
    levels: Annotated[tuple[Level, ...], Strict(False)] = Field(min_length=1)  # TOML arrays are lists
    categories: Mapping[_Category, CategoryRule] = Field(default_factory=dict)
    keywords: Mapping[_Keyword, CategoryRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _levels_escalate(self) -> Self:
        first = self.levels[0]
        if first.action is not StrikeAction.WARN:
            raise ValueError(
                f"levels[0].action: the first level must be a warning (DSA Art. 23(1): a suspension "
                f"follows a prior warning), got {first.action.value}"
            )
        for index, (before, level) in enumerate(zip(self.levels, self.levels[1:], strict=False), start=1):
            if level.strikes <= before.strikes:
                raise ValueError(
                    f"levels[{index}].strikes: must be more than levels[{index - 1}].strikes "
                    f"({before.strikes}), got {level.strikes}"
                )
            if level.action.severity < before.action.severity:
                raise ValueError(
                    f"levels[{index}].action: {level.action.value} cannot follow {before.action.value}"
                )
            if before.action is StrikeAction.TERMINATE:
                raise ValueError(f"levels[{index}]: no level can follow termination")
            if (
                level.action is StrikeAction.SUSPEND
                and before.action is StrikeAction.SUSPEND
                and (level.days or 0) < (before.days or 0)
            ):
                raise ValueError(
                    f"levels[{index}].days: a suspension at more strikes cannot be shorter than "
                    f"levels[{index - 1}] ({before.days} days), got {level.days}"
                )
        return self

    @property
    def title(self) -> str:
        return f"strike policy {self.name!r} v{self.version}"

    def rule_for(self, strike: Strike) -> tuple[str, CategoryRule | None]:
        """The rule that weighs ``strike`` and its key in the policy (``keywords.X``, ``categories.X``)."""
        if strike.keyword is not None and strike.keyword in self.keywords:
            return f"keywords.{strike.keyword.value}", self.keywords[strike.keyword]
        if strike.category in self.categories:
            return f"categories.{strike.category.value}", self.categories[strike.category]
        return "default_weight", None

    def weight_of(self, strike: Strike) -> int:
        if strike.reversed:
            return 0
        _, rule = self.rule_for(strike)
        if rule is None or rule.weight is None:
            return self.default_weight
        return rule.weight

    def terminates_at_once(self, strike: Strike) -> bool:
        _, rule = self.rule_for(strike)
        return not strike.reversed and rule is not None and rule.terminate_at_once


class StrikePolicyError(ValueError):
    """A policy file was refused; ``problems`` are ``(key, problem)`` pairs, the key dotted."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        listed = "; ".join(f"{key}: {problem}" if key else problem for key, problem in problems)
        super().__init__(f"strike policy {source}: {listed}")


def _key(location: tuple[int | str, ...]) -> str:
    key = ""
    for part in location:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part != "[key]":
            key += f".{part}" if key else str(part)
    return key


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if location and location[-1] == "[key]":
            vocabulary = "DSA category" if location[0] == "categories" else "DSA keyword"
            message = f"{location[-2]!r} is not a {vocabulary} code (trustdesk.safety.vocabulary)"
        elif item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key missing"
        if not location and ": " in message and message.split(": ", 1)[0].startswith("levels"):
            key, message = message.split(": ", 1)
            problems.append((key, message))
            continue
        problems.append((_key(location), message))
    return problems


def load_policy(text: str | bytes, *, source: str = "<string>") -> StrikePolicy:
    """Parse and validate a strike policy table; `StrikePolicyError` names every key at fault."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StrikePolicyError(source, [("", f"not UTF-8: {exc}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StrikePolicyError(source, [("", f"not valid TOML: {exc}")]) from None
    try:
        return StrikePolicy.model_validate(data)
    except ValidationError as exc:
        raise StrikePolicyError(source, _problems(exc)) from None


@cache
def default_policy() -> StrikePolicy:
    """The default policy, ``strikes.toml`` next to this module (packaged as data)."""
    data = resources.files(__package__ or "trustdesk.safety").joinpath("strikes.toml").read_bytes()
    return load_policy(data, source="trustdesk/safety/strikes.toml")


# ----------------------------------------------------------------------------------- the arithmetic


@dataclass(frozen=True)
class Strike:
    """One upheld decision against the account (``reversed`` once an appeal reversed it)."""

    decided_at: datetime
    category: DsaCategory
    reversed: bool = False
    keyword: DsaKeyword | None = None


@dataclass(frozen=True)
class StrikeVerdict:
    """The action due now, why, and the strikes that counted (oldest first)."""

    action: StrikeAction
    reason: str
    strikes: int
    counted: tuple[Strike, ...]
    until: datetime | None = None
    level: int | None = None  # index into the policy's levels; None for no action or termination at once
    rule: str | None = None  # the policy key of a termination at once


HistoryEntry = Strike | tuple[datetime, DsaCategory, bool]


def _strike(entry: HistoryEntry) -> Strike:
    strike = entry if isinstance(entry, Strike) else Strike(entry[0], entry[1], entry[2])
    if not isinstance(strike.category, DsaCategory):
        raise TypeError(f"a strike's category must be a DsaCategory, got {strike.category!r}")
    if strike.keyword is not None and not isinstance(strike.keyword, DsaKeyword):
        raise TypeError(f"a strike's keyword must be a DsaKeyword, got {strike.keyword!r}")
    if strike.decided_at.utcoffset() is None:
        raise ValueError(f"a strike's decided_at must be aware, got {strike.decided_at.isoformat()}")
    return strike


def _day(moment: datetime) -> str:
    return moment.isoformat()


def _listing(policy: StrikePolicy, counted: Iterable[Strike]) -> str:
    parts = []
    for strike in counted:
        what = strike.keyword.value if strike.keyword is not None else strike.category.value
        parts.append(f"{_day(strike.decided_at)} {what} ({policy.weight_of(strike)})")
    return ", ".join(parts) if parts else "none"


def evaluate(history: Iterable[HistoryEntry], policy: StrikePolicy, *, now: datetime) -> StrikeVerdict:
    """The action ``policy`` calls for at ``now``, given the account's strike history.

    ``history`` holds every decision against the account (`Strike` values, or ``(decided_at, category,
    reversed)`` tuples), reversed ones included. A decision after ``now`` or a naive time is refused.
    """
    if now.utcoffset() is None:
        raise ValueError(f"now must be aware, got {now.isoformat()}")
    strikes = sorted((_strike(entry) for entry in history), key=lambda s: s.decided_at)
    for strike in strikes:
        if strike.decided_at > now:
            raise ValueError(
                f"a strike decided at {strike.decided_at.isoformat()} is after now ({now.isoformat()})"
            )
    upheld = [strike for strike in strikes if not strike.reversed]

    for strike in upheld:
        if policy.terminates_at_once(strike):
            key, _ = policy.rule_for(strike)
            what = strike.keyword.value if strike.keyword is not None else strike.category.value
            return StrikeVerdict(
                action=StrikeAction.TERMINATE,
                reason=(
                    f"Terminate: the decision of {_day(strike.decided_at)} for {what} terminates the "
                    f"account at once under {key} of {policy.title}."
                ),
                strikes=sum(policy.weight_of(s) for s in upheld),
                counted=(strike,),
                rule=key,
            )

    window = timedelta(days=policy.window_days)
    counted = tuple(strike for strike in upheld if now - strike.decided_at < window)
    total = sum(policy.weight_of(strike) for strike in counted)
    listing = _listing(policy, counted)
    tally = f"{total} strike{'' if total == 1 else 's'} in the last {policy.window_days} days"
    reach = "reaches" if total == 1 else "reach"
    served: list[str] = []
    for index in reversed(range(len(policy.levels))):
        level = policy.levels[index]
        if level.strikes > total:
            continue
        cite = f"levels[{index}] of {policy.title} ({level.describe()})"
        if level.action is StrikeAction.SUSPEND:
            until = counted[-1].decided_at + timedelta(days=level.days or 0)
            if until <= now:
                served.append(f"the suspension under levels[{index}] ended {_day(until)}")
                continue
            return StrikeVerdict(
                action=StrikeAction.SUSPEND,
                reason=(
                    f"Suspend until {_day(until)}: {tally} {reach} {cite}, counted from the latest decision "
                    f"({_day(counted[-1].decided_at)}; DSA Art. 23(1)). Counted: {listing}."
                ),
                strikes=total,
                counted=counted,
                until=until,
                level=index,
            )
        after = f"; {'; '.join(served)}" if served else ""
        if level.action is StrikeAction.WARN:
            after += "; the prior warning of DSA Art. 23(1)"
        return StrikeVerdict(
            action=level.action,
            reason=f"{level.action.value.capitalize()}: {tally} {reach} {cite}{after}. Counted: {listing}.",
            strikes=total,
            counted=counted,
            level=index,
        )
    first = policy.levels[0]
    return StrikeVerdict(
        action=StrikeAction.NONE,
        reason=(
            f"No action: {tally}, below the first threshold of {policy.title} ({first.describe()}). "
            f"Counted: {listing}."
        ),
        strikes=total,
        counted=counted,
    )
