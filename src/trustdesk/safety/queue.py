"""How the review queue is ordered: severity, reach, source and age, each case with its target time.

Pure: no ORM, no wall clock. The platform's own targets (the law says "timely" and, for trusted flaggers,
"with priority", DSA Arts 16(6), 22(1)): an authority's order or the gravest harm within the hour, a
trusted flagger's notice within 12 hours, other machine findings within a day, a user's notice within two.
"""

from datetime import datetime, timedelta
from typing import Final

from trustdesk.safety.vocabulary import DsaKeyword
from trustdesk.safety.workflow import CaseSource

__all__ = ["SEVERITY", "TARGETS", "priority", "severity", "target_at"]

SEVERITY: Final[dict[DsaKeyword, int]] = {
    DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL: 100,
    DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE: 100,
    DsaKeyword.GROOMING_SEXUAL_ENTICEMENT_MINORS: 95,
    DsaKeyword.TERRORIST_CONTENT: 90,
    DsaKeyword.NON_CONSENSUAL_IMAGE_SHARING: 85,
    DsaKeyword.HUMAN_TRAFFICKING: 85,
    DsaKeyword.SUICIDE: 80,
    DsaKeyword.SELF_MUTILATION: 80,
    DsaKeyword.INCITEMENT_VIOLENCE_HATRED: 75,
}
"""The gravest harms first; any other keyword (or none) is 50."""

DEFAULT_SEVERITY: Final = 50

TARGETS: Final[dict[CaseSource, timedelta]] = {
    CaseSource.AUTHORITY_ORDER: timedelta(hours=1),
    CaseSource.TRUSTED_FLAGGER: timedelta(hours=12),
    CaseSource.AUTOMATED: timedelta(hours=24),
    CaseSource.USER: timedelta(hours=48),
}
GRAVE: Final = 90
"""From this priority on, a case is due within the hour whatever its source."""
GRAVE_TARGET: Final = timedelta(hours=1)


def severity(keyword: DsaKeyword | None) -> int:
    """0-100: how grave the harm named by ``keyword`` is."""
    return SEVERITY.get(keyword, DEFAULT_SEVERITY) if keyword is not None else DEFAULT_SEVERITY


def priority(grave: int, audience: int, *, boost: bool = False) -> int:
    """0-100: the severity, plus up to 10 for the reach (a point per thousand who can see it) and 10 for a
    confident classifier."""
    return min(100, grave + min(10, max(0, audience) // 1_000) + (10 if boost else 0))


def target_at(opened_at: datetime, priority_: int, source: CaseSource) -> datetime:
    """When the case should be decided: its source's target, within the hour for the gravest harms."""
    period = TARGETS[source]
    if priority_ >= GRAVE:
        period = min(period, GRAVE_TARGET)
    return opened_at + period


def stronger(a: CaseSource, b: CaseSource) -> CaseSource:
    """The source served first (the order of :class:`CaseSource`)."""
    order = list(CaseSource)
    return a if order.index(a) <= order.index(b) else b
