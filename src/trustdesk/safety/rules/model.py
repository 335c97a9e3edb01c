"""The values of the rule engine: rules, their examples, hits and example failures."""

from __future__ import annotations

from dataclasses import dataclass

from trustdesk.safety.rules.conditions import Conditions, TextEvent
from trustdesk.safety.rules.normalise import Form
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword

__all__ = ["Example", "ExampleFailure", "Rule", "RuleFileError", "RuleHit"]


class RuleFileError(ValueError):
    """A rule file is invalid: the message is ``file:line: rule 'id': key: problem``; the parts are
    attributes too (``rule`` and ``key`` are None when the fault is not inside a rule or a key)."""

    def __init__(
        self, file: str, line: int, problem: str, *, rule: str | None = None, key: str | None = None
    ):
        where = "".join((f"rule {rule!r}: " if rule else "", f"{key}: " if key else ""))
        super().__init__(f"{file}:{line}: {where}{problem}")
        self.file = file
        self.line = line
        self.problem = problem
        self.rule = rule
        self.key = key


@dataclass(frozen=True, slots=True)
class Example:
    """An example text of a rule, with the event it stands for, and whether the rule must hit it."""

    event: TextEvent
    should_match: bool
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Rule:
    """One text rule, as its file states it."""

    id: str
    description: str
    category: DsaCategory
    keyword: DsaKeyword | None
    action: BankAction
    form: Form
    """Which normalisation its keywords and patterns are matched against."""
    keywords: tuple[str, ...]
    patterns: tuple[str, ...]
    conditions: Conditions
    examples: tuple[Example, ...]
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that matched an event and whose conditions it satisfied."""

    rule_id: str
    category: DsaCategory
    keyword: DsaKeyword | None
    action: BankAction
    matched: str
    """The keyword or pattern (as written in the rule file) that matched first."""
    span: tuple[int, int]
    """Start and end of the match in the normalised text (the rule's form), not in the original."""
    excerpt: str
    """The matched part of the normalised text (at most 200 characters)."""


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """An example that does not behave as its rule says."""

    rule_id: str
    file: str
    line: int
    text: str
    should_match: bool
    hits: tuple[str, ...]
    """The ids of the rules that did hit the example."""

    def __str__(self) -> str:
        expected = "should match but does not" if self.should_match else "should not match but does"
        return f"{self.file}:{self.line}: rule {self.rule_id!r}: example {self.text!r} {expected}"
