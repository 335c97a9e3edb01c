"""Metrics of content moderation for a period (the service as a whole), with SQL aggregates.

Definitions (docs/transparency-reports.md):

- **notices** (DSA Art. 16): received in the period, by the category the notifier chose; of which from
  trusted flaggers (Art. 22); items = distinct locations; the time to act runs from receipt to the
  decision of its case; actions on legal grounds or on the terms and conditions follow the ground of the
  latest decision of the notice's case, for notices acted upon;
- **own-initiative measures**: restricting decisions taken by a person on a case the scanner opened
  (source ``automated``: automated detection, human decision), and automatic removals by the scanner
  (solely automated: detection and decision). A person's decision has its ground (illegal content, or the
  terms and conditions); an automatic removal by a bank or rule of ``STATEMENT_CATEGORY_OTHER_VIOLATION_TC``
  counts under the terms and conditions, any other under illegal content;
- restriction types map Trustdesk's restrictions to the templates' columns: remove → removed,
  disable and geo_restrict → disabled, demote, age_restrict, label; suspend → account suspension,
  terminate → account termination; Trustdesk takes no interaction, monetary or provision-of-service
  restrictions, so those columns are 0;
- **appeals** (Art. 20): filed in the period; ``upheld`` = dismissed (the decision stands), ``reversed``
  = granted; Trustdesk has no partial reversal (0) and keeps no record of out-of-court disputes (empty);
  the time to decide runs from filing to the decision;
- **Art. 23 suspensions**: notifiers suspended for manifestly unfounded notices (Art. 23(2)), and account
  suspensions decided in the period (Art. 23(1));
- **automated means**: measures solely automated (automatic removals) and not (decisions by a person);
  the accuracy indicator is the share of actions after automated detection that were reversed on appeal.
"""

from collections import defaultdict
from typing import Any, Final

from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from trustdesk.safety.models import (
    Appeal,
    Bank,
    BankEntry,
    Case,
    Enforcement,
    ModerationDecision,
    Notice,
    NotifierStanding,
)
from trustdesk.safety.restrictions import DecisionGround
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.safety.workflow import AppealStatus, CaseSource
from trustdesk.transparency.metrics import in_period, median_of, seconds_between, true_count
from trustdesk.transparency.periods import Period
from trustdesk.transparency.protection import Share, Tree

__all__ = ["RESTRICTION_COLUMNS", "compute"]

RESTRICTION_COLUMNS: Final = {
    "visibility_removed": ("remove",),
    "visibility_disabled": ("disable", "geo_restrict"),
    "visibility_demoted": ("demote",),
    "visibility_age_restricted": ("age_restrict",),
    "visibility_interaction_restricted": (),
    "visibility_labelled": ("label",),
    "visibility_other": (),
    "monetary": (),
    "provision_of_service": (),
    "account_suspension": ("suspend",),
    "account_termination": ("terminate",),
}
"""The templates' restriction columns and the Trustdesk restrictions counted in each."""
_TC: Final = DsaCategory.OTHER_VIOLATION_TC


def _category(value: object) -> str:
    return DsaCategory(str(value)).value if value is not None else DsaCategory.NOT_SPECIFIED_NOTICE.value


def compute(session: Session, period: Period) -> dict[str, Tree]:
    notices = _notices(session, period)
    own = _own_initiative(session, period)
    appeals = _appeals(session, period)
    return {"notices": notices, **own, "appeals": appeals, "terrorist_content": _terrorist(session, period)}


def _terrorist(session: Session, period: Period) -> dict[str, Tree]:
    """What the TCO yearly report asks of the provider's own measures (Art. 7(3)): terrorist content
    removed on its own initiative (automatic removals and decisions after automated detection), hash banks
    that prevent its re-upload and their active hashes, decisions on it reversed on appeal in the period."""
    md, e = ModerationDecision, Enforcement
    terror = DsaKeyword.TERRORIST_CONTENT
    automatic = (
        session.scalar(
            select(func.count())
            .select_from(e)
            .where(in_period(e.executed_at, period), e.outcome == "removed", e.keyword == terror)
        )
        or 0
    )
    decided = (
        session.scalar(
            select(func.count())
            .select_from(md)
            .join(Case, Case.id == md.case_id)
            .where(
                in_period(md.decided_at, period),
                md.keyword == terror,
                Case.source == CaseSource.AUTOMATED,
                cast(md.restrictions, String) != "[]",
            )
        )
        or 0
    )
    banks = select(Bank.id).where(Bank.keyword == terror)
    bank_count = session.scalar(select(func.count()).select_from(banks.subquery())) or 0
    entries = (
        session.scalar(
            select(func.count())
            .select_from(BankEntry)
            .where(BankEntry.bank_id.in_(banks), BankEntry.removed_at.is_(None))
        )
        or 0
    )
    restored = (
        session.scalar(
            select(func.count())
            .select_from(md)
            .where(in_period(md.reversed_at, period), md.keyword == terror)
        )
        or 0
    )
    return {
        "own_initiative_removals": int(automatic) + int(decided),
        "of_which_solely_automated": int(automatic),
        "hash_banks": int(bank_count),
        "active_hashes": int(entries),
        "decisions_reversed": int(restored),
    }  # fmt: skip


def _latest_decision(column: Any, case_id: Any) -> Any:
    md = ModerationDecision
    return (
        select(column)
        .where(md.case_id == case_id)
        .order_by(md.decided_at.desc(), md.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _notices(session: Session, period: Period) -> dict[str, Tree]:
    n = Notice
    ground = _latest_decision(ModerationDecision.ground, n.case_id)
    rows = (
        select(
            n.id.label("id"),
            n.category.label("category"),
            n.locator.label("locator"),
            case((n.trusted_flagger_id.is_not(None), literal(1)), else_=literal(0)).label("trusted"),
            n.outcome.label("outcome"),
            ground.label("ground"),
            seconds_between(session, n.decided_at, n.received_at).label("act_seconds"),
        )
        .where(in_period(n.received_at, period))
        .subquery("notices_in_period")
    )
    c = rows.c
    actioned = c.outcome == "actioned"
    columns = (
        func.count(),
        true_count(c.trusted == 1),
        func.count(func.distinct(c.locator)),
        true_count(and_(actioned, c.ground == DecisionGround.ILLEGAL_CONTENT.value)),
        true_count(and_(actioned, c.ground == DecisionGround.INCOMPATIBLE_CONTENT.value)),
        true_count(c.outcome.is_(None)),
    )
    names = ("notices", "trusted_flaggers", "items", "actions_legal_grounds", "actions_terms_and_conditions",
             "pending")  # fmt: skip

    def figures(row: Any) -> dict[str, Tree]:
        return {name: int(v) for name, v in zip(names, row, strict=True)}

    total = figures(session.execute(select(*columns)).one())
    total["median_seconds_to_act"] = median_of(session, rows, "act_seconds")
    by_category: dict[str, Tree] = {}
    for row in session.execute(select(c.category, *columns).group_by(c.category).order_by(c.category)):
        entry = figures(row[1:])
        entry["median_seconds_to_act"] = median_of(session, rows, "act_seconds", c.category == row[0])
        by_category[_category(row[0])] = entry
    return {"total": total, "by_category": by_category}


def _restriction_counts(restrictions_text: Any) -> list[Any]:
    """One ``SUM`` per restriction column: decisions whose restrictions hold any of its restrictions."""
    return [
        true_count(or_(*[restrictions_text.like(f'%"{r}"%') for r in wanted])) if wanted else literal(0)
        for wanted in RESTRICTION_COLUMNS.values()
    ]


def _blank_measures() -> dict[str, int]:
    return {
        "measures": 0,
        "automated_detection": 0,
        "solely_automated": 0,
        **dict.fromkeys(RESTRICTION_COLUMNS, 0),
    }


def _own_initiative(session: Session, period: Period) -> dict[str, Tree]:
    md = ModerationDecision
    text = cast(md.restrictions, String)
    restricting = text.not_in(["[]"])
    decided = (
        select(md.ground, md.category, func.count(), *_restriction_counts(text))
        .join(Case, Case.id == md.case_id)
        .where(in_period(md.decided_at, period), Case.source == CaseSource.AUTOMATED, restricting)
        .group_by(md.ground, md.category)
    )
    grounds: dict[str, dict[str, dict[str, int]]] = {
        "illegal": defaultdict(_blank_measures),
        "terms_and_conditions": defaultdict(_blank_measures),
    }
    for ground, category, n, *restrictions in session.execute(decided):
        which = "terms_and_conditions" if ground == DecisionGround.INCOMPATIBLE_CONTENT.value else "illegal"
        entry = grounds[which][_category(category)]
        entry["measures"] += int(n)
        entry["automated_detection"] += int(n)
        for name, count in zip(RESTRICTION_COLUMNS, restrictions, strict=True):
            entry[name] += int(count)
    e = Enforcement
    automatic = (
        select(e.category, func.count())
        .where(in_period(e.executed_at, period), e.outcome == "removed")
        .group_by(e.category)
    )
    solely = 0
    for category, n in session.execute(automatic):
        which = "terms_and_conditions" if category == _TC else "illegal"
        entry = grounds[which][_category(category)]
        for name in ("measures", "automated_detection", "solely_automated", "visibility_removed"):
            entry[name] += int(n)
        solely += int(n)
    own: dict[str, Tree] = {}
    for which, categories in grounds.items():
        total = _blank_measures()
        for entry in categories.values():
            for key, value in entry.items():
                total[key] += value
        own[which] = {"total": total, "by_category": {k: categories[k] for k in sorted(categories)}}

    # every restricting decision by a person in the period (notices, orders, own initiative)
    human = (
        session.scalar(
            select(func.count()).select_from(md).where(in_period(md.decided_at, period), restricting)
        )
        or 0
    )
    automated_cases = (
        select(md.id)
        .join(Case, Case.id == md.case_id)
        .where(in_period(md.decided_at, period), Case.source == CaseSource.AUTOMATED, restricting)
    )
    after_detection = session.scalar(select(func.count()).select_from(automated_cases.subquery())) or 0
    reversed_on_appeal = (
        session.scalar(
            select(func.count(func.distinct(Appeal.decision_id))).where(
                Appeal.decision_id.in_(automated_cases), Appeal.status == AppealStatus.GRANTED
            )
        )
        or 0
    )
    suspensions = (
        session.scalar(
            select(func.count())
            .select_from(md)
            .where(in_period(md.decided_at, period), text.like('%"suspend"%'))
        )
        or 0
    )
    notifiers = (
        session.scalar(
            select(func.count())
            .select_from(NotifierStanding)
            .where(
                NotifierStanding.suspended_until.is_not(None), in_period(NotifierStanding.updated_at, period)
            )
        )
        or 0
    )
    actions_after_detection = after_detection + solely
    return {
        "own_initiative": own,
        "automated_means": {
            "solely_automated": solely,
            "not_solely_automated": int(human),
            "actions_after_automated_detection": actions_after_detection,
            "reversed_on_appeal": int(reversed_on_appeal),
            "share_reversed_on_appeal": Share(int(reversed_on_appeal), actions_after_detection),
        },
        "art23_suspensions": {"accounts": int(suspensions), "notifiers": int(notifiers)},
    }


def _appeals(session: Session, period: Period) -> dict[str, Tree]:
    a = Appeal
    rows = (
        select(
            a.id.label("id"),
            a.status.label("status"),
            ModerationDecision.category.label("category"),
            seconds_between(session, a.decided_at, a.filed_at).label("decide_seconds"),
        )
        .join(ModerationDecision, ModerationDecision.id == a.decision_id)
        .where(in_period(a.filed_at, period))
        .subquery("appeals_in_period")
    )
    c = rows.c
    columns = (
        func.count(),
        true_count(c.status == AppealStatus.DISMISSED),
        true_count(c.status == AppealStatus.GRANTED),
        true_count(c.status == AppealStatus.OPEN),
    )

    def figures(row: Any) -> dict[str, Tree]:
        total, upheld, reversed_, pending = (int(v) for v in row)
        return {
            "complaints": total,
            "upheld": upheld,
            "partially_reversed": 0,
            "reversed": reversed_,
            "pending": pending,
            "out_of_court_disputes": None,
        }

    total = figures(session.execute(select(*columns)).one())
    total["median_seconds_to_decide"] = median_of(session, rows, "decide_seconds")
    by_category: dict[str, Tree] = {}
    for row in session.execute(select(c.category, *columns).group_by(c.category).order_by(c.category)):
        entry = figures(row[1:])
        entry["median_seconds_to_decide"] = median_of(session, rows, "decide_seconds", c.category == row[0])
        by_category[_category(row[0])] = entry
    return {"total": total, "by_category": by_category}
