"""Finding the line of a key in a rule file, for error messages (``tomllib`` keeps no positions).

Rules are ``[[rule]]`` tables; a key of a rule is found as ``key =`` inside the rule's lines, as a dotted
key (``conditions.min_audience =``) or under a sub-table header (``[rule.conditions]``), and an element
of a list by searching for its text after the key. When nothing is found, the rule's header line is
the answer: close, and never wrong about which rule.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from typing import Final

__all__ = ["Lines"]

_RULE_HEADER: Final = re.compile(r"^\s*\[\[\s*rule\s*\]\]")
_HEADER: Final = re.compile(r"^\s*\[\s*rule\s*\.\s*(?P<name>[A-Za-z0-9_.\s-]+?)\s*\]")


class Lines:
    """The lines of one rule file, indexed by rule."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.rule_starts = [i for i, line in enumerate(self.lines) if _RULE_HEADER.match(line)]

    def _range(self, rule: int | None) -> tuple[int, int]:
        if rule is None:  # the document's own keys: before the first rule
            return 0, self.rule_starts[0] if self.rule_starts else len(self.lines)
        if rule >= len(self.rule_starts):
            return 0, len(self.lines)
        end = self.rule_starts[rule + 1] if rule + 1 < len(self.rule_starts) else len(self.lines)
        return self.rule_starts[rule], end

    def rule_line(self, rule: int | None) -> int:
        """The 1-based line of rule number ``rule``'s header (1 when unknown)."""
        if rule is None or rule >= len(self.rule_starts):
            return 1
        return self.rule_starts[rule] + 1

    def of(self, rule: int | None, path: str, needle: str | None = None) -> int:
        """The 1-based line of ``path`` (dotted, relative to the rule) in ``rule``, or of ``needle``
        (a string value) at or after it; the rule's header line when neither is found."""
        low, high = self._range(rule)
        index = self._key(low, high, path.split(".")) if path else None
        if index is None:
            index = low if rule is not None and rule < len(self.rule_starts) else None
        if needle is not None:
            found = self._needle(low if index is None else index, high, needle)
            index = found if found is not None else index
        return 1 if index is None else index + 1

    def _key(self, low: int, high: int, parts: list[str]) -> int | None:
        headers = [i for i in range(low, high) if _HEADER.match(self.lines[i])]
        for split in range(len(parts) - 1, -1, -1):
            table, key = parts[:split], parts[split:]
            if table:
                wanted = ".".join(table)
                starts = [i for i in headers if _name(self.lines[i]) == wanted]
                if not starts:
                    continue
                start = starts[0]
            else:
                start = low
            ends = headers[bisect_right(headers, start) :]
            end = ends[0] if ends else high
            pattern = re.compile(r"^\s*" + r"\s*\.\s*".join(re.escape(k) for k in key) + r"\s*=")
            for i in range(start, end):
                if pattern.match(self.lines[i]):
                    return i
        return self._key(low, high, parts[:-1]) if len(parts) > 1 else None

    def _needle(self, start: int, high: int, needle: str) -> int | None:
        forms = {needle, json.dumps(needle, ensure_ascii=False)[1:-1]}
        for i in range(start, high):
            if any(form and form in self.lines[i] for form in forms):
                return i
        return None


def _name(header: str) -> str:
    match = _HEADER.match(header)
    return "" if match is None else re.sub(r"\s+", "", match["name"])
