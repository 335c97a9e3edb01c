"""Recording and verifying audit events. Callers pass their session: the event joins their transaction."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.chain import GENESIS, ChainedEvent, Verdict, event_hash, verify_chain
from trustdesk.audit.models import AuditEvent, AuditHead
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock

HEAD_ID = 1


def record(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: AuditAction,
    *,
    subject_type: str,
    subject_id: str,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "occurred_at": clock(),
        "actor_kind": actor.kind.value,
        "actor_id": actor.id,
        "action": action.value,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": dict(data or {}),
        "prev_hash": head.hash,
    }
    event = AuditEvent(**fields, hash=event_hash(**fields))
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.flush()
    return event


def _chained(event: AuditEvent) -> ChainedEvent:
    return ChainedEvent(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_kind=event.actor_kind,
        actor_id=event.actor_id,
        action=event.action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        data=event.data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def verify(session: Session) -> Verdict:
    """Walk the whole log in sequence order, streaming it in batches."""
    head = session.get(AuditHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    result = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    try:
        return verify_chain((_chained(e) for e in result.scalars()), head_seq, head_hash)
    finally:
        result.close()


def events_for(session: Session, subject_type: str, subject_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.seq)
        )
    )
