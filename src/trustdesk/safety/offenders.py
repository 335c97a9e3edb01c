"""Repeat offenders (DSA Art. 23(1)): after each decision against an account, the strike policy says
whether to warn the account, suspend it for a period, or have a person consider terminating it.

- **Warn**: a notice to the account through the connector (a connector step, so it is retried).
- **Suspend**: the account is suspended now and reinstated when the period ends (two connector steps,
  the second due at the end); an appeal that reverses the decision reinstates it at once.
- **Terminate**: never automatic. A case about the account opens in the review queue, and a moderator's
  termination needs a second moderator's approval like any other.
A suspension decided by a reviewer (the ``suspend`` restriction) is lifted the same way at its end.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.authorities.models import new_id
from trustdesk.safety import queue
from trustdesk.safety.enforcement import queue_step
from trustdesk.safety.models import Case, CaseAction, ModerationDecision
from trustdesk.safety.strikes import Strike, StrikeAction, StrikePolicy, StrikeVerdict, evaluate
from trustdesk.safety.vocabulary import CaseStatus, ContentKind
from trustdesk.safety.workflow import CaseSource

__all__ = ["apply_strikes", "history", "schedule_reinstatement"]


def history(session: Session, account_id: str) -> list[Strike]:
    """Every restricting decision against the account, reversed ones marked (strikes.evaluate's input)."""
    rows = session.execute(
        select(ModerationDecision)
        .join(Case, Case.id == ModerationDecision.case_id)
        .where(Case.account_id == account_id, ModerationDecision.category.is_not(None))
        .order_by(ModerationDecision.decided_at)
    ).scalars()
    return [
        Strike(d.decided_at, d.category, reversed=d.reversed_at is not None, keyword=d.keyword)
        for d in rows
        if d.restrictions and d.category is not None and (d.approved_at or "terminate" not in d.restrictions)
    ]


def schedule_reinstatement(
    session: Session, decision: ModerationDecision, account_id: str, at: datetime
) -> None:
    """Lift a suspension when its period ends."""
    queue_step(session, decision, "act_on_account:reinstate", account_id, at)


def _supersede_reinstatements(session: Session, account_id: str, until: datetime) -> None:
    """A longer suspension replaces a shorter one: the earlier end must not lift it."""
    for step in session.scalars(
        select(CaseAction).where(
            CaseAction.kind == "act_on_account:reinstate",
            CaseAction.target == account_id,
            CaseAction.status == "pending",
            CaseAction.next_attempt_at < until,
        )
    ):
        step.status, step.next_attempt_at, step.last_error = "superseded", None, f"a suspension until {until}"


def apply_strikes(
    session: Session, case: Case, decision: ModerationDecision, policy: StrikePolicy, now: datetime
) -> StrikeVerdict:
    """Evaluate the account's strikes after ``decision`` took effect and queue what the policy calls for."""
    verdict = evaluate(history(session, case.account_id), policy, now=now)
    account = case.account_id
    if verdict.action is StrikeAction.WARN:
        queue_step(session, decision, "send_notice:warn", account, now)
    elif verdict.action is StrikeAction.SUSPEND and "terminate" not in decision.restrictions:
        assert verdict.until is not None
        queue_step(session, decision, "act_on_account:suspend", account, now)
        _supersede_reinstatements(session, account, verdict.until)
        schedule_reinstatement(session, decision, account, verdict.until)
    elif verdict.action is StrikeAction.TERMINATE and "terminate" not in decision.restrictions:
        _termination_case(session, case, verdict, now)
    return verdict


def _termination_case(session: Session, case: Case, verdict: StrikeVerdict, now: datetime) -> None:
    """A person considers terminating the account (never the strike policy alone)."""
    key = f"strikes:{case.account_id}"
    if session.scalar(select(Case.id).where(Case.event_key.like(f"{key}:%"), Case.status == CaseStatus.OPEN)):
        return
    priority = max(case.priority, 80)
    session.add(
        Case(
            event_key=f"{key}:{new_id()}", status=CaseStatus.OPEN, priority=priority, category=case.category,
            keyword=case.keyword, content_kind=ContentKind.TEXT, chat_type=None, account_id=case.account_id,
            chat_id=case.chat_id, locator=case.locator, text=verdict.reason, media=None, blur=False,
            auto_removed=False, opened_at=now, source=CaseSource.AUTOMATED,
            target_at=queue.target_at(now, priority, CaseSource.AUTOMATED),
        )
    )  # fmt: skip
