"""The multi-pattern matchers: Hyperscan when it is installed, RE2 otherwise, behind one protocol.

Both compile every pattern of one normalisation form into a single object and answer, for a text, the
ids of the patterns that occur in it. Patterns are compiled as UTF-8 without Hyperscan's UCP flag (which
refuses ``\\b``), so that ``\\w \\d \\s \\b`` mean the same ASCII classes in both engines; Unicode classes
are written ``\\p{L}``, ``\\p{N}``. See :mod:`trustdesk.safety.rules.patterns` for the syntax accepted.

The third-party modules have no type stubs: they are imported here only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Final, Protocol

__all__ = [
    "Engine",
    "EngineError",
    "Found",
    "HyperscanMatcher",
    "Matcher",
    "Re2Matcher",
    "Regex",
    "available_engines",
    "compile_matcher",
    "re2_compile",
    "re2_options",
    "resolve",
]

try:
    import hyperscan  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - exercised where Hyperscan is not installed
    _HYPERSCAN = False
else:
    _HYPERSCAN = True

import re2  # type: ignore[import-untyped,unused-ignore]

_RE2_MAX_MEM: Final = 1 << 30
"""RE2's memory budget: a set's DFA that runs out of memory silently stops matching, so be generous."""


class Engine(StrEnum):
    """A regular-expression engine; ``auto`` picks Hyperscan when it is importable."""

    AUTO = "auto"
    HYPERSCAN = "hyperscan"
    RE2 = "re2"


class EngineError(ValueError):
    """A pattern the engine cannot compile; ``pattern_id`` names it (None: the whole set failed)."""

    def __init__(self, message: str, pattern_id: int | None) -> None:
        super().__init__(message)
        self.pattern_id = pattern_id


class Matcher(Protocol):
    """A compiled set of patterns."""

    engine: Engine

    def scan(self, text: str) -> set[int]:
        """The ids of the patterns that match somewhere in ``text``."""
        ...


def available_engines() -> tuple[Engine, ...]:
    """The concrete engines importable here, best first."""
    return (Engine.HYPERSCAN, Engine.RE2) if _HYPERSCAN else (Engine.RE2,)


def resolve(engine: Engine) -> Engine:
    """The concrete engine for ``engine`` (``auto`` → the best available)."""
    if engine is Engine.AUTO:
        return available_engines()[0]
    if engine not in available_engines():
        raise EngineError(f"the {engine} engine is not installed", None)
    return engine


def re2_options() -> object:
    """RE2 options for rule patterns: UTF-8, no logging to stderr, a large memory budget."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _RE2_MAX_MEM
    return options


_RE2_MESSAGE: Final = re.compile(r"^Error parsing '.*': ", re.DOTALL)


class Found(Protocol):
    """A match found by :class:`Regex`: spans are in characters of the searched text."""

    def span(self, group: int = 0, /) -> tuple[int, int]: ...


class Regex(Protocol):
    """One compiled RE2 expression."""

    def search(self, text: str, /) -> Found | None: ...


def re2_compile(pattern: str) -> Regex:
    """``pattern`` compiled by RE2 (for spans and checks); ``ValueError`` with RE2's reason if it fails."""
    try:
        compiled: Regex = re2.compile(pattern, re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(_RE2_MESSAGE.sub("", reason)) from None
    return compiled


class Re2Matcher:
    """All patterns in one ``re2.Set`` (unanchored search)."""

    engine: Engine = Engine.RE2

    def __init__(self, patterns: Sequence[tuple[int, str]]) -> None:
        self._ids: list[int] = [pattern_id for pattern_id, _ in patterns]
        self._set = None
        if not patterns:
            return
        compiled = re2.Set.SearchSet(re2_options())
        for pattern_id, pattern in patterns:
            try:
                compiled.Add(pattern)
            except re2.error:
                raise EngineError(f"RE2 cannot compile {pattern!r}", pattern_id) from None
        try:
            compiled.Compile()
        except re2.error:
            raise EngineError("RE2 cannot compile the rule set (memory budget)", None) from None
        self._set = compiled

    def scan(self, text: str) -> set[int]:
        if self._set is None:
            return set()
        found = self._set.Match(text)
        if not found:
            return set()
        ids = self._ids
        return {ids[i] for i in found}


_HS_ERROR: Final = re.compile(r"^(?P<message>.*) \(id:(?P<index>-?\d+)\)$", re.DOTALL)


class HyperscanMatcher:
    """All patterns in one Hyperscan block-mode database (UTF-8, each pattern reported once)."""

    engine: Engine = Engine.HYPERSCAN

    def __init__(self, patterns: Sequence[tuple[int, str]]) -> None:
        if not _HYPERSCAN:  # pragma: no cover - see available_engines
            raise EngineError("the hyperscan engine is not installed", None)
        self._database = None
        if not patterns:
            return
        flags = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH
        ids = [pattern_id for pattern_id, _ in patterns]
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            database.compile(
                expressions=[pattern.encode() for _, pattern in patterns],
                ids=ids,
                elements=len(patterns),
                flags=flags,
            )
        except hyperscan.error as exc:
            match = _HS_ERROR.match(str(exc))
            if match is None or int(match["index"]) < 0:
                raise EngineError(f"Hyperscan cannot compile the rule set: {exc}", None) from None
            index = int(match["index"])
            raise EngineError(f"Hyperscan: {match['message']}", ids[index]) from None
        self._database = database

    def scan(self, text: str) -> set[int]:
        if self._database is None:
            return set()
        found: set[int] = set()

        def on_match(pattern_id: int, _start: int, _end: int, _flags: int, _context: object) -> None:
            found.add(pattern_id)

        self._database.scan(text.encode(), match_event_handler=on_match)
        return found


def compile_matcher(patterns: Sequence[tuple[int, str]], engine: Engine = Engine.AUTO) -> Matcher:
    """One matcher over ``patterns`` (pairs of id and regular expression) in ``engine``.

    Raises :class:`EngineError` naming the first pattern the engine refuses.
    """
    concrete = resolve(engine)
    if concrete is Engine.HYPERSCAN:
        return HyperscanMatcher(patterns)
    return Re2Matcher(patterns)
