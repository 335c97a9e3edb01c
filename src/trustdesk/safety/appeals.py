"""Appeals against moderation decisions: the internal complaint-handling system of DSA Art. 20.

Free and electronic, open for six calendar months after the decision (Art. 20(1)), to the affected user
(through the key in the statement of reasons' link) and to the notifier of a notice that was not acted
upon (through the key given with the notice's acknowledgement). A person other than the one who decided
(and who approved) decides the appeal, never a machine (Art. 20(6)). Granted, it reverses the decision:
what was removed is restored and the account reinstated through the connector (see ``enforcement.py``),
or, for a notifier, the case returns to the queue to be decided again. The outcome is told with the
out-of-court dispute settlement option (Art. 21).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key, key_matches
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from trustdesk.legaltime import CalendarPeriod
from trustdesk.references import new_reference
from trustdesk.safety.enforcement import queue_step
from trustdesk.safety.models import Appeal, Case, CaseAction, ModerationDecision, Notice, StatementRecord
from trustdesk.safety.restrictions import reversal_steps, step_of
from trustdesk.safety.workflow import (
    AppealStatus,
    AppealTransition,
    CaseTransition,
    next_appeal_status,
    next_case_status,
)
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

__all__ = [
    "APPEAL_WINDOW",
    "OUT_OF_COURT",
    "Appellant",
    "decide_appeal",
    "file_appeal",
    "find_appeal",
    "open_appeals",
]

APPEAL_WINDOW: Final = CalendarPeriod(months=6)
"""At least six months after the decision (Art. 20(1)): calendar months."""
OUT_OF_COURT: Final = (
    "If you disagree, you may refer the decision to a certified out-of-court dispute settlement body "
    "(Regulation (EU) 2022/2065 Art. 21) or go to court."
)
MAX_BODY: Final = 5000


@dataclass(frozen=True)
class Appellant:
    """Who may appeal a decision, found by the key in their link."""

    kind: str
    """affected_user or notifier."""
    decision: ModerationDecision
    statement: StatementRecord | None = None
    notice: Notice | None = None


def _reference(at: datetime) -> str:
    return new_reference("AP", at.year)


def appellant_of(session: Session, key: str) -> Appellant:
    """The appellant holding ``key``: a statement's (the affected user) or a notice's (the notifier)."""
    digest = hash_api_key(key.strip())
    statement = session.scalar(select(StatementRecord).where(StatementRecord.appeal_key_hash == digest))
    if statement is not None:
        decision = session.get_one(ModerationDecision, statement.decision_id)
        return Appellant("affected_user", decision, statement=statement)
    notice = session.scalar(select(Notice).where(Notice.appeal_key_hash == digest))
    if notice is None:
        raise NotFound(
            "this appeal link is not valid: use the link from your statement or notice", code="bad_appeal_key"
        )
    if notice.decided_at is None:
        raise Conflict("your notice has not been decided yet: there is nothing to appeal", code="not_decided")
    if notice.outcome == "actioned":
        raise Conflict("your notice was acted upon: there is nothing to appeal", code="notice_actioned")
    latest = session.scalar(
        select(ModerationDecision)
        .where(ModerationDecision.case_id == notice.case_id)
        .order_by(ModerationDecision.decided_at.desc())
        .limit(1)
    )
    if latest is None:
        raise Conflict("no decision on your notice to appeal", code="not_decided")
    return Appellant("notifier", latest, notice=notice)


def file_appeal(session: Session, clock: Clock, key: str, body: str) -> Appeal:
    """Lodge an appeal; refused, changing nothing, after six months, while one is open, or when empty."""
    text = body.strip()
    if not text:
        raise InvalidInput("say why the decision is wrong", field="body")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"at most {MAX_BODY} characters", field="body")
    who = appellant_of(session, key)
    now = clock()
    closes = APPEAL_WINDOW.after(who.decision.decided_at)
    if now > closes:
        raise Conflict(
            f"appeals against this decision closed on {closes.date().isoformat()}, six months after it "
            "(DSA Art. 20(1))",
            code="appeal_window_closed",
        )
    if who.decision.reversed_at is not None:
        raise Conflict("this decision was already reversed", code="decision_reversed")
    pending = session.scalar(
        select(Appeal.id).where(
            Appeal.decision_id == who.decision.id,
            Appeal.appellant == who.kind,
            Appeal.status == AppealStatus.OPEN,
        )
    )
    if pending is not None:
        raise Conflict("an appeal against this decision is already open", code="appeal_open")
    appeal = Appeal(
        reference=_reference(now),
        decision_id=who.decision.id,
        appellant=who.kind,
        statement_id=who.statement.id if who.statement else None,
        notice_id=who.notice.id if who.notice else None,
        body=text,
        filed_at=now,
        status=AppealStatus.OPEN,
    )
    session.add(appeal)
    session.flush()
    audit.record(
        session, clock, Actor(ActorKind.PUBLIC, who.kind), AuditAction.APPEAL_FILE, subject_type="appeal",
        subject_id=appeal.id, data={"reference": appeal.reference, "decision_id": who.decision.id},
    )  # fmt: skip
    return appeal


def open_appeals(session: Session, *, limit: int = 200) -> list[Appeal]:
    """Open appeals, oldest first."""
    return list(
        session.scalars(
            select(Appeal)
            .where(Appeal.status == AppealStatus.OPEN)
            .order_by(Appeal.filed_at, Appeal.id)
            .limit(limit)
        )
    )


def _reverse(session: Session, decision: ModerationDecision, now: datetime) -> None:
    """Queue the connector steps that undo what the decision did (restore, reinstate)."""
    done = session.scalars(
        select(CaseAction).where(CaseAction.decision_id == decision.id, CaseAction.status == "done")
    )
    undoable = [a for a in done if not a.kind.startswith("send_notice")]  # what was said stays said
    for step in reversal_steps([step_of(action.kind, action.target) for action in undoable]):
        queue_step(session, decision, step.kind, step.target, now)


def decide_appeal(
    session: Session, clock: Clock, user: StaffUser, appeal_id: str, *, grant: bool, answer: str
) -> Appeal:
    """A person other than the decider (and the approver) grants or dismisses the appeal."""
    require(user, Permission.STAFF_CASE_MODERATE)
    if not answer.strip():
        raise InvalidInput("give the appellant the reasons of the outcome", field="answer")
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"no appeal {appeal_id}", code="appeal_not_found", field="appeal")
    decision = session.get_one(ModerationDecision, appeal.decision_id)
    if user.id in {decision.decided_by, decision.approved_by}:
        raise Forbidden(
            "a different person decides the appeal than the one who decided (DSA Art. 20(6))",
            code="same_reviewer",
        )
    now = clock()
    appeal.status = next_appeal_status(
        appeal.status, AppealTransition.GRANT if grant else AppealTransition.DISMISS
    )
    appeal.decided_by, appeal.decided_at, appeal.answer = user.id, now, answer.strip()
    case = session.get_one(Case, decision.case_id)
    if grant:
        decision.reversed_at = now
        if appeal.appellant == "notifier":
            case.status = next_case_status(case.status, CaseTransition.REOPEN)
            case.decided_at = None
            for notice in session.scalars(select(Notice).where(Notice.case_id == case.id)):
                notice.decided_at, notice.outcome = None, None  # the next decision answers them again
        else:
            case.status = next_case_status(case.status, CaseTransition.REVERSE)
            _reverse(session, decision, now)
    if appeal.appellant == "affected_user":  # told through the platform (a notifier reads the status page)
        queue_step(
            session, decision, f"send_notice:appeal-{appeal.reference}", case.account_id, now,
            payload={"text": told_text(appeal), "appeal_id": appeal.id},
        )  # fmt: skip
    audit.record(
        session, clock, Actor(ActorKind.STAFF, user.id), AuditAction.APPEAL_DECIDE, subject_type="appeal",
        subject_id=appeal.id,
        data={"granted": grant, "decision_id": decision.id, "case_status": case.status.value},
    )  # fmt: skip
    session.flush()
    return appeal


def told_text(appeal: Appeal) -> str:
    """What the appellant is told of the outcome (Art. 20(5)), with the Art. 21 option."""
    outcome = (
        "Your appeal was granted: the decision is reversed."
        if appeal.status is AppealStatus.GRANTED
        else "Your appeal was dismissed: the decision stands."
    )
    return f"Appeal {appeal.reference}: {outcome} {appeal.answer} {OUT_OF_COURT}"


def find_appeal(session: Session, reference: str, key: str) -> Appeal:
    """The appeal with this reference lodged with ``key`` (its statement's or its notice's); the same
    NotFound for either wrong."""
    appeal = session.scalar(select(Appeal).where(Appeal.reference == reference.strip().upper()))
    digest: str | None = None
    if appeal is not None and appeal.notice_id is not None:
        digest = session.get_one(Notice, appeal.notice_id).appeal_key_hash
    elif appeal is not None and appeal.statement_id is not None:
        digest = session.get_one(StatementRecord, appeal.statement_id).appeal_key_hash
    if appeal is None or not key_matches(digest, key):
        raise NotFound("no appeal with this reference and key", code="appeal_not_found")
    return appeal
