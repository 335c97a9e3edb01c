"""Authority removal orders in the moderation record: each removal the lawful desk executes becomes a case.

A removal order (TCO Regulation Art. 3, DSA Art. 9) is decided and executed by the legal team on the
lawful side (``trustdesk.lawful.removals``), with four eyes and within the order's deadline. What the
order removed still belongs in the moderation record:

* a **case** with the source ``authority_order`` on the item and its account, decided by the legal team's
  reviewer (the restriction, the legal ground the authority cited, the authority's reasons), so that a
  moderator sees the order on the item, in the account's history and among its strikes, and a user's
  notice on the same item joins the decided case instead of reopening it (it is answered: actioned);
* a **statement of reasons** (DSA Art. 17) with ``SOURCE_TYPE_OTHER_NOTIFICATION`` and the authority as
  its source identity, validated and kept for the EU Transparency Database like every other one.

The statement is not delivered from here: when and how the content provider is told of a removal order
is the lawful desk's (TCO Art. 11, with the authority's confidentiality), and redress against an order is
its complaint procedure (TCO Art. 10) and the courts of the issuing State (Art. 9), not an internal
appeal that could put back what an authority ordered removed. Nor are strikes applied now (a warning
could tell the user while the order is confidential); the decision counts in the account's history for
the next one.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.safety import notices, reasons
from trustdesk.safety.models import Case, ModerationDecision
from trustdesk.safety.queue import priority, severity
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.statement_rules import StatementRefused
from trustdesk.safety.vocabulary import CaseStatus, ContentKind, DsaCategory, DsaKeyword
from trustdesk.safety.workflow import CaseSource, CaseTransition, next_case_status

__all__ = ["OrderRemoval", "record_order_removal"]

_CLASSIFICATION: Final = {
    "EU_TCO_REMOVAL": (DsaCategory.RISK_FOR_PUBLIC_SECURITY, DsaKeyword.TERRORIST_CONTENT),
}
"""The DSA category an instrument's orders fall under; an order under another instrument (DSA Art. 9 on
national law) names no category, which the database's vocabulary says as ``NOT_SPECIFIED_NOTICE`` with a
violation of national law."""
_UNSPECIFIED: Final = (DsaCategory.NOT_SPECIFIED_NOTICE, DsaKeyword.VIOLATION_NATIONAL_LAW)


@dataclass(frozen=True)
class OrderRemoval:
    """One item an authority's order removed, as the lawful desk executed it."""

    tracking_number: str
    instrument: str
    authority: str
    legal_basis: str
    reasons: str
    locator: str
    account_id: str
    geo_restricted: bool
    scope: tuple[str, ...] | None
    effective_at: datetime
    decided_by: str


def _case_for(session: Session, removal: OrderRemoval, category: DsaCategory, keyword: DsaKeyword) -> Case:
    """The item's undecided case (a user's notice, a scanner signal), or a new one for the order."""
    case = session.scalar(
        select(Case)
        .where(Case.locator == removal.locator, Case.status == CaseStatus.OPEN)
        .order_by(Case.opened_at)
        .limit(1)
    )
    if case is None:
        case = Case(
            event_key=f"order:{removal.tracking_number}:{removal.locator}"[:300],
            status=CaseStatus.OPEN,
            priority=priority(severity(keyword), 0),
            category=category,
            keyword=keyword,
            content_kind=ContentKind.TEXT,
            chat_type=None,
            account_id=removal.account_id,
            chat_id="",
            locator=removal.locator,
            text=None,
            media=None,
            blur=True,
            auto_removed=False,
            opened_at=removal.effective_at,
        )
        session.add(case)
        session.flush()
    case.source = CaseSource.AUTHORITY_ORDER
    case.claimed_by, case.claim_expires_at = None, None
    return case


def _decide(
    session: Session, clock: Clock, removal: OrderRemoval, explanation: str
) -> tuple[Case, ModerationDecision]:
    category, keyword = _CLASSIFICATION.get(removal.instrument, _UNSPECIFIED)
    case = _case_for(session, removal, category, keyword)
    restriction = Restriction.GEO_RESTRICT if removal.geo_restricted else Restriction.REMOVE
    decision = ModerationDecision(
        case_id=case.id,
        decided_by=removal.decided_by,
        decided_at=removal.effective_at,
        restrictions=[restriction.value],
        territorial_scope=list(removal.scope) if removal.scope else None,
        ground=DecisionGround.ILLEGAL_CONTENT.value,
        legal_ground=f"{removal.legal_basis} (order {removal.tracking_number} of {removal.authority})"[:500],
        tos_ground=None,
        explanation=explanation[:2000],
        category=category,
        keyword=keyword,
        order_reference=removal.tracking_number,
    )
    session.add(decision)
    case.status = next_case_status(case.status, CaseTransition.DECIDE)
    case.decided_at = removal.effective_at
    session.flush()
    reasons.issue_statement(
        session, clock, case, decision, public_url="", deliver=False, source_identity=removal.authority
    )
    return case, decision


def record_order_removal(session: Session, clock: Clock, actor: Actor, removal: OrderRemoval) -> Case | None:
    """Record the executed order on the item's case, decide it, and keep its statement of reasons.

    The authority's reasons are the statement's explanation. Where the database would refuse them (they
    name a person, say), the statement explains the order without them. Where even that is refused (the
    authority's name is an e-mail address), nothing is recorded but the refusal, and None is returned:
    the removal itself never waits on the statement."""
    generic = f"Removal order {removal.tracking_number} of {removal.authority} under {removal.legal_basis}."
    for explanation in dict.fromkeys((removal.reasons.strip() or generic, generic)):
        try:
            with session.begin_nested():
                case, decision = _decide(session, clock, removal, explanation)
            break
        except StatementRefused as exc:
            refusal = exc
    else:
        audit.record(
            session, clock, actor, AuditAction.STATEMENT_REFUSE, subject_type="content",
            subject_id=removal.locator[:64], data={"order": removal.tracking_number, "rule": refusal.rule,
                                                   "field": refusal.field},
        )  # fmt: skip
        return None
    notices.record_outcome(session, clock, case, actioned=True)
    audit.record(
        session, clock, actor, AuditAction.CASE_DECIDE, subject_type="case", subject_id=case.id,
        data={"decision_id": decision.id, "restrictions": decision.restrictions, "order":
              removal.tracking_number, "instrument": removal.instrument, "status": case.status.value,
              "explanation": "the authority's reasons" if explanation != generic else "generic"},
    )  # fmt: skip
    return case


def record_order_reinstatement(
    session: Session, clock: Clock, actor: Actor, tracking_number: str, locator: str, reason: str
) -> Case | None:
    """The lawful desk put back what an order removed (an upheld complaint, a scrutiny finding an
    infringement): the order's decision on the item is reversed, and the case says so."""
    decision = session.scalar(
        select(ModerationDecision)
        .join(Case, Case.id == ModerationDecision.case_id)
        .where(
            Case.locator == locator,
            Case.source == CaseSource.AUTHORITY_ORDER,
            ModerationDecision.order_reference == tracking_number,
            ModerationDecision.reversed_at.is_(None),
        )
        .limit(1)
    )
    if decision is None:
        return None
    case = session.get_one(Case, decision.case_id)
    decision.reversed_at = clock()
    if case.status is CaseStatus.DECIDED:
        case.status = next_case_status(case.status, CaseTransition.REVERSE)
    audit.record(
        session, clock, actor, AuditAction.CASE_REVERSE, subject_type="case", subject_id=case.id,
        data={"decision_id": decision.id, "order": tracking_number, "reason": reason},
    )  # fmt: skip
    return case
