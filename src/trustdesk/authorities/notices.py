"""Notices to an agency about its own account, shown on the portal to each of its officers until one of
them acknowledges it (issue 11: a changed encryption recipient is told to the agency, so that a key
swapped by an insider is noticed by the people whose key it should be)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.authorities.models import Agency, AgencyNotice, Officer
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, NotFound

__all__ = [
    "RECIPIENT_CHANGED",
    "RecipientChange",
    "acknowledge",
    "last_recipient_change",
    "notify",
    "pending",
]

RECIPIENT_CHANGED = "recipient_changed"


def notify(
    session: Session, clock: Clock, actor: Actor, agency: Agency, kind: str, body: str
) -> AgencyNotice:
    notice = AgencyNotice(agency_id=agency.id, kind=kind, body=body, created_at=clock())
    session.add(notice)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.AGENCY_NOTICE_SEND, subject_type="agency", subject_id=agency.id,
        data={"after": {"notice_id": notice.id, "kind": kind}},
    )  # fmt: skip
    return notice


def pending(session: Session, agency_id: str) -> list[AgencyNotice]:
    """The agency's notices no officer has acknowledged yet, oldest first."""
    return list(
        session.scalars(
            select(AgencyNotice)
            .where(AgencyNotice.agency_id == agency_id, AgencyNotice.acknowledged_at.is_(None))
            .order_by(AgencyNotice.created_at)
        )
    )


def acknowledge(session: Session, clock: Clock, officer: Officer, notice_id: str) -> AgencyNotice:
    """An officer of the agency acknowledges a notice (once; another agency's notice is not found)."""
    notice = session.get(AgencyNotice, notice_id)
    if notice is None or notice.agency_id != officer.agency_id:
        raise NotFound(f"no notice {notice_id} for {officer.agency.name}", code="notice_not_found")
    if notice.acknowledged_at is not None:
        raise Conflict("this notice was already acknowledged", code="notice_acknowledged")
    notice.acknowledged_at = clock()
    notice.acknowledged_by = officer.id
    audit.record(
        session, clock, Actor(ActorKind.OFFICER, officer.id), AuditAction.AGENCY_NOTICE_ACKNOWLEDGE,
        subject_type="agency", subject_id=officer.agency_id, data={"after": {"notice_id": notice.id}},
    )  # fmt: skip
    return notice


@dataclass(frozen=True)
class RecipientChange:
    """The last change of an agency's encryption recipient, as the approver sees it."""

    at: datetime
    by: str | None
    before: str | None


def last_recipient_change(session: Session, agency: Agency) -> RecipientChange | None:
    from trustdesk.audit.models import AuditEvent

    event = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject_type == "agency",
            AuditEvent.subject_id == agency.id,
            AuditEvent.action == AuditAction.AGENCY_SET_RECIPIENT.value,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    return RecipientChange(
        event.occurred_at, event.actor_id, event.data.get("before", {}).get("age_recipient")
    )
