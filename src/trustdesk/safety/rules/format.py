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
from dataclasses import dataclass
from typing import Final

from trustdesk.safety.rules.conditions import Conditions, TextEvent, known_languages
from trustdesk.safety.rules.locate import Lines
from trustdesk.safety.rules.model import Example, Rule, RuleFileError
from trustdesk.safety.rules.normalise import Form, keyword_regex
from trustdesk.safety.rules.patterns import check_pattern
from trustdesk.safety.vocabulary import BankAction, ChatType, DsaCategory, DsaKeyword
from trustdesk.tomltable import TomlTable

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


@dataclass(frozen=True)
class _Where:
    """The error factory of one rule's tables (or of the document's, when ``rule`` is None)."""

    file: str
    lines: Lines
    rule: int | None = None
    rule_id: str | None = None

    def __call__(self, _key: str, path: str, problem: str, /) -> RuleFileError:
        return self.at(path, problem)

    def at(self, path: str, problem: str, needle: str | None = None) -> RuleFileError:
        line = self.lines.of(self.rule, path, needle)
        return RuleFileError(self.file, line, problem, rule=self.rule_id, key=path or None)


def _count(table: TomlTable, key: str) -> int | None:
    value = table.optional(key, int, "a whole number")
    if value is not None and value < 0:
        raise table.error(key, f"must not be negative, got {value}")
    return value


def _conditions(table: TomlTable | None) -> Conditions:
    if table is None:
        return Conditions()
    conditions = Conditions(
        chat_types=table.enums("chat_type", ChatType, required=False),
        min_audience=_count(table, "min_audience"),
        max_audience=_count(table, "max_audience"),
        languages=frozenset(table.strings("languages", required=False)),
        min_account_age_days=_count(table, "min_account_age_days"),
        max_account_age_days=_count(table, "max_account_age_days"),
    )
    if "chat_type" in table.raw and not conditions.chat_types:
        raise table.error("chat_type", "must not be empty (leave it out to allow every chat type)")
    for low, high in (("min_audience", "max_audience"), ("min_account_age_days", "max_account_age_days")):
        low_value, high_value = getattr(conditions, low), getattr(conditions, high)
        if low_value is not None and high_value is not None and low_value > high_value:
            raise table.error(high, f"{high} ({high_value}) is below {low} ({low_value})")
    if conditions.languages:
        unknown = sorted(conditions.languages - known_languages())
        if unknown:
            raise table.error("languages", f"the language detector does not know {', '.join(unknown)}")
    table.finish()
    return conditions


def _default_event(text: str, conditions: Conditions) -> TextEvent:
    chat_type = next((c for c in ChatType if c in conditions.chat_types), ChatType.PUBLIC)
    audience = conditions.min_audience
    if audience is None:
        audience = 2 if conditions.max_audience is None else min(2, conditions.max_audience)
    age = conditions.min_account_age_days
    age = conditions.max_account_age_days if age is None else age
    language = min(conditions.languages) if conditions.languages else None
    return TextEvent(text, chat_type, audience, age, language)


def _example(raw: object, conditions: Conditions, should_match: bool, where: _Where, path: str) -> Example:
    if isinstance(raw, str):
        if not raw.strip():
            raise where.at(path, "an example must not be empty")
        return Example(
            _default_event(raw, conditions), should_match, where.file, where.lines.of(where.rule, path, raw)
        )
    if not isinstance(raw, dict):
        raise where.at(path, f"an example is a string or a table with a text, got {raw!r}")
    table = TomlTable(raw, where, path)
    text = table.text("text")
    line = where.lines.of(where.rule, path, text)
    event = _default_event(text, conditions)
    chat_type = table.optional("chat_type", str, "a chat type")
    audience = _count(table, "audience")
    age = _count(table, "account_age_days")
    language = table.optional("language", str, "a language code or 'auto'")
    table.finish()
    return Example(
        TextEvent(
            text,
            event.chat_type if chat_type is None else table.member("chat_type", ChatType, chat_type),
            event.audience if audience is None else audience,
            event.account_age_days if age is None else age,
            event.language if language is None else (None if language == _AUTO else language),
        ),
        should_match,
        where.file,
        line,
    )


def _examples(table: TomlTable | None, conditions: Conditions, where: _Where) -> tuple[Example, ...]:
    if table is None:
        raise where.at("examples", "missing: a rule needs examples.match (texts it must hit)")
    examples: list[Example] = []
    for key, should_match in (("match", True), ("no_match", False)):
        values = table.optional(key, list, "a list of examples")
        if values is None:
            if should_match:
                raise table.error(key, "missing: a rule needs at least one text it must hit")
            continue
        if should_match and not values:
            raise table.error(key, "must not be empty")
        examples += (_example(v, conditions, should_match, where, f"examples.{key}") for v in values)
    table.finish()
    return tuple(examples)


def _rule(table: TomlTable, where: _Where) -> ParsedRule:
    rule_id = table.text("id", one_line=True)
    if not _RULE_ID.fullmatch(rule_id):
        raise table.error(
            "id", f"{rule_id!r}: lower-case letters, digits, '.', '-' and '_', like 'scam.fake-support'"
        )
    where = _Where(where.file, where.lines, where.rule, rule_id)
    table = TomlTable(table.raw, where)  # the errors from here on name the rule
    table.used.add("id")
    description = table.text("description")
    category = table.enum("category", DsaCategory)
    keyword_code = table.optional("keyword", str, "a DSA keyword")
    keyword = None if keyword_code is None else table.member("keyword", DsaKeyword, keyword_code)
    action = table.enum("action", BankAction)
    form_name = table.optional("normalise", str, '"full" or "basic"')
    form = Form.FULL if form_name is None else table.member("normalise", Form, form_name)
    keywords = table.strings("keywords", required=False)
    patterns = table.strings("patterns", required=False)
    if not keywords and not patterns:
        raise table.error(
            "keywords", "a rule needs keywords or patterns (or both), and they must not be empty"
        )
    lines: list[int] = []
    for keyword_text in keywords:
        line = where.lines.of(where.rule, "keywords", keyword_text)
        try:
            keyword_regex(keyword_text, form)
        except ValueError as exc:
            raise RuleFileError(where.file, line, str(exc), rule=rule_id, key="keywords") from None
        lines.append(line)
    for pattern in patterns:
        line = where.lines.of(where.rule, "patterns", pattern)
        problem = check_pattern(pattern, form)
        if problem is not None:
            raise RuleFileError(
                where.file, line, f"pattern {pattern!r} {problem}", rule=rule_id, key="patterns"
            )
        lines.append(line)
    conditions = _conditions(table.optional_table("conditions"))
    examples = _examples(table.optional_table("examples"), conditions, where)
    table.finish()
    rule = Rule(
        id=rule_id,
        description=description,
        category=category,
        keyword=keyword,
        action=action,
        form=form,
        keywords=keywords,
        patterns=patterns,
        conditions=conditions,
        examples=examples,
        file=where.file,
        line=where.lines.rule_line(where.rule),
    )
    return ParsedRule(rule, tuple(lines))


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
    document = TomlTable(raw, _Where(file, lines))
    schema = document.optional("schema_version", int, "an integer")
    if schema != SCHEMA_VERSION:
        raise document.error("schema_version", f"must be {SCHEMA_VERSION}, got {schema!r}")
    entries = document.optional("rule", list, "an array of [[rule]] tables")
    document.finish()
    parsed: list[ParsedRule] = []
    for index, entry in enumerate(entries or ()):
        where = _Where(file, lines, index)
        parsed.append(_rule(TomlTable(entry, where), where))
    return parsed
