"""The due-process state machines: a review case and an appeal, each one explicit transition table.

A case waits in the queue (``open``), is decided by a person (``decided``; terminating an account waits
for a second person in ``awaiting_approval``), and is ``reversed`` when an appeal succeeds. An appeal is
``open`` until a reviewer other than the one who decided grants it (the decision is reversed) or
dismisses it (the decision stands). Pure: no ORM.
"""

from enum import StrEnum
from typing import TypeVar

from trustdesk.errors import Conflict
from trustdesk.safety.vocabulary import CaseStatus

__all__ = [
    "APPEAL_TRANSITIONS",
    "CASE_TRANSITIONS",
    "AppealStatus",
    "AppealTransition",
    "CaseSource",
    "CaseTransition",
    "IllegalTransition",
    "next_appeal_status",
    "next_case_status",
]


class CaseSource(StrEnum):
    """Where a case came from, in the order the queue serves them (DSA Art. 22: trusted flaggers first
    after the authorities' orders)."""

    AUTHORITY_ORDER = "authority_order"
    TRUSTED_FLAGGER = "trusted_flagger"
    AUTOMATED = "automated"
    USER = "user"


class CaseTransition(StrEnum):
    DECIDE = "decide"
    PROPOSE_TERMINATION = "propose_termination"
    APPROVE = "approve"
    REJECT = "reject"
    REVERSE = "reverse"
    REOPEN = "reopen"
    """A notifier's appeal against a decision not to act succeeded: the case is decided again."""


class AppealStatus(StrEnum):
    OPEN = "open"
    GRANTED = "granted"
    """The appeal succeeded: the decision is reversed and what was removed restored."""
    DISMISSED = "dismissed"
    """The decision stands; the appellant is told why and of out-of-court dispute settlement."""


class AppealTransition(StrEnum):
    GRANT = "grant"
    DISMISS = "dismiss"


C, CT = CaseStatus, CaseTransition
CASE_TRANSITIONS: dict[tuple[CaseStatus, CaseTransition], CaseStatus] = {
    (C.OPEN, CT.DECIDE): C.DECIDED,
    (C.OPEN, CT.PROPOSE_TERMINATION): C.AWAITING_APPROVAL,  # four eyes before an account is terminated
    (C.AWAITING_APPROVAL, CT.APPROVE): C.DECIDED,
    (C.AWAITING_APPROVAL, CT.REJECT): C.OPEN,
    (C.DECIDED, CT.REVERSE): C.REVERSED,
    (C.DECIDED, CT.REOPEN): C.OPEN,
}

A, AT = AppealStatus, AppealTransition
APPEAL_TRANSITIONS: dict[tuple[AppealStatus, AppealTransition], AppealStatus] = {
    (A.OPEN, AT.GRANT): A.GRANTED,
    (A.OPEN, AT.DISMISS): A.DISMISSED,
}


_S = TypeVar("_S", bound=StrEnum)
_T = TypeVar("_T", bound=StrEnum)


class IllegalTransition(Conflict):
    code = "illegal_transition"


def _next(table: dict[tuple[_S, _T], _S], what: str, current: _S, transition: _T) -> _S:
    try:
        return table[(current, transition)]
    except KeyError:
        allowed = sorted(t.value for (s, t) in table if s is current)
        raise IllegalTransition(
            f"cannot {transition.value} {what} that is {current.value}; "
            f"allowed: {', '.join(allowed) or 'nothing (final)'}"
        ) from None


def next_case_status(current: CaseStatus, transition: CaseTransition) -> CaseStatus:
    """The case's status after ``transition``; an illegal one raises, naming what is allowed."""
    return _next(CASE_TRANSITIONS, "a case", current, transition)


def next_appeal_status(current: AppealStatus, transition: AppealTransition) -> AppealStatus:
    """The appeal's status after ``transition``; an illegal one raises, naming what is allowed."""
    return _next(APPEAL_TRANSITIONS, "an appeal", current, transition)
