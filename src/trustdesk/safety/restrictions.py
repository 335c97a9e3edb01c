"""What a moderation decision may do (DSA Art. 17(1)), how each restriction is carried out through the
platform connector, and how it is undone when an appeal succeeds. Pure: no ORM, no connector calls."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from trustdesk.platform.protocol import AccountAction, RemovalAction

__all__ = [
    "ACCOUNT_RESTRICTIONS",
    "CONTENT_RESTRICTIONS",
    "DecisionGround",
    "Restriction",
    "Step",
    "reversal_steps",
    "step_of",
    "steps",
]


class Restriction(StrEnum):
    REMOVE = "remove"
    DISABLE = "disable"
    """Access disabled for everyone (the content stays preserved)."""
    GEO_RESTRICT = "geo_restrict"
    """Access disabled in a territorial scope (ISO 3166-1 alpha-2 codes)."""
    DEMOTE = "demote"
    LABEL = "label"
    AGE_RESTRICT = "age_restrict"
    SUSPEND = "suspend"
    """The account is suspended for a period."""
    TERMINATE = "terminate"
    """The account is terminated: a second person approves first."""


class DecisionGround(StrEnum):
    """Why (the Transparency Database's decision_ground)."""

    ILLEGAL_CONTENT = "illegal_content"
    INCOMPATIBLE_CONTENT = "incompatible_content"
    """Incompatible with the terms and conditions."""


CONTENT_RESTRICTIONS: Final = frozenset(
    {
        Restriction.REMOVE,
        Restriction.DISABLE,
        Restriction.GEO_RESTRICT,
        Restriction.DEMOTE,
        Restriction.LABEL,
        Restriction.AGE_RESTRICT,
    }
)
ACCOUNT_RESTRICTIONS: Final = frozenset({Restriction.SUSPEND, Restriction.TERMINATE})
VISIBILITY_ONLY: Final = frozenset({Restriction.DEMOTE, Restriction.LABEL, Restriction.AGE_RESTRICT})
"""Restrictions of visibility the connector protocol has no call for: the platform applies them from the
decision it is told of; Trustdesk records them and states them in the statement of reasons."""


@dataclass(frozen=True)
class Step:
    """One connector call: ``kind`` names it (``remove_content:remove``, ``act_on_account:suspend``)."""

    kind: str
    target: str
    removal: RemovalAction | None = None
    account: AccountAction | None = None
    scope: tuple[str, ...] | None = None


def steps(
    restrictions: frozenset[Restriction], locator: str, account_id: str, scope: tuple[str, ...] | None
) -> list[Step]:
    """The connector calls that carry out ``restrictions``, content first, then the account."""
    out: list[Step] = []
    if restrictions & {Restriction.REMOVE, Restriction.DISABLE}:
        out.append(Step("remove_content:remove", locator, removal=RemovalAction.REMOVE))
    elif Restriction.GEO_RESTRICT in restrictions:
        out.append(
            Step("remove_content:geo_restrict", locator, removal=RemovalAction.GEO_RESTRICT, scope=scope)
        )
    if Restriction.TERMINATE in restrictions:
        out.append(Step("act_on_account:terminate", account_id, account=AccountAction.TERMINATE))
    elif Restriction.SUSPEND in restrictions:
        out.append(Step("act_on_account:suspend", account_id, account=AccountAction.SUSPEND))
    return out


def step_of(kind: str, target: str) -> Step:
    """The step a recorded ``kind`` (``remove_content:remove``) stands for."""
    call, _, what = kind.partition(":")
    if call == "remove_content":
        return Step(kind, target, removal=RemovalAction(what))
    if call == "act_on_account":
        return Step(kind, target, account=AccountAction(what))
    raise ValueError(f"unknown step {kind!r}")


def reversal_steps(done: list[Step]) -> list[Step]:
    """The calls that undo ``done``: restore the content, reinstate the account (undoing steps
    themselves are not undone)."""
    out: list[Step] = []
    for step in done:
        if step.removal in (RemovalAction.RESTORE, None) and step.account in (AccountAction.REINSTATE, None):
            continue
        if step.removal is not None:
            out.append(Step("remove_content:restore", step.target, removal=RemovalAction.RESTORE))
        elif step.account is not None:
            out.append(Step("act_on_account:reinstate", step.target, account=AccountAction.REINSTATE))
    return out
