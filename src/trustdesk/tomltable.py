"""Reading strictly validated TOML tables.

A :class:`TomlTable` wraps one table of a parsed TOML document and reads its keys as typed values:
required or optional values of a type, members of an enum, lists of distinct strings, non-blank text
and flags. Only the text-rule files use it (their errors name a line, which needs the raw tables); the
legal data files are validated by Pydantic models (``strictfile.py``). It remembers which keys were
read, so that :meth:`TomlTable.finish` refuses the leftovers (typos). Each fault is turned into the
loader's own error by an :class:`ErrorFactory`, so every loader keeps its error type and message format.

Pure: no I/O, no wall clock.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, TypeVar

__all__ = ["ErrorFactory", "TomlTable"]

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

class ErrorFactory(Protocol):
    """Builds a loader's own error for a fault in a table.

    ``key`` is the key at fault as its table knows it ("" for the table itself), ``path`` its dotted
    path from the root table ("" for the root table itself), ``problem`` what is wrong.
    """

    def __call__(self, key: str, path: str, problem: str, /) -> Exception: ...


class TomlTable:
    """A TOML table being read; remembers the keys read, so that leftovers (typos) are refused."""

    def __init__(self, raw: object, error: ErrorFactory, path: str = "") -> None:
        self.path = path
        """The table's dotted path from the root table ("" for the root table)."""
        self._error = error
        if not isinstance(raw, dict):
            raise self.error("", f"must be a table, got {raw!r}")
        self.raw: dict[str, object] = raw
        self.used: set[str] = set()
        """The keys read so far (or declared read); :meth:`finish` refuses the others."""

    def _dotted(self, key: str) -> str:
        return ".".join(part for part in (self.path, key) if part)

    def error(self, key: str, problem: str) -> Exception:
        """The loader's error for ``problem`` at ``key`` ("" for the table itself)."""
        key = str(key)  # a StrEnum member shows as its value
        return self._error(key, self._dotted(key), problem)

    def optional(self, key: str, kind: type[T], what: str) -> T | None:
        """The value at ``key`` if present; an error unless it is a ``kind`` (``what`` describes it)."""
        self.used.add(key)
        if key not in self.raw:
            return None
        value = self.raw[key]
        if kind is date and isinstance(value, datetime):
            raise self.error(key, f"must be a date without a time, got {value!r}")
        # bool is an int subclass, but a flag is never a number.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"must be {what}, got {value!r}")
        return value

    def required(self, key: str, kind: type[T], what: str) -> T:
        value = self.optional(key, kind, what)
        if value is None:
            raise self.error(key, "missing")
        return value

    def optional_text(self, key: str, *, one_line: bool = False) -> str | None:
        """A string that is not blank (and, if ``one_line``, has no line break), if present."""
        value = self.optional(key, str, "a string")
        if value is None:
            return None
        if not value.strip():
            raise self.error(key, "must not be empty")
        if one_line and "\n" in value:
            raise self.error(key, "must be one line")
        return value

    def text(self, key: str, *, one_line: bool = False) -> str:
        value = self.optional_text(key, one_line=one_line)
        if value is None:
            raise self.error(key, "missing")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        """A boolean; required unless there is a ``default``."""
        if default is None:
            return self.required(key, bool, "true or false")
        value = self.optional(key, bool, "true or false")
        return default if value is None else value

    def member(self, key: str, kind: type[E], value: str) -> E:
        """``value`` (read at ``key``) as a member of ``kind``."""
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in kind)
            raise self.error(key, f"unknown {kind.__name__} {value!r}; allowed: {allowed}") from None

    def enum(self, key: str, kind: type[E]) -> E:
        return self.member(key, kind, self.required(key, str, "a string"))

    def strings(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        """A list of distinct strings, in the file's order; ``()`` when absent and not required."""
        value = self.optional(key, list, "a list of strings")
        if value is None:
            if required:
                raise self.error(key, "missing")
            return ()
        if not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of strings, got {value!r}")
        if len(set(value)) != len(value):
            duplicates = sorted({v for v in value if value.count(v) > 1})
            raise self.error(key, f"lists {', '.join(repr(d) for d in duplicates)} twice")
        return tuple(value)

    def enums(self, key: str, kind: type[E], *, required: bool = True) -> frozenset[E]:
        return frozenset(self.member(key, kind, v) for v in self.strings(key, required=required))

    def optional_table(self, key: str, error: ErrorFactory | None = None) -> TomlTable | None:
        """The sub-table at ``key``, if present; its errors come from ``error`` (default: this table's)."""
        value = self.optional(key, dict, "a table")
        if value is None:
            return None
        return TomlTable(value, self._error if error is None else error, self._dotted(str(key)))

    def table(self, key: str, error: ErrorFactory | None = None) -> TomlTable:
        """The sub-table at ``key``; its errors come from ``error`` (default: this table's)."""
        sub = self.optional_table(key, error)
        if sub is None:
            raise self.error(key, "missing")
        return sub

    def finish(self) -> None:
        """Refuse the keys that were not read: they are typos or unknown settings."""
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise self.error(unknown[0], f"unknown key (unknown: {', '.join(unknown)})")
