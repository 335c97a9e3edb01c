"""The regular expressions a rule may use, checked at load.

The syntax is what RE2 and Hyperscan both accept, with the same meaning in both:

* literals, ``.``, classes ``[...]`` (including ``[[:alpha:]]``), ``\\d \\w \\s \\b`` and their negations
  (ASCII only in both engines), Unicode properties ``\\p{L}``, ``\\p{N}``, ``\\p{Cyrillic}``…,
  ``\\x{41}``, ``\\Q…\\E``;
* groups ``(…)``, ``(?:…)``, alternation, the quantifiers ``* + ? {m} {m,} {m,n}`` and their lazy forms;
* anchors ``^ $`` (of the whole text) and ``\\A \\z``; inline flags ``(?s) (?m)``.

Refused: what either engine lacks (back-references, look-around, ``\\Z``, ``\\C``, the ungreedy flag
``(?U)``, atomic groups, possessive quantifiers), patterns that match the empty string, upper-case
letters (the text is case-folded before matching) and, more generally, any literal character that the
rule's normalisation never leaves in the text (``é``, Cyrillic look-alikes, and in ``full`` form the
folded digits and ``\\d``: write those rules with ``normalise = "basic"``).
"""

from __future__ import annotations

import re
from typing import Final

from trustdesk.safety.rules.engines import re2_compile
from trustdesk.safety.rules.normalise import Form, normalise

__all__ = ["check_pattern"]

_UNSUPPORTED: Final = (
    (re.compile(r"\\C"), "\\C (one byte) is not supported by Hyperscan in UTF-8 mode"),
    (re.compile(r"\(\?[a-zA-Z]*U"), "the ungreedy flag (?U) is not supported by Hyperscan; use lazy *? +?"),
    (re.compile(r"\\Z"), "\\Z is not supported by RE2; use \\z or $"),
)
_ESCAPE: Final = re.compile(
    r"\\[pP]\{[^}]*\}|\\[pP].|\\x\{[^}]*\}|\\x[0-9a-fA-F]{2}|\\Q.*?(?:\\E|$)|\\.|\{\d+(?:,\d*)?\}"
    r"|\(\?P?<[^>]*>|\(\?[a-z]*(?::|\))|\[\[:\^?[a-z]+:\]\]|\[:\^?[a-z]+:\]",
    re.DOTALL,
)
"""What is not a literal character: escapes, properties, quantifier counts, group names and flags."""
_META: Final = frozenset(".^$|?*+()[]{}-\\ ")
_FULL_DIGIT: Final = re.compile(r"\\d")


def _literals(pattern: str) -> str:
    """The literal characters of ``pattern`` (escapes and syntax removed), roughly."""
    return "".join(ch for ch in _ESCAPE.sub("", pattern) if ch not in _META)


def check_pattern(pattern: str, form: Form) -> str | None:
    """What is wrong with ``pattern`` for a rule normalised in ``form``, or None if it is usable."""
    if not pattern.strip():
        return "must not be empty"
    for unsupported, reason in _UNSUPPORTED:
        if unsupported.search(pattern.replace("\\\\", "")):
            return reason
    try:
        compiled = re2_compile(pattern)
    except ValueError as exc:
        return f"does not compile: {exc}"
    if compiled.search("") is not None:
        return "matches the empty string (every text would match)"
    for ch in dict.fromkeys(_literals(pattern)):
        folded = normalise(ch, form)
        if folded != ch:
            shown = f"becomes {folded!r}" if folded else "is removed"
            return f"contains {ch!r}, which never occurs in {form}-normalised text (it {shown})" + (
                '; use normalise = "basic" for digits'
                if ch.isdigit()
                else "; write patterns in lower case against the normalised text"
            )
    if form is Form.FULL and _FULL_DIGIT.search(pattern.replace("\\\\", "")):
        return '\\d in a full-normalised rule: digits 0 1 3 4 5 7 become letters; use normalise = "basic"'
    return None
