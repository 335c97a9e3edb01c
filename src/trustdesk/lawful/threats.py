"""Notifications of threats to life or safety (DSA Art. 18), recorded on the lawful side.

When content reviewed by trust and safety gives rise to a suspicion of a criminal offence involving a
threat to the life or safety of persons, the platform informs promptly the law-enforcement or judicial
authorities of the Member State concerned; where it cannot identify that State, those of the Member State
where it is established or its legal representative sits, and/or Europol (Art. 18(2)). The notification
is recorded here with its recipients and facts, audited, and listed for the legal team
(``trustdesk threats``), which sends it through its channels and records when it went.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.lawful.catalogue import EU_MEMBER_STATES
from trustdesk.lawful.models import ThreatNotification
from trustdesk.references import new_reference

__all__ = ["EUROPOL", "mark_sent", "notify_threat", "recipients_for", "threats"]

EUROPOL = "Europol"


def recipients_for(country: str | None, representative_country: str | None) -> list[str]:
    """Who is told (Art. 18(2)): the State concerned; else the legal representative's State and Europol."""
    if country is not None and country in EU_MEMBER_STATES:
        return [f"law enforcement of {country}"]
    if country is not None:
        return [f"law enforcement of {country}", EUROPOL]  # outside the EU: Europol shares it on
    fallback = [f"law enforcement of {representative_country}"] if representative_country else []
    return [*fallback, EUROPOL]


def _reference(at: datetime) -> str:
    return new_reference("TH", at.year)


def notify_threat(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    case_id: str,
    locator: str,
    account_id: str,
    facts: str,
    country: str | None,
    representative_country: str | None,
    created_by: str,
) -> ThreatNotification:
    """Record the notification; the legal team sends it at once and marks it sent."""
    if not facts.strip():
        raise InvalidInput("state the facts that give rise to the suspicion", field="facts")
    country = country.strip().upper() if country else None
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise InvalidInput(f"{country!r} is not an ISO 3166-1 alpha-2 code", field="threat_country")
    now = clock()
    notification = ThreatNotification(
        reference=_reference(now),
        case_id=case_id,
        country=country,
        recipients=recipients_for(country, representative_country),
        facts=facts.strip(),
        locator=locator,
        account_id=account_id,
        created_by=created_by,
        created_at=now,
    )
    session.add(notification)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.THREAT_NOTIFY, subject_type="threat_notification",
        subject_id=notification.id,
        data={"reference": notification.reference, "case_id": case_id, "recipients": notification.recipients},
    )  # fmt: skip
    return notification


def threats(session: Session, *, unsent_only: bool = False) -> list[ThreatNotification]:
    query = select(ThreatNotification).order_by(ThreatNotification.created_at.desc())
    if unsent_only:
        query = query.where(ThreatNotification.sent_at.is_(None))
    return list(session.scalars(query))


def mark_sent(
    session: Session, clock: Clock, actor: Actor, reference: str, channel: str
) -> ThreatNotification:
    notification = session.scalar(select(ThreatNotification).where(ThreatNotification.reference == reference))
    if notification is None:
        raise NotFound(f"no threat notification {reference}", field="reference")
    if notification.sent_at is not None:
        raise Conflict(f"{reference} was sent on {notification.sent_at.isoformat()}", code="already_sent")
    if not channel.strip():
        raise InvalidInput("say how it was sent (phone, e-mail, portal...)", field="channel")
    notification.sent_at, notification.channel = clock(), channel.strip()[:32]
    audit.record(
        session, clock, actor, AuditAction.THREAT_SENT, subject_type="threat_notification",
        subject_id=notification.id, data={"channel": notification.channel},
    )  # fmt: skip
    return notification
