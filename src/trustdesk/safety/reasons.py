"""Issuing statements of reasons (DSA Art. 17) for moderation decisions, and delivering them.

Every decision that restricts content or an account gets a statement for the affected account, built and
validated by :mod:`trustdesk.safety.statements` in the EU Transparency Database's exact schema (a
statement the database would refuse is never stored: the decision fails with the rule it breaks), stored
as validated for submission (``trustdesk sor export``), and delivered to the user through the connector
(a server notice on Matrix) with the link to appeal (Art. 20). The appeal link carries a random key
stored as its SHA-256; the puid, public in the EU database, opens nothing.
"""

import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key
from trustdesk.safety import statements
from trustdesk.safety.enforcement import queue_step
from trustdesk.safety.models import Case, ModerationDecision, Notice, StatementRecord, TrustedFlagger
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.workflow import CaseSource

__all__ = ["KEY_PREFIX", "Issued", "issue_statement", "preview", "statement_input"]

KEY_PREFIX: Final = "tda_"
_SOURCE: Final = {
    CaseSource.USER: statements.CaseSource.USER_NOTICE,
    CaseSource.TRUSTED_FLAGGER: statements.CaseSource.TRUSTED_FLAGGER,
    CaseSource.AUTOMATED: statements.CaseSource.OWN_INITIATIVE,
    CaseSource.AUTHORITY_ORDER: statements.CaseSource.AUTHORITY_ORDER,
}


@dataclass(frozen=True)
class Issued:
    record: StatementRecord
    key: str
    """The appeal key, in the delivered link only (shown once)."""


def _flagger_name(session: Session, case: Case) -> str | None:
    """A trusted flagger's name is the source identity the database asks for; a user's is personal data."""
    return session.scalar(
        select(TrustedFlagger.name)
        .join(Notice, Notice.trusted_flagger_id == TrustedFlagger.id)
        .where(Notice.case_id == case.id)
        .limit(1)
    )


def statement_input(
    session: Session, case: Case, decision: ModerationDecision, *, source_identity: str | None = None
) -> statements.ModerationDecision:
    """The decision in the statement builder's terms; ``source_identity`` names an ordering authority
    (a trusted flagger's name is found from its notice)."""
    assert decision.category is not None
    assert decision.ground is not None
    ground = DecisionGround(decision.ground)
    return statements.ModerationDecision(
        puid=f"trustdesk-{decision.id}",
        restrictions=frozenset(Restriction(r) for r in decision.restrictions),
        territorial_scope=tuple(decision.territorial_scope) if decision.territorial_scope else None,
        category=decision.category,
        keywords=(decision.keyword,) if decision.keyword else (),
        ground=ground,
        ground_text=(
            decision.legal_ground if ground is DecisionGround.ILLEGAL_CONTENT else decision.tos_ground
        )
        or "",
        explanation=decision.explanation,
        facts=decision.explanation,
        source=_SOURCE[case.source],
        source_identity=(
            _flagger_name(session, case) if case.source is CaseSource.TRUSTED_FLAGGER else source_identity
        ),
        automated_detection=case.source is CaseSource.AUTOMATED or bool(case.signals),
        automated_decision=statements.AutomatedDecision.NOT_AUTOMATED,  # a person decides (Art. 20(6))
        content_types=(case.content_kind,),
        content_date=case.opened_at.date(),
        application_date=decision.decided_at.date(),
        account_restriction_end=decision.suspended_until.date() if decision.suspended_until else None,
    )


def preview(session: Session, case: Case, decision: ModerationDecision) -> dict[str, object]:
    """The statement ``decision`` would produce, validated, as the database's JSON; nothing is stored.
    Raises `StatementRefused` with the rule it breaks."""
    return statements.to_json(statements.build_statement(statement_input(session, case, decision)))


def _notice_text(record: StatementRecord, link: str) -> str:
    body = record.body
    ground = body.get("illegal_content_legal_ground") or body.get("incompatible_content_ground")
    what = ", ".join(
        str(v)
        .removeprefix("DECISION_VISIBILITY_")
        .removeprefix("DECISION_ACCOUNT_")
        .replace("_", " ")
        .lower()
        for v in (*body.get("decision_visibility", ()), body.get("decision_account"))
        if v
    )
    explanation = body.get("illegal_content_explanation") or body.get("incompatible_content_explanation")
    return (
        f"Statement of reasons {record.puid}: we {what or 'restricted'} your content or account. "
        f"Ground: {ground}. {explanation} You can appeal for free until "
        f"{record.appeal_until.date().isoformat()}, and a person who did not take this decision will "
        f"decide: {link}"
    )


def issue_statement(
    session: Session,
    clock: Clock,
    case: Case,
    decision: ModerationDecision,
    *,
    public_url: str,
    deliver: bool = True,
    source_identity: str | None = None,
) -> Issued | None:
    """Build, validate, store and queue the delivery of the statement for a restricting decision; None
    for a decision without restriction (there is nothing to state to the user).

    ``deliver=False`` keeps the statement for the database only: an authority order's content provider
    is told by the lawful desk, when the order's confidentiality allows (see ``safety/orders.py``); its
    appeal key is then never shown to anyone."""
    if not decision.restrictions:
        return None
    from trustdesk.safety.appeals import APPEAL_WINDOW  # appeals reads statements: import here

    built = statements.build_statement(
        statement_input(session, case, decision, source_identity=source_identity)
    )
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    record = StatementRecord(
        decision_id=decision.id,
        account_id=case.account_id,
        puid=built.puid,
        body=statements.to_json(built),
        created_at=clock(),
        appeal_until=APPEAL_WINDOW.after(decision.decided_at),
        appeal_key_hash=hash_api_key(key),
    )
    session.add(record)
    session.flush()
    if deliver:
        link = f"{public_url.rstrip('/')}/appeal?key={key}"
        queue_step(
            session, decision, "send_notice:statement", case.account_id, clock(),
            payload={"text": _notice_text(record, link), "statement_id": record.id},
        )  # fmt: skip
    audit.record(
        session, clock, Actor.system(), AuditAction.STATEMENT_ISSUE, subject_type="statement",
        subject_id=record.id, data={"puid": record.puid, "decision_id": decision.id},
    )  # fmt: skip
    return Issued(record, key)
