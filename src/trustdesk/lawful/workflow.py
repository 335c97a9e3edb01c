"""The lawful-request state machine: one explicit transition table, which is also its documentation."""

from enum import StrEnum

from trustdesk.errors import Conflict


class RequestStatus(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    IN_REVIEW = "in_review"
    CLARIFICATION_REQUESTED = "clarification_requested"
    WAITING = "waiting"  # e.g. an EPOC whose enforcing authority was notified: delivered at day 10
    DECIDED = "decided"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    CHALLENGED = "challenged"  # counsel challenges a binding order that conflicts with the principles
    EXECUTING = "executing"
    ANSWERED = "answered"
    CLOSED = "closed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class Transition(StrEnum):
    START_REVIEW = "start_review"
    REQUEST_CLARIFICATION = "request_clarification"
    RECEIVE_CLARIFICATION = "receive_clarification"
    WAIT = "wait"
    END_WAIT = "end_wait"
    DECIDE = "decide"
    SUBMIT_FOR_APPROVAL = "submit_for_approval"
    CLEAR = "clear"  # a decision that discloses nothing (preservation, removal) needs no second approver
    APPROVE = "approve"
    REJECT_APPROVAL = "reject_approval"
    EXECUTE = "execute"
    ANSWER = "answer"
    REFUSE = "refuse"
    REFUSE_ON_RECEIPT = "refuse_on_receipt"  # the instrument is not applicable or not recognised there
    ENFORCING_REFUSAL = "enforcing_refusal"  # the notified enforcing authority raised a ground (Art. 12)
    VERIFICATION_FAILED = "verification_failed"  # the callback did not confirm it: presumed forged
    CHALLENGE = "challenge"
    END_CHALLENGE = "end_challenge"
    WITHDRAW = "withdraw"
    CLOSE = "close"


S, T = RequestStatus, Transition
_OPEN = (
    S.ACKNOWLEDGED,
    S.IN_REVIEW,
    S.CLARIFICATION_REQUESTED,
    S.WAITING,
    S.DECIDED,
    S.AWAITING_APPROVAL,
    S.APPROVED,
    S.CHALLENGED,
)

TRANSITIONS: dict[tuple[RequestStatus, Transition], RequestStatus] = {
    (S.ACKNOWLEDGED, T.START_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, T.REQUEST_CLARIFICATION): S.CLARIFICATION_REQUESTED,
    (S.CLARIFICATION_REQUESTED, T.RECEIVE_CLARIFICATION): S.IN_REVIEW,
    (S.APPROVED, T.WAIT): S.WAITING,  # the enforcing authority may object until the delivery date
    (S.WAITING, T.END_WAIT): S.APPROVED,
    (S.IN_REVIEW, T.DECIDE): S.DECIDED,
    (S.DECIDED, T.SUBMIT_FOR_APPROVAL): S.AWAITING_APPROVAL,
    (S.DECIDED, T.CLEAR): S.APPROVED,
    (S.AWAITING_APPROVAL, T.APPROVE): S.APPROVED,
    (S.AWAITING_APPROVAL, T.REJECT_APPROVAL): S.IN_REVIEW,
    (S.APPROVED, T.EXECUTE): S.EXECUTING,
    (S.EXECUTING, T.ANSWER): S.ANSWERED,
    (S.ANSWERED, T.CLOSE): S.CLOSED,
    (S.REFUSED, T.CLOSE): S.CLOSED,
    (S.WITHDRAWN, T.CLOSE): S.CLOSED,
    (S.IN_REVIEW, T.REFUSE): S.REFUSED,
    (S.DECIDED, T.REFUSE): S.REFUSED,
    (S.ACKNOWLEDGED, T.REFUSE_ON_RECEIPT): S.REFUSED,
    (S.IN_REVIEW, T.CHALLENGE): S.CHALLENGED,  # the legal clock keeps running during a challenge
    (S.CHALLENGED, T.END_CHALLENGE): S.IN_REVIEW,
    **{(state, T.ENFORCING_REFUSAL): S.REFUSED for state in (*_OPEN, S.EXECUTING)},
    **{(state, T.WITHDRAW): S.WITHDRAWN for state in _OPEN},
    **{(state, T.VERIFICATION_FAILED): S.REFUSED for state in _OPEN},
}

OPEN_STATUSES = frozenset(_OPEN) | {S.EXECUTING}
"""Statuses in which the deadline clock runs (unless paused) and the authority awaits an answer."""


class IllegalTransition(Conflict):
    code = "illegal_transition"


def next_status(current: RequestStatus, transition: Transition) -> RequestStatus:
    """The status after ``transition``; an illegal transition raises with what is allowed instead."""
    try:
        return TRANSITIONS[(current, transition)]
    except KeyError:
        allowed = sorted(t.value for (s, t) in TRANSITIONS if s is current)
        raise IllegalTransition(
            f"cannot {transition.value} a request that is {current.value}; "
            f"allowed: {', '.join(allowed) or 'nothing (final)'}"
        ) from None
