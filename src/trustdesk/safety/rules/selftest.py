"""``trustdesk rules test [PATH]``: load rule files, run their examples, report (the CLI prints it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trustdesk.safety.rules.engines import Engine
from trustdesk.safety.rules.model import ExampleFailure, RuleFileError
from trustdesk.safety.rules.ruleset import load_rules

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "SelfTestReport", "rules_test"]

EXIT_OK = 0
EXIT_FAILED = 1
"""Some example does not behave as its rule says."""
EXIT_INVALID = 2
"""A rule file is invalid (nothing was tested)."""


@dataclass(frozen=True, slots=True)
class SelfTestReport:
    """What ``trustdesk rules test`` prints, and its exit status."""

    text: str
    exit_status: int
    failures: tuple[ExampleFailure, ...] = ()


def rules_test(
    paths: Iterable[Path | str] | Path | str | None = None, *, engine: Engine = Engine.AUTO
) -> SelfTestReport:
    """Load the rule files at ``paths`` (default: the starter set) and run every example."""
    try:
        rules = load_rules(paths, engine=engine)
    except RuleFileError as exc:
        return SelfTestReport(f"invalid rule file: {exc}", EXIT_INVALID)
    failures = tuple(rules.self_test())
    examples = sum(len(rule.examples) for rule in rules.rules)
    summary = (
        f"{len(rules)} rules, {examples} examples, {len(failures)} failing "
        f"(version {rules.version[:12]}, engine {rules.engine})"
    )
    lines = [str(failure) for failure in failures]
    return SelfTestReport("\n".join([*lines, summary]), EXIT_FAILED if failures else EXIT_OK, failures)
