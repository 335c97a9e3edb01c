"""Transparency metrics for a period and a scope, computed from the records with SQL aggregates.

``lawful_metrics`` counts the lawful desk (requests, outcomes, instruments, accounts, medians, principle
conflicts, the EU orders of template 3 and the per-country table); ``moderation_metrics`` counts content
moderation (notices, own-initiative measures, appeals, automated means). This module holds what both
share: the scope, the portable SQL for durations and medians, and `compute`, the whole tree.

Every ``int`` of the tree is a count (see ``protection.Tree``); medians are `Median`, rates `Share`.
Nothing is published from here: renderers go through ``protection.protect`` first.

Medians are computed the same way on SQLite and PostgreSQL: one ``COUNT`` and one ordered ``LIMIT 2
OFFSET (n-1)/2`` over the durations, so the database sorts and two numbers come back, never the rows.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pycountry
from sqlalchemy import ColumnElement, Float, and_, cast, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlalchemy.sql.selectable import Subquery

from trustdesk.errors import InvalidInput
from trustdesk.lawful.catalogue import EU_MEMBER_STATES, Catalogue
from trustdesk.transparency.periods import Period
from trustdesk.transparency.protection import Median, Tree

__all__ = [
    "GLOBAL",
    "Scope",
    "compute",
    "in_period",
    "median_of",
    "parse_scope",
    "seconds_between",
]

GLOBAL: Final = "global"


@dataclass(frozen=True)
class Scope:
    """``global``, or one country (ISO 3166-1 alpha-2; a Member State when it is in the EU)."""

    code: str

    @property
    def is_global(self) -> bool:
        return self.code == GLOBAL

    @property
    def country(self) -> str | None:
        return None if self.is_global else self.code

    @property
    def member_state(self) -> bool:
        return self.code in EU_MEMBER_STATES

    def __str__(self) -> str:
        return self.code


def parse_scope(text: str | None) -> Scope:
    """``global`` (or nothing) or an ISO 3166-1 alpha-2 country code; anything else is `InvalidInput`."""
    if text is None or text.strip().lower() in ("", GLOBAL):
        return Scope(GLOBAL)
    code = text.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidInput(
            f"scope {text!r} is neither 'global' nor an ISO 3166-1 alpha-2 country code (FR, DE, US, ...)",
            field="scope",
        )
    return Scope(code)


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """``later - earlier`` in seconds, as SQL: SQLite stores UTC timestamps as text (``julianday``),
    PostgreSQL as ``timestamptz`` (``extract(epoch ...)``)."""
    if dialect_of(session) == "sqlite":
        return cast((func.julianday(later) - func.julianday(earlier)) * 86400.0, Float)
    return cast(func.extract("epoch", later - earlier), Float)


def in_period(column: InstrumentedAttribute[Any] | KeyedColumnElement[Any], period: Period) -> Any:
    """``column`` lies in the period: from its first instant (inclusive) to the next period's (exclusive)."""
    return and_(column >= period.start, column < period.end)


def median_of(session: Session, source: Subquery, column: str, *where: Any) -> Median:
    """The median of ``source.c[column]`` over the rows meeting ``where`` (None values left out)."""
    value = source.c[column]
    conditions = [value.is_not(None), *where]
    n = session.scalar(select(func.count()).select_from(source).where(*conditions)) or 0
    if n == 0:
        return Median(None, 0)
    low, high = (n - 1) // 2, n // 2
    values = session.scalars(
        select(value).where(*conditions).order_by(value).offset(low).limit(high - low + 1)
    ).all()
    return Median(sum(float(v) for v in values) / len(values), n)


def true_count(condition: Any) -> ColumnElement[int]:
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``, 0 over no rows."""
    from sqlalchemy import case

    return func.coalesce(func.sum(case((condition, literal(1)), else_=literal(0))), 0)


def compute(
    session: Session, catalogue: Catalogue, period: Period, scope: Scope, *, built_at: datetime
) -> dict[str, Tree]:
    """Every metric of the period and scope. Moderation figures are the service's as a whole (nothing in
    a notice or a case says which country it concerns), so only a global report holds them."""
    from trustdesk.transparency import lawful_metrics, moderation_metrics

    tree: dict[str, Tree] = {
        "period": period.label,
        "period_range": period.eu_range,
        "scope": scope.code,
        "complete": "yes" if period.has_ended(built_at) else "no (the period had not ended when built)",
        "lawful": lawful_metrics.compute(session, catalogue, period, scope),
    }
    if scope.is_global:
        tree["moderation"] = moderation_metrics.compute(session, period)
    return tree
