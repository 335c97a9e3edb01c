"""A loaded rule set: every rule's keywords and patterns in one matcher per normalisation form.

Evaluating an event costs one normalisation per form in use and one scan per form, whatever the number
of rules; only the rules whose patterns matched go on to their conditions and to the span search.
Pure: no database, no wall clock; files are read only by :func:`load_rules`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from trustdesk.safety.rules.conditions import TextEvent, detect_language
from trustdesk.safety.rules.engines import Engine, EngineError, Matcher, Regex, compile_matcher, re2_compile
from trustdesk.safety.rules.format import ParsedRule, parse_rule_file
from trustdesk.safety.rules.model import ExampleFailure, Rule, RuleFileError, RuleHit
from trustdesk.safety.rules.normalise import Form, fold_full, keyword_regex, normalise_basic, pad

__all__ = ["STARTER_DIRECTORY", "RuleSet", "load_rules", "rule_set_version"]

STARTER_DIRECTORY: Final = Path(__file__).resolve().parent / "starter"
"""The starter rule set shipped with the package."""

_EXCERPT: Final = 200


@dataclass(frozen=True, slots=True)
class _Pattern:
    """One compiled entry of the matcher: a keyword's or a pattern's regular expression."""

    rule: int
    source: str
    regex: str
    group: int  # the group whose span is reported (1 for keywords, which capture their boundaries)


class RuleSet:
    """Rules compiled for evaluation. Build it with :func:`load_rules`."""

    def __init__(self, rules: Sequence[ParsedRule], version: str, engine: Engine = Engine.AUTO) -> None:
        self.version = version
        """sha256 hex digest over the rule files (see :func:`rule_set_version`)."""
        self.rules: tuple[Rule, ...] = tuple(p.rule for p in rules)
        self._patterns: list[_Pattern] = []
        by_form: dict[Form, list[tuple[int, str]]] = {form: [] for form in Form}
        lines: list[ParsedRule] = []
        for index, parsed in enumerate(rules):
            rule = parsed.rule
            entries = [_Pattern(index, k, keyword_regex(k, rule.form), 1) for k in rule.keywords]
            entries += [_Pattern(index, p, p, 0) for p in rule.patterns]
            for entry in entries:
                by_form[rule.form].append((len(self._patterns), entry.regex))
                self._patterns.append(entry)
                lines.append(parsed)
        self._matchers: dict[Form, Matcher] = {}
        for form, patterns in by_form.items():
            if not patterns:
                continue
            try:
                self._matchers[form] = compile_matcher(patterns, engine)
            except EngineError as exc:
                if exc.pattern_id is None:
                    raise RuleFileError(rules[0].rule.file if rules else "", 1, str(exc)) from None
                entry = self._patterns[exc.pattern_id]
                parsed = lines[exc.pattern_id]
                rule = parsed.rule
                kind = "keywords" if entry.group else "patterns"
                position = (rule.keywords + rule.patterns).index(entry.source)
                raise RuleFileError(
                    rule.file, parsed.lines[position], f"{entry.source!r}: {exc}", rule=rule.id, key=kind
                ) from None
        self.engine: Engine = next(iter(self._matchers.values())).engine if self._matchers else Engine.RE2
        """The engine actually used."""
        self._full = Form.FULL in self._matchers
        self._basic = Form.BASIC in self._matchers
        self._spans: dict[int, Regex] = {}

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"RuleSet(version={self.version[:12]!r}, rules={len(self.rules)}, engine={self.engine})"

    def _span(self, pattern_id: int, text: str) -> tuple[int, int]:
        regex = self._spans.get(pattern_id)
        if regex is None:
            regex = self._spans[pattern_id] = re2_compile(self._patterns[pattern_id].regex)
        found = regex.search(text)
        if found is None:  # pragma: no cover - the matcher and RE2 agree on what matches
            return 0, 0
        return found.span(self._patterns[pattern_id].group)

    def evaluate(self, event: TextEvent) -> list[RuleHit]:
        """The rules that hit ``event``, in rule order, one hit per rule (its first matching entry)."""
        text = normalise_basic(event.text)
        basic = pad(text)
        found: set[int] = set()
        full = ""
        if self._full:
            full = pad(fold_full(text))
            found = self._matchers[Form.FULL].scan(full)
        if self._basic:
            found |= self._matchers[Form.BASIC].scan(basic)
        if not found:
            return []
        first: dict[int, int] = {}
        for pattern_id in sorted(found):
            first.setdefault(self._patterns[pattern_id].rule, pattern_id)
        language: list[str] = [] if event.language is None else [event.language]

        def language_of() -> str:
            if not language:
                language.append(detect_language(event.text))
            return language[0]

        hits: list[RuleHit] = []
        for index in sorted(first):
            rule = self.rules[index]
            if not rule.conditions.allows(event, language_of):
                continue
            pattern_id = first[index]
            padded = full if rule.form is Form.FULL else basic
            start, end = self._span(pattern_id, padded)
            excerpt = padded[start:end].strip()[:_EXCERPT]
            start, end = max(start - 1, 0), min(max(end - 1, 0), len(padded) - 2)  # unpadded
            hits.append(
                RuleHit(
                    rule_id=rule.id,
                    category=rule.category,
                    keyword=rule.keyword,
                    action=rule.action,
                    matched=self._patterns[pattern_id].source,
                    span=(start, end),
                    excerpt=excerpt,
                )
            )
        return hits

    def self_test(self) -> list[ExampleFailure]:
        """Every example of every rule that does not behave as stated (evaluated through the whole set)."""
        failures: list[ExampleFailure] = []
        for rule in self.rules:
            for example in rule.examples:
                hits = tuple(hit.rule_id for hit in self.evaluate(example.event))
                if (rule.id in hits) != example.should_match:
                    failures.append(
                        ExampleFailure(
                            rule.id,
                            example.file,
                            example.line,
                            example.event.text,
                            example.should_match,
                            hits,
                        )
                    )
        return failures


def rule_set_version(files: Iterable[tuple[str, bytes]]) -> str:
    """sha256 over each file's name, a NUL, its length in decimal, a NUL and its bytes, in load order."""
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _files(paths: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise RuleFileError(str(path), 1, "holds no *.toml rule file")
            files += found
        else:
            files.append(path)
    return files


def load_rules(
    paths: Iterable[Path | str] | Path | str | None = None, *, engine: Engine = Engine.AUTO
) -> RuleSet:
    """Load and validate rule files (each path a file, or a directory of ``*.toml`` files read in name
    order; default: the starter set) into a :class:`RuleSet` compiled for ``engine``.

    Raises :class:`RuleFileError` naming the file and the line.
    """
    if paths is None:
        paths = [STARTER_DIRECTORY]
    elif isinstance(paths, Path | str):
        paths = [paths]
    contents: list[tuple[str, bytes]] = []
    parsed: list[ParsedRule] = []
    seen: dict[str, Rule] = {}
    for path in _files(paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RuleFileError(str(path), 1, f"cannot be read: {exc.strerror or exc}") from None
        contents.append((path.name, data))
        for entry in parse_rule_file(str(path), data):
            rule = entry.rule
            if rule.id in seen:
                first = seen[rule.id]
                raise RuleFileError(
                    rule.file,
                    rule.line,
                    f"duplicate rule id, first at {first.file}:{first.line}",
                    rule=rule.id,
                    key="id",
                )
            seen[rule.id] = rule
            parsed.append(entry)
    return RuleSet(parsed, rule_set_version(contents), engine)
