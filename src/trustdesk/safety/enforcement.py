"""Carrying out moderation decisions through the platform connector: idempotent, retried, recorded.

Each decision's connector steps are rows (``CaseAction``), queued when the decision takes effect. A
runner (:func:`run_due`, called after the deciding transaction and by the worker loop) tries every due
step: the connector calls are idempotent (removing removed content, suspending a suspended account is
harmless), so a step tried twice takes effect once. A transient failure is retried with back-off; content
or an account that no longer exists fails the step for good. Before content is removed it is preserved
as evidence: six months, a year for child sexual abuse material (18 U.S.C. § 2258A(h)).
"""

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.platform.protocol import (
    AccountAction,
    AccountNotFound,
    ContentNotFound,
    PlatformConnector,
    PlatformError,
    RemovalAction,
)
from trustdesk.safety.models import Appeal, Case, CaseAction, Evidence, ModerationDecision, StatementRecord
from trustdesk.safety.vocabulary import DsaKeyword

__all__ = ["BACKOFF", "CSAM_RETENTION", "EVIDENCE_RETENTION", "attempt", "queue_step", "run_due"]

BACKOFF: Final = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
"""Waits between attempts; after the last, the step fails and the queue shows it."""
EVIDENCE_RETENTION: Final = timedelta(days=183)
CSAM_RETENTION: Final = timedelta(days=365)
CSAM: Final = frozenset(
    {DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL, DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE}
)


def queue_step(
    session: Session,
    decision: ModerationDecision,
    kind: str,
    target: str,
    due: datetime,
    *,
    payload: dict[str, Any] | None = None,
) -> None:
    """Queue one connector step of ``decision``, due at ``due``; a step already queued is only brought
    forward (an appeal's reinstatement before a suspension's end), one already done is left alone."""
    step = session.scalar(
        select(CaseAction).where(
            CaseAction.decision_id == decision.id, CaseAction.kind == kind, CaseAction.target == target
        )
    )
    if step is None:
        session.add(
            CaseAction(
                decision_id=decision.id, kind=kind, target=target, status="pending", attempts=0,
                next_attempt_at=due, payload=payload,
            )
        )  # fmt: skip
    elif step.status == "pending" and step.next_attempt_at is not None and due < step.next_attempt_at:
        step.next_attempt_at = due


WARNING: Final = (
    "Warning from the platform's trust and safety team: content you posted was restricted for breaking the "
    "law or our terms. If it happens again, your account may be suspended (Regulation (EU) 2022/2065 "
    "Art. 23(1))."
)


def _preserve(session: Session, case: Case, decision: ModerationDecision, now: datetime) -> None:
    if session.scalar(select(Evidence.id).where(Evidence.decision_id == decision.id)) is not None:
        return
    content = {"locator": case.locator, "account_id": case.account_id, "chat_id": case.chat_id,
               "text": case.text, "media": case.media}  # fmt: skip
    csam = decision.keyword in CSAM
    session.add(
        Evidence(
            decision_id=decision.id,
            event_key=case.event_key,
            content=content,
            sha256=hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest(),
            preserved_at=now,
            retain_until=now + (CSAM_RETENTION if csam else EVIDENCE_RETENTION),
            legal_basis="18 U.S.C. 2258A(h)" if csam else "platform terms; evidence for authorities",
        )
    )


def _call(
    session: Session,
    clock: Clock,
    connector: PlatformConnector,
    action: CaseAction,
    decision: ModerationDecision,
) -> dict[str, object]:
    call, _, what = action.kind.partition(":")
    if call == "remove_content":
        removal = RemovalAction(what)
        scope = decision.territorial_scope if removal is RemovalAction.GEO_RESTRICT else None
        result = connector.remove_content(action.target, removal, scope)
        return {
            "scope": sorted(result.scope) if result.scope else None,
            "at": result.effective_at.isoformat(),
        }
    if call == "send_notice":
        payload = action.payload or {}
        notice_id = connector.send_notice(action.target, WARNING if what == "warn" else str(payload["text"]))
        if (statement := session.get(StatementRecord, str(payload.get("statement_id")))) is not None:
            statement.delivered_at, statement.delivery_id = clock(), notice_id
        if (appeal := session.get(Appeal, str(payload.get("appeal_id")))) is not None:
            appeal.told_at = clock()
        action.payload = None  # a statement's text holds its appeal key: not kept once sent
        return {"notice_id": notice_id}
    if call == "act_on_account":
        account = connector.act_on_account(action.target, AccountAction(what), decision.explanation[:500])
        return {"status": account.status.value}
    raise ValueError(f"unknown step {action.kind!r}")


def attempt(session: Session, clock: Clock, connector: PlatformConnector, action: CaseAction) -> CaseAction:
    """Try one step now; record the outcome (done, retry later, or failed for good)."""
    decision = session.get_one(ModerationDecision, action.decision_id)
    case = session.get_one(Case, decision.case_id)
    now = clock()
    if action.kind in {"remove_content:remove", "remove_content:geo_restrict"}:
        _preserve(session, case, decision, now)
    action.attempts += 1
    try:
        action.result = _call(session, clock, connector, action, decision)
        action.status, action.done_at, action.next_attempt_at, action.last_error = "done", now, None, None
    except (ContentNotFound, AccountNotFound) as exc:
        action.status, action.next_attempt_at, action.last_error = "failed", None, str(exc)
    except (PlatformError, OSError, TimeoutError) as exc:
        action.last_error = f"{type(exc).__name__}: {exc}"
        if action.attempts > len(BACKOFF):
            action.status, action.next_attempt_at = "failed", None
        else:
            action.next_attempt_at = now + BACKOFF[action.attempts - 1]
    audit.record(
        session, clock, Actor.system(), AuditAction.CASE_ACTION, subject_type="case", subject_id=case.id,
        data={"step": action.kind, "target": action.target, "status": action.status,
              "attempts": action.attempts, "error": action.last_error},
    )  # fmt: skip
    session.flush()
    return action


_STEP_ORDER: Final = case(
    (CaseAction.kind == "act_on_account:reinstate", 0),  # a republished message is sent as its author
    (CaseAction.kind.startswith("send_notice"), 2),  # tell the user once it is done
    else_=1,
)
"""The order of steps due at the same time."""


def run_due(
    session: Session, clock: Clock, connector: PlatformConnector, *, limit: int = 100
) -> list[CaseAction]:
    """Try every step that is due, oldest first; returns them with their new state."""
    now = clock()
    due = list(
        session.scalars(
            select(CaseAction)
            .where(CaseAction.status == "pending", CaseAction.next_attempt_at <= now)
            .order_by(CaseAction.next_attempt_at, _STEP_ORDER, CaseAction.id)
            .limit(limit)
        )
    )
    return [attempt(session, clock, connector, action) for action in due]
