"""Wording helpers: the pieces of the plain-English sentences every rule writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from trustdesk.policy.rules import Principle
from trustdesk.vocabulary import DataCategory, IssuerKind

__all__ = ["ISSUER", "category_list", "cite", "issuers", "join", "years"]


ISSUER: Final[Mapping[IssuerKind, str]] = {
    IssuerKind.POLICE: "a police authority",
    IssuerKind.PROSECUTOR: "a public prosecutor",
    IssuerKind.INVESTIGATING_JUDGE: "an investigating judge",
    IssuerKind.COURT: "a court",
    IssuerKind.REGULATOR: "a regulator",
    IssuerKind.OTHER: "an authority of another kind",
}


def join(items: Iterable[str], conjunction: str = "and") -> str:
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def issuers(kinds: frozenset[IssuerKind]) -> str:
    return join((ISSUER[k] for k in IssuerKind if k in kinds), "or")


def category_list(categories: Iterable[DataCategory]) -> str:
    chosen = set(categories)
    return join(c.value for c in DataCategory if c in chosen)


def years(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


def cite(principle: Principle) -> str:
    """``P3: <statement without its full stop>``, to be continued with ``; <consequence>.``"""
    return f"{principle.id}: {principle.statement.rstrip('.')}"
