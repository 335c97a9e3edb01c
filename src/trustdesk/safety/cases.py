"""The review queue: cases are claimed by one reviewer at a time, decided by a person, and enforced.

- **Queue** (:func:`queue`): undecided cases by time left to their target, then priority, then age.
- **Claim** (:func:`claim`): an exclusive lock with a timeout; another reviewer's live claim refuses the
  claim and the decision; logging out releases every claim (:func:`release_all`).
- **Decide** (:func:`decide`): the restrictions, the ground (illegal content with its legal ground, or
  the terms of service with the clause), the DSA category and keyword, the explanation. Terminating an
  account waits for a second person (:func:`approve`); everything else takes effect at once: the connector
  steps are queued (see ``enforcement.py``), the notices answered.

Every function changes the database inside the caller's transaction and leaves audit events.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from trustdesk.lawful import threats  # DSA Art. 18 notifications are the lawful desk's
from trustdesk.safety import enforcement, ncmec, notices, offenders, reasons
from trustdesk.safety.models import Case, Exposure, ModerationDecision
from trustdesk.safety.queue import SEVERITY
from trustdesk.safety.restrictions import (
    DecisionGround,
    Restriction,
    steps,
)
from trustdesk.safety.statement_rules import StatementRefused
from trustdesk.safety.strikes import StrikePolicy, default_policy
from trustdesk.safety.vocabulary import CaseStatus, DsaCategory, DsaKeyword
from trustdesk.safety.workflow import CaseTransition, next_case_status
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

__all__ = [
    "CLAIM_FOR",
    "DecisionIn",
    "DecisionRules",
    "approve",
    "claim",
    "decide",
    "exposure_today",
    "get_case",
    "has_seen",
    "is_harmful",
    "preview_statement",
    "queue",
    "record_exposure",
    "reject",
    "release",
    "release_all",
    "withheld",
]

GRAVE_EXPOSURE: Final = 85
CLAIM_FOR: Final = timedelta(minutes=30)
"""How long a claim holds without activity; claiming again renews it."""
UNDECIDED: Final = (CaseStatus.OPEN, CaseStatus.AWAITING_APPROVAL)
_ISO2 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _actor(user: StaffUser) -> Actor:
    return Actor(ActorKind.STAFF, user.id)


def get_case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}", code="case_not_found", field="case")
    return case


def queue(
    session: Session, *, limit: int = 200, status: CaseStatus | None = None, harmful: bool = True
) -> list[Case]:
    """Undecided cases (or those of ``status``), the most urgent first: by target time, then priority
    (severity and reach), then age. The source is in the target: an authority's order and a trusted
    flagger's notice come first. ``harmful=False`` leaves out the most harmful (a reviewer at the cap)."""
    statuses = (status,) if status is not None else UNDECIDED
    query = select(Case).where(Case.status.in_(statuses))
    if not harmful:
        query = query.where(~_harmful(Case.keyword, Case.category))
    return list(
        session.scalars(
            query.order_by(
                Case.target_at.is_(None), Case.target_at, Case.priority.desc(), Case.opened_at, Case.id
            ).limit(limit)
        )
    )


def _claimed_by_other(case: Case, user: StaffUser, now: datetime) -> bool:
    return (
        case.claimed_by is not None
        and case.claimed_by != user.id
        and case.claim_expires_at is not None
        and case.claim_expires_at > now
    )


def claim(session: Session, clock: Clock, user: StaffUser, case_id: str) -> Case:
    """Take the case for ``CLAIM_FOR``; another reviewer's live claim refuses it. Claiming one's own
    case again renews the claim. Atomic: two reviewers claiming at once cannot both win."""
    require(user, Permission.STAFF_CASE_MODERATE)
    now = clock()
    case = get_case(session, case_id)
    if case.status not in UNDECIDED:
        raise Conflict(f"case {case_id} is {case.status.value}: nothing to claim", code="case_decided")
    taken = session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            or_(Case.claimed_by.is_(None), Case.claimed_by == user.id, Case.claim_expires_at <= now),
        )
        .values(claimed_by=user.id, claim_expires_at=now + CLAIM_FOR)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"case {case_id} is claimed by another reviewer until {case.claim_expires_at}",
            code="case_claimed",
        )
    audit.record(
        session, clock, _actor(user), AuditAction.CASE_CLAIM, subject_type="case", subject_id=case.id,
        data={"until": (now + CLAIM_FOR).isoformat()},
    )  # fmt: skip
    return case


def release(session: Session, clock: Clock, user: StaffUser, case_id: str) -> Case:
    """Give the case back to the queue (only one's own claim)."""
    case = get_case(session, case_id)
    if case.claimed_by != user.id:
        raise Conflict(f"case {case_id} is not claimed by you", code="not_your_claim")
    case.claimed_by, case.claim_expires_at = None, None
    audit.record(
        session, clock, _actor(user), AuditAction.CASE_RELEASE, subject_type="case", subject_id=case.id
    )
    return case


def release_all(session: Session, clock: Clock, user_id: str) -> int:
    """Logging out releases every claim the reviewer holds; returns how many."""
    held = list(
        session.scalars(select(Case.id).where(Case.claimed_by == user_id, Case.status.in_(UNDECIDED)))
    )
    session.execute(
        update(Case)
        .where(Case.id.in_(held))
        .values(claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    for case_id in held:
        audit.record(
            session, clock, Actor(ActorKind.STAFF, user_id), AuditAction.CASE_RELEASE, subject_type="case",
            subject_id=case_id, data={"on": "logout"},
        )  # fmt: skip
    return len(held)


@dataclass(frozen=True)
class DecisionRules:
    """The deployment's rules a decision follows (from its settings)."""

    public_url: str = ""
    """Where the public pages are: the appeal link in the statement of reasons."""
    standing: notices.StandingRule | None = None
    """When a notifier of manifestly unfounded notices is warned and suspended."""
    strike_policy: StrikePolicy | None = None
    """The repeat-offender policy (default: the packaged one)."""


@dataclass(frozen=True)
class DecisionIn:
    """A reviewer's decision. No restriction at all: the content stays (a notice is not actioned)."""

    restrictions: frozenset[Restriction]
    explanation: str
    ground: DecisionGround | None = None
    legal_ground: str | None = None
    tos_ground: str | None = None
    category: DsaCategory | None = None
    keyword: DsaKeyword | None = None
    territorial_scope: tuple[str, ...] | None = None
    suspend_for: timedelta | None = None
    unfounded: bool = False
    """With no restriction: the notices were manifestly unfounded (counted against their notifiers)."""
    threat_to_life: bool = False
    """The content gives rise to a suspicion of a criminal offence involving a threat to the life or
    safety of persons: the authorities are notified (DSA Art. 18)."""
    threat_country: str | None = None
    """The Member State concerned, if it can be identified (else Europol is told)."""


def _check(body: DecisionIn) -> None:
    if body.threat_country and not body.threat_to_life:
        raise InvalidInput("a Member State concerned goes with a threat to life", field="threat_country")
    if not body.explanation.strip():
        raise InvalidInput("explain the decision: it goes into the statement of reasons", field="explanation")
    if body.unfounded and body.restrictions:
        raise InvalidInput("a restricting decision does not find the notices unfounded", field="unfounded")
    if not body.restrictions:
        return
    if body.ground is None:
        raise InvalidInput("give the ground: illegal content or the terms of service", field="ground")
    if body.ground is DecisionGround.ILLEGAL_CONTENT and not (body.legal_ground or "").strip():
        raise InvalidInput("name the law the content breaks (DSA Art. 17(3)(d))", field="legal_ground")
    if body.ground is DecisionGround.INCOMPATIBLE_CONTENT and not (body.tos_ground or "").strip():
        raise InvalidInput("name the clause of the terms (DSA Art. 17(3)(e))", field="tos_ground")
    if body.category is None:
        raise InvalidInput("give the DSA category of the decision", field="category")
    if Restriction.GEO_RESTRICT in body.restrictions:
        scope = body.territorial_scope or ()
        if not scope or any(len(c) != 2 or not set(c) <= _ISO2 for c in scope):
            raise InvalidInput(
                "a geo-restriction needs its territorial scope (ISO 3166-1 alpha-2 codes)",
                field="territorial_scope",
            )
    elif body.territorial_scope:
        raise InvalidInput("only a geo-restriction has a territorial scope", field="territorial_scope")
    if Restriction.SUSPEND in body.restrictions and (
        body.suspend_for is None or body.suspend_for <= timedelta(0)
    ):
        raise InvalidInput("say how long the account is suspended", field="suspend_for")
    if {Restriction.SUSPEND, Restriction.TERMINATE} <= body.restrictions:
        raise InvalidInput("suspend or terminate, not both", field="restrictions")


def _refused(exc: StatementRefused) -> InvalidInput:
    """A decision whose statement of reasons the EU database would refuse is refused, with the rule."""
    return InvalidInput(
        f"the statement of reasons would be refused ({exc.rule}): {exc}",
        field=exc.field,
        code="statement_refused",
    )


def _decision_of(case: Case, user: StaffUser, body: DecisionIn, now: datetime) -> ModerationDecision:
    return ModerationDecision(
        case_id=case.id,
        decided_by=user.id,
        decided_at=now,
        restrictions=sorted(r.value for r in body.restrictions),
        territorial_scope=list(body.territorial_scope) if body.territorial_scope else None,
        ground=body.ground.value if body.ground else None,
        legal_ground=(body.legal_ground or "").strip() or None,
        tos_ground=(body.tos_ground or "").strip() or None,
        explanation=body.explanation.strip(),
        category=body.category or case.category,
        keyword=body.keyword if body.category else (body.keyword or case.keyword),
        suspended_until=now + body.suspend_for if body.suspend_for else None,
    )


def preview_statement(
    session: Session, clock: Clock, user: StaffUser, case_id: str, body: DecisionIn
) -> dict[str, Any] | None:
    """The statement of reasons the decision would produce, exactly as the EU database would receive it
    (validated), without deciding anything; None when it restricts nothing. A decision the service would
    refuse is refused here with the same reason."""
    require(user, Permission.STAFF_CASE_MODERATE)
    case = get_case(session, case_id)
    _check(body)
    decision = _decision_of(case, user, body, clock())
    decision.id = "preview"
    if not decision.restrictions:
        return None
    try:
        return reasons.preview(session, case, decision)
    except StatementRefused as exc:
        raise _refused(exc) from None


def decide(
    session: Session,
    clock: Clock,
    user: StaffUser,
    case_id: str,
    body: DecisionIn,
    *,
    rules: DecisionRules | None = None,
) -> ModerationDecision:
    """Record a person's decision on a claimed case; terminating an account waits for a second person."""
    require(user, Permission.STAFF_CASE_MODERATE)
    now = clock()
    case = get_case(session, case_id)
    if case.status is not CaseStatus.OPEN:
        raise Conflict(
            f"case {case_id} is {case.status.value}: it cannot be decided now", code="case_decided"
        )
    if _claimed_by_other(case, user, now):
        raise Conflict(f"case {case_id} is claimed by another reviewer", code="case_claimed")
    if case.claimed_by != user.id:
        raise Conflict(f"claim case {case_id} before deciding it", code="claim_first")
    _check(body)
    decision = _decision_of(case, user, body, now)
    session.add(decision)
    session.flush()
    terminate = Restriction.TERMINATE in body.restrictions
    transition = CaseTransition.PROPOSE_TERMINATION if terminate else CaseTransition.DECIDE
    case.status = next_case_status(case.status, transition)
    case.claimed_by, case.claim_expires_at = None, None
    audit.record(
        session, clock, _actor(user), AuditAction.CASE_DECIDE, subject_type="case", subject_id=case.id,
        data={"decision_id": decision.id, "restrictions": decision.restrictions, "ground": decision.ground,
              "category": decision.category, "status": case.status.value},
    )  # fmt: skip
    if body.threat_to_life:
        threats.notify_threat(
            session, clock, _actor(user), case_id=case.id, locator=case.locator, account_id=case.account_id,
            facts=body.explanation, country=body.threat_country, representative_country=None,
            created_by=user.id,
        )  # fmt: skip
    if not terminate:
        _take_effect(
            session,
            clock,
            case,
            decision,
            unfounded=body.unfounded,
            rules=rules,
        )
    return decision


def pending_decision(session: Session, case: Case) -> ModerationDecision:
    decision = session.scalar(
        select(ModerationDecision)
        .where(ModerationDecision.case_id == case.id, ModerationDecision.approved_at.is_(None))
        .order_by(ModerationDecision.decided_at.desc())
        .limit(1)
    )
    if case.status is not CaseStatus.AWAITING_APPROVAL or decision is None:
        raise Conflict(f"case {case.id} awaits no approval", code="no_pending_decision")
    return decision


def approve(
    session: Session, clock: Clock, user: StaffUser, case_id: str, *, rules: DecisionRules | None = None
) -> ModerationDecision:
    """Four eyes on terminating an account: a different moderator approves, and it takes effect."""
    require(user, Permission.STAFF_CASE_MODERATE)
    case = get_case(session, case_id)
    decision = pending_decision(session, case)
    if decision.decided_by == user.id:
        raise Forbidden("four eyes: a different moderator approves a termination", code="four_eyes")
    decision.approved_by, decision.approved_at = user.id, clock()
    case.status = next_case_status(case.status, CaseTransition.APPROVE)
    audit.record(
        session, clock, _actor(user), AuditAction.CASE_APPROVE, subject_type="case", subject_id=case.id,
        data={"decision_id": decision.id},
    )  # fmt: skip
    _take_effect(session, clock, case, decision, unfounded=False, rules=rules)
    return decision


def reject(session: Session, clock: Clock, user: StaffUser, case_id: str, note: str) -> Case:
    """The second moderator sends a termination back to the queue, saying why."""
    require(user, Permission.STAFF_CASE_MODERATE)
    if not note.strip():
        raise InvalidInput("say why the termination is sent back", field="note")
    case = get_case(session, case_id)
    decision = pending_decision(session, case)
    if decision.decided_by == user.id:
        raise Forbidden("four eyes: a different moderator reviews a termination", code="four_eyes")
    decision.reversed_at = clock()
    case.status = next_case_status(case.status, CaseTransition.REJECT)
    audit.record(
        session, clock, _actor(user), AuditAction.CASE_REJECT, subject_type="case", subject_id=case.id,
        data={"decision_id": decision.id, "note": note.strip()},
    )  # fmt: skip
    return case


def _take_effect(
    session: Session,
    clock: Clock,
    case: Case,
    decision: ModerationDecision,
    *,
    unfounded: bool,
    rules: DecisionRules | None = None,
) -> None:
    """The decision is final: its connector steps are queued, its statement of reasons issued, the
    account's strikes counted, its notices answered."""
    rules = rules or DecisionRules()
    now = clock()
    case.decided_at = now
    chosen = frozenset(Restriction(r) for r in decision.restrictions)
    scope = tuple(decision.territorial_scope) if decision.territorial_scope else None
    for step in steps(chosen, case.locator, case.account_id, scope):
        enforcement.queue_step(session, decision, step.kind, step.target, now)
    if decision.suspended_until is not None:
        offenders.schedule_reinstatement(session, decision, case.account_id, decision.suspended_until)
    session.flush()
    try:
        reasons.issue_statement(session, clock, case, decision, public_url=rules.public_url)
    except StatementRefused as exc:
        raise _refused(exc) from None
    if chosen:
        offenders.apply_strikes(session, case, decision, rules.strike_policy or default_policy(), now)
    ncmec.queue_for_decision(session, clock, case, decision)  # child sexual abuse material: 2258A
    notices.record_outcome(
        session, clock, case, actioned=bool(chosen), unfounded=unfounded, rule=rules.standing
    )
    session.flush()


HARMFUL: Final = frozenset(k for k, grave in SEVERITY.items() if grave >= GRAVE_EXPOSURE)
"""The most harmful keywords, whose daily exposure is counted and capped (reviewer wellness)."""
HARMFUL_CATEGORIES: Final = frozenset({DsaCategory.PROTECTION_OF_MINORS})
"""A case of this category is among the most harmful even without a keyword."""


def _harmful(keyword: Any, category: Any) -> Any:
    """In SQL, never NULL (a case without keyword is simply not harmful by keyword)."""
    return or_(
        and_(keyword.is_not(None), keyword.in_(HARMFUL)),
        and_(category.is_not(None), category.in_(HARMFUL_CATEGORIES)),
    )


def has_seen(session: Session, user_id: str, case_id: str) -> bool:
    """Whether the reviewer was shown the case's content before."""
    seen = select(Exposure.id).where(Exposure.user_id == user_id, Exposure.case_id == case_id)
    return session.scalar(seen) is not None


def withheld(session: Session, user: StaffUser, case: Case, cap: int, now: datetime) -> bool:
    """Whether the case's content is withheld from the reviewer: among the most harmful, not seen by them
    before, and their exposure today is at the cap (reviewer wellness; the queue stops offering such cases
    and a direct link shows no more of them)."""
    return (
        is_harmful(case)
        and not has_seen(session, user.id, case.id)
        and exposure_today(session, user.id, now) >= cap
    )


def record_exposure(session: Session, clock: Clock, user: StaffUser, case: Case) -> None:
    """The reviewer was shown the case's content (once per case is counted)."""
    if not has_seen(session, user.id, case.id):
        session.add(
            Exposure(
                user_id=user.id,
                case_id=case.id,
                category=case.category,
                keyword=case.keyword,
                seen_at=clock(),
            )
        )
        session.flush()


def exposure_today(session: Session, user_id: str, now: datetime) -> int:
    """How many cases of the most harmful categories the reviewer has seen since midnight UTC."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        session.scalar(
            select(func.count())
            .select_from(Exposure)
            .where(
                Exposure.user_id == user_id,
                Exposure.seen_at >= midnight,
                _harmful(Exposure.keyword, Exposure.category),
            )
        )
        or 0
    )


def is_harmful(case: Case) -> bool:
    return case.keyword in HARMFUL or case.category in HARMFUL_CATEGORIES
