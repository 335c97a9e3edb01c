"""Notices to the users whose data was disclosed or whose content was removed: whether, when, and why."""

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.lawful.catalogue import Instrument, UserNoticeRule
from trustdesk.lawful.models import LawfulRequest, Removal, UserNotice
from trustdesk.platform.protocol import PlatformConnector

if TYPE_CHECKING:
    from trustdesk.lawful.execution import ExecutionPolicy

NOTICE_TEXT = {
    "removal": "Content you shared was removed or restricted following a legal order "
    "({instrument}, {where}). "
    "You may contest it; the statement of reasons is available on request.",
    "disclosure": "Following legal process ({instrument}), information about your account was disclosed to a "
    "public authority.",
}


def _notice_plan(
    rule: UserNoticeRule, stage: str, request: LawfulRequest, now: datetime, policy: "ExecutionPolicy"
) -> tuple[str, datetime | None, str] | None:
    """(status, due, reason) of the notice an instrument's rule calls for at this stage, or None."""
    deferred = (
        request.confidential_until
        if request.confidential_until and request.confidential_until > now
        else None
    )
    barred = (
        request.non_disclosure_until
        if request.non_disclosure_until and request.non_disclosure_until > now
        else None
    )
    if rule in (UserNoticeRule.ISSUING_AUTHORITY_INFORMS, UserNoticeRule.PER_ORDER):
        if stage != "before":
            return None
        if rule is UserNoticeRule.PER_ORDER:
            return "withheld", None, "the order decides whether and when the user is told"
        return "withheld", None, "the issuing authority informs the person (Reg. 2023/1543 Art. 13)"
    if rule is UserNoticeRule.INFORM_CONTENT_PROVIDER_UNLESS_CONFIDENTIAL:
        if stage != "removal":
            return None
        if deferred:
            return "scheduled", deferred, "the authority requires confidentiality until then"
        return "scheduled", now, "the content provider is informed of the removal"
    if rule is UserNoticeRule.INFORM_RECIPIENT_UNLESS_DEFERRED:
        if stage != "after":
            return None
        return (
            "scheduled",
            deferred or now,
            "deferred by the authority" if deferred else "informed of the order",
        )
    wanted = "before" if rule is UserNoticeRule.BEFORE_DISCLOSURE_UNLESS_BARRED else "after"
    if rule is UserNoticeRule.NONE_REQUIRED or stage != wanted:
        return None
    if barred:
        return "scheduled", barred, "a non-disclosure order bars notice until then"
    if request.emergency:
        return "scheduled", now + policy.emergency_notice_delay, "emergency disclosure: notice afterwards"
    return "scheduled", now, f"notice {wanted} disclosure"


def schedule_user_notices(
    session: Session,
    clock: Clock,
    actor: Actor,
    request: LawfulRequest,
    instrument: Instrument,
    accounts: Sequence[str],
    policy: "ExecutionPolicy",
    *,
    stage: str,
) -> list[str]:
    """Decide, per the instrument's rule, whether and when each affected user is told; record the reason.

    ``stage`` is ``before`` (a production is about to be built), ``after`` (the answer went out) or
    ``removal`` (content was removed). One notice per request and account, whatever the stage.
    """
    plan = _notice_plan(instrument.notice, stage, request, clock(), policy)
    if plan is None:
        return []
    status, due, reason = plan
    created = []
    for account in accounts:
        if session.scalar(
            select(UserNotice.id).where(UserNotice.request_id == request.id, UserNotice.account_id == account)
        ):
            continue
        notice = UserNotice(
            request_id=request.id, account_id=account, status=status, due_at=due, reason=reason
        )
        session.add(notice)
        session.flush()
        audit.record(
            session,
            clock,
            actor,
            AuditAction.NOTICE_SCHEDULE,
            subject_type="lawful_request",
            subject_id=request.id,
            data={
                "after": {
                    "notice_id": notice.id,
                    "status": status,
                    "due_at": due.isoformat() if due else None,
                }
            },
        )
        created.append(notice.id)
    return created


def send_due_notices(
    session: Session, clock: Clock, connector: PlatformConnector, *, request_id: str | None = None
) -> list[str]:
    """Send every scheduled notice whose time has come, through the platform (e.g. a server notice)."""
    query = select(UserNotice).where(UserNotice.status == "scheduled", UserNotice.due_at <= clock())
    if request_id is not None:
        query = query.where(UserNotice.request_id == request_id)
    sent = []
    for notice in session.scalars(query.order_by(UserNotice.due_at)).all():
        request = session.get_one(LawfulRequest, notice.request_id)
        removed = session.scalar(select(Removal.id).where(Removal.request_id == request.id)) is not None
        where = ", ".join(request.territorial_scope) if request.territorial_scope else "worldwide"
        text = NOTICE_TEXT["removal" if removed else "disclosure"].format(
            instrument=request.instrument.value, where=where
        )
        notice.platform_notice_id = connector.send_notice(notice.account_id, text)
        notice.status, notice.sent_at = "sent", clock()
        audit.record(
            session,
            clock,
            Actor.system(),
            AuditAction.NOTICE_SEND,
            subject_type="lawful_request",
            subject_id=request.id,
            data={"after": {"notice_id": notice.id, "platform_notice_id": notice.platform_notice_id}},
        )
        sent.append(notice.id)
    return sent
