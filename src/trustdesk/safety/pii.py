"""Personal data in free text (reference/dsa-statement-of-reasons.md line 19: "No personal data may be
submitted, free-text fields included"). Pure: finds the kinds of personal data a text holds, never returns
the data itself.

What is found: Matrix user ids (``@alice:example.org``), e-mail addresses, IPv6 and IPv4 addresses, phone
numbers (international with ``+`` or ``00`` and 7 to 15 digits, or national with 9 to 15 digits, in the
usual groupings of spaces, dots, hyphens, slashes and parentheses) and handles (``@alice``). Dates
(``2026-12-01``, ``01/12/2026``, ``1.12.2026``) are never read as phone numbers. A name written without a
sigil is not found: the person who writes the facts is responsible for leaving names out.
"""

import ipaddress
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Final

__all__ = ["PiiKind", "find_personal_data"]


class PiiKind(StrEnum):
    MATRIX_ID = "Matrix user id"
    EMAIL = "e-mail address"
    IPV6 = "IPv6 address"
    IPV4 = "IPv4 address"
    PHONE = "phone number"
    HANDLE = "user name (@handle)"


_MATRIX_ID: Final = re.compile(r"(?<![\w@])@[A-Za-z0-9._=/+\-]+:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d+)?")
_EMAIL: Final = re.compile(r"[\w.+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+", re.UNICODE)
_IPV6_CANDIDATE: Final = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%\w+)?")
_IPV4: Final = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]\d)"
)
_DATE: Final = re.compile(r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{4})\b")
_PHONE_CANDIDATE: Final = re.compile(
    r"(?<![\w+])(?:\+|\b00)?\s?(?:\(\d{1,5}\)|\d)(?:[ .\-/]?(?:\(\d{1,5}\)|\d))+(?![\w])"
)
_HANDLE: Final = re.compile(
    r"(?<![\w.@+\-])@[A-Za-z0-9_][A-Za-z0-9_.\-]*[A-Za-z0-9_]|(?<![\w.@+\-])@[A-Za-z0-9_]"
)
_MASK: Final = "#"


def _ipv6(text: str) -> Iterator[tuple[int, int]]:
    for match in _IPV6_CANDIDATE.finditer(text):
        token = match.group().rstrip(".")
        if not any(c in "0123456789abcdefABCDEF" for c in token):
            continue
        try:
            ipaddress.IPv6Address(token)
        except ValueError:
            continue
        yield match.start(), match.start() + len(token)


def _phone(text: str) -> Iterator[tuple[int, int]]:
    for match in _PHONE_CANDIDATE.finditer(text):
        token = match.group().strip()
        digits = sum(c.isdigit() for c in token)
        international = token.startswith(("+", "00"))
        if (international and 7 <= digits <= 15) or (not international and 9 <= digits <= 15):
            yield match.span()


def _regex(pattern: re.Pattern[str]) -> Callable[[str], Iterator[tuple[int, int]]]:
    def find(text: str) -> Iterator[tuple[int, int]]:
        for match in pattern.finditer(text):
            yield match.span()

    return find


# Most specific first: each finding is masked before the next finder reads the text, so a Matrix id is
# not also an e-mail address and a handle, an IP address is not a phone number.
_FINDERS: Final[tuple[tuple[PiiKind | None, Callable[[str], Iterator[tuple[int, int]]]], ...]] = (
    (PiiKind.MATRIX_ID, _regex(_MATRIX_ID)),
    (PiiKind.EMAIL, _regex(_EMAIL)),
    (PiiKind.IPV6, _ipv6),
    (PiiKind.IPV4, _regex(_IPV4)),
    (None, _regex(_DATE)),  # dates are masked, not personal data
    (PiiKind.PHONE, _phone),
    (PiiKind.HANDLE, _regex(_HANDLE)),
)


def find_personal_data(text: str) -> tuple[PiiKind, ...]:
    """The kinds of personal data ``text`` holds, in the order of ``PiiKind``; empty if none."""
    found: list[PiiKind] = []
    for kind, finder in _FINDERS:
        spans = list(finder(text))
        if spans and kind is not None and kind not in found:
            found.append(kind)
        for start, end in spans:
            text = text[:start] + _MASK * (end - start) + text[end:]
    return tuple(found)
