"""The rule file format (TOML), read and validated into :class:`~trustdesk.safety.rules.model.Rule`.

A file holds ``schema_version = 1`` and any number of ``[[rule]]`` tables::

    schema_version = 1

    [[rule]]
    id = "scam.crypto-doubling"          # lower-case letters, digits, '.', '-', '_'; unique in the set
    description = "Promises to double cryptocurrency sent to an address"
    category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"   # DsaCategory
    keyword = "KEYWORD_OTHER"            # optional DsaKeyword
    action = "review"                    # BankAction: auto_remove, review, report_ncmec, log
    normalise = "full"                   # optional: "full" (default) or "basic" (keeps digits)
    keywords = ["double your bitcoin"]   # literal phrases, normalised like the text, word-bounded
    patterns = ['send \\d+ btc']         # regular expressions (see patterns.py); keywords and/or patterns

    [rule.conditions]                    # optional; every condition must hold
    chat_type = ["public", "group"]      # ChatType values
    min_audience = 100                   # max_audience, min_account_age_days, max_account_age_days too
    languages = ["en"]                   # detected with py3langid when the event does not say

    [rule.examples]                      # at least one example that must match
    match = ["Double your Bitcoin!", { text = "...", chat_type = "public", audience = 5000 }]
    no_match = ["my bitcoin doubled in value"]

An example given as a plain string stands for an event that satisfies the rule's conditions (the first
allowed chat type, the minimum audience or 2, the minimum or maximum account age, the first language);
a table example overrides any of ``chat_type``, ``audience``, ``account_age_days`` and ``language``
(``"auto"`` to detect it). Errors are :class:`RuleFileError`, naming the file and line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator

from trustdesk.safety.rules.conditions import Conditions, TextEvent, known_languages
from trustdesk.safety.rules.locate import Lines
from trustdesk.safety.rules.model import Example, Rule, RuleFileError
from trustdesk.safety.rules.normalise import Form, keyword_regex
from trustdesk.safety.rules.patterns import check_pattern
from trustdesk.safety.vocabulary import BankAction, ChatType, DsaCategory, DsaKeyword
from trustdesk.strictfile import Fault, FileModel, Integer, OneLine, Text, at, distinct, faults, member

__all__ = ["SCHEMA_VERSION", "ParsedRule", "parse_rule_file"]

SCHEMA_VERSION: Final = 1
"""The rule file format this module reads (``schema_version`` in every file)."""

_RULE_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")
_AUTO: Final = "auto"
_TOML_LINE: Final = re.compile(r"at line (\d+)")


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """A rule and the lines of its keywords then its patterns (to place an engine's complaint)."""

    rule: Rule
    lines: tuple[int, ...]


def _not_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def _rule_id(value: str) -> str:
    if not _RULE_ID.fullmatch(value):
        raise ValueError(f"{value!r}: lower-case letters, digits, '.', '-' and '_', like 'scam.fake-support'")
    return value


def _schema(value: int) -> int:
    if value != SCHEMA_VERSION:
        raise ValueError(f"must be {SCHEMA_VERSION}, got {value!r}")
    return value


def _example_table(value: object) -> object:
    """A plain string example stands for ``{ text = "..." }``."""
    if isinstance(value, str):
        if not value.strip():
            raise at("", "an example must not be empty")
        return {"text": value}
    if not isinstance(value, dict):
        raise at("", f"an example is a string or a table with a text, got {value!r}")
    return value


Count = Annotated[Integer, AfterValidator(_not_negative)]
Strings = Annotated[list[str], AfterValidator(distinct)]


class ConditionsFile(FileModel):
    """``[rule.conditions]``: every condition must hold."""

    chat_type: Annotated[list[Annotated[ChatType, member(ChatType)]], AfterValidator(distinct)] | None = None
    min_audience: Count | None = None
    max_audience: Count | None = None
    languages: Strings = Field(default_factory=list)
    min_account_age_days: Count | None = None
    max_account_age_days: Count | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.chat_type is not None and not self.chat_type:
            raise at("chat_type", "must not be empty (leave it out to allow every chat type)")
        for low, high in (("min_audience", "max_audience"), ("min_account_age_days", "max_account_age_days")):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                raise at(high, f"{high} ({high_value}) is below {low} ({low_value})")
        unknown = sorted(set(self.languages) - known_languages()) if self.languages else []
        if unknown:
            raise at("languages", f"the language detector does not know {', '.join(unknown)}")
        return self

    def value(self) -> Conditions:
        return Conditions(
            chat_types=frozenset(self.chat_type or ()),
            min_audience=self.min_audience,
            max_audience=self.max_audience,
            languages=frozenset(self.languages),
            min_account_age_days=self.min_account_age_days,
            max_account_age_days=self.max_account_age_days,
        )


class ExampleFile(FileModel):
    """An example: a text, and what of the event differs from the rule's conditions."""

    text: Text
    chat_type: Annotated[ChatType, member(ChatType)] | None = None
    audience: Count | None = None
    account_age_days: Count | None = None
    language: str | None = None
    """A language code, or "auto" to detect it."""


Examples = list[Annotated[ExampleFile, BeforeValidator(_example_table)]]


def _some(examples: Examples) -> Examples:
    if not examples:
        raise ValueError("must not be empty")
    return examples


class ExamplesFile(FileModel):
    """``[rule.examples]``: texts the rule must hit, and texts it must not."""

    match: Annotated[Examples, AfterValidator(_some)] | None = None
    no_match: Examples = Field(default_factory=list)

    @model_validator(mode="after")
    def _hits(self) -> Self:
        if self.match is None:
            raise at("match", "missing: a rule needs at least one text it must hit")
        return self


class RuleFile(FileModel):
    """One ``[[rule]]`` table."""

    id: Annotated[OneLine, AfterValidator(_rule_id)]
    description: Text
    category: Annotated[DsaCategory, member(DsaCategory)]
    keyword: Annotated[DsaKeyword, member(DsaKeyword)] | None = None
    action: Annotated[BankAction, member(BankAction)]
    normalise: Annotated[Form, member(Form)] = Form.FULL
    keywords: Strings = Field(default_factory=list)
    patterns: Strings = Field(default_factory=list)
    conditions: ConditionsFile | None = None
    examples: ExamplesFile | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.keywords and not self.patterns:
            raise at("keywords", "a rule needs keywords or patterns (or both), and they must not be empty")
        if self.examples is None:
            raise at("examples", "missing: a rule needs examples.match (texts it must hit)")
        return self


class RuleDocument(FileModel):
    """A rule file."""

    schema_version: Annotated[Integer, AfterValidator(_schema)]
    rule: list[RuleFile] = Field(default_factory=list)


def _default_event(text: str, conditions: Conditions) -> TextEvent:
    chat_type = next((c for c in ChatType if c in conditions.chat_types), ChatType.PUBLIC)
    audience = conditions.min_audience
    if audience is None:
        audience = 2 if conditions.max_audience is None else min(2, conditions.max_audience)
    age = conditions.min_account_age_days
    age = conditions.max_account_age_days if age is None else age
    language = min(conditions.languages) if conditions.languages else None
    return TextEvent(text, chat_type, audience, age, language)


def _example(
    example: ExampleFile, conditions: Conditions, should_match: bool, line: int, file: str
) -> Example:
    event = _default_event(example.text, conditions)
    language = event.language if example.language is None else example.language
    return Example(
        TextEvent(
            example.text,
            event.chat_type if example.chat_type is None else example.chat_type,
            event.audience if example.audience is None else example.audience,
            event.account_age_days if example.account_age_days is None else example.account_age_days,
            None if language == _AUTO else language,
        ),
        should_match,
        file,
        line,
    )


def _rule(read: RuleFile, index: int, file: str, lines: Lines) -> ParsedRule:
    found: list[int] = []
    for keyword_text in read.keywords:
        line = lines.of(index, "keywords", keyword_text)
        try:
            keyword_regex(keyword_text, read.normalise)
        except ValueError as exc:
            raise RuleFileError(file, line, str(exc), rule=read.id, key="keywords") from None
        found.append(line)
    for pattern in read.patterns:
        line = lines.of(index, "patterns", pattern)
        problem = check_pattern(pattern, read.normalise)
        if problem is not None:
            raise RuleFileError(file, line, f"pattern {pattern!r} {problem}", rule=read.id, key="patterns")
        found.append(line)
    conditions = Conditions() if read.conditions is None else read.conditions.value()
    assert read.examples is not None
    examples = tuple(
        _example(example, conditions, should_match, lines.of(index, f"examples.{key}", example.text), file)
        for key, should_match, listed in (
            ("match", True, read.examples.match or []),
            ("no_match", False, read.examples.no_match),
        )
        for example in listed
    )
    rule = Rule(
        id=read.id,
        description=read.description,
        category=read.category,
        keyword=read.keyword,
        action=read.action,
        form=read.normalise,
        keywords=tuple(read.keywords),
        patterns=tuple(read.patterns),
        conditions=conditions,
        examples=examples,
        file=file,
        line=lines.rule_line(index),
    )
    return ParsedRule(rule, tuple(found))


def _error(file: str, lines: Lines, raw: dict[str, Any]) -> Callable[[Fault], RuleFileError]:
    """A fault as a :class:`RuleFileError` at its line, naming the rule when its id is readable."""

    def error(fault: Fault) -> RuleFileError:
        index: int | None = None
        path, rule_id = fault.path, None
        if len(fault.loc) >= 2 and fault.loc[0] == "rule" and isinstance(fault.loc[1], int):
            index, path = fault.loc[1], ".".join(fault.keys[1:])
            entry = raw["rule"][index]
            found = entry.get("id") if isinstance(entry, dict) else None
            rule_id = found if isinstance(found, str) and _RULE_ID.fullmatch(found) else None
        line = lines.of(index, path, fault.value if isinstance(fault.value, str) else None)
        return RuleFileError(file, line, fault.problem, rule=rule_id, key=path or None)

    return error


def parse_rule_file(file: str, data: bytes) -> list[ParsedRule]:
    """The rules of one file (``file`` names it in errors); raises :class:`RuleFileError`."""
    try:
        text = data.decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise RuleFileError(file, 1, f"not UTF-8: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        raise RuleFileError(file, int(found[1]) if found else 1, f"not valid TOML: {exc}") from None
    lines = Lines(text)
    try:
        document = RuleDocument.model_validate(raw)
    except ValidationError as exc:
        raise _error(file, lines, raw)(faults(exc)[0]) from None
    return [_rule(read, index, file, lines) for index, read in enumerate(document.rule)]
