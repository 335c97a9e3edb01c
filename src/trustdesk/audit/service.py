"""Recording and verifying audit events. Callers pass their session: the event joins their transaction.

The session factory carries the platform's signer (``session.info["audit_signer"]``, set by the
composition root): every event is signed as it is recorded. ``verify`` checks the signatures against a
public key when given one (the platform's own by default in ``trustdesk audit verify``; an auditor can pass
the published key instead).
"""

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit.chain import (
    GENESIS,
    ChainedEvent,
    Signatures,
    Verdict,
    event_hash,
    event_message,
    since_message,
    verify_chain,
)
from trustdesk.audit.models import AuditEvent, AuditHead
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.signing.protocol import Signer, verify_signature

HEAD_ID = 1
SIGNER_KEY = "audit_signer"
"""The key of ``Session.info`` that holds the signer of audit events."""


def sign_with(sessions: "sessionmaker[Session]", signer: Callable[[], Signer]) -> None:
    """Every session of ``sessions`` signs the audit events it records with ``signer()``: called at the
    first event, so that a process that records nothing (the public pages) starts without the key, and
    one that records loudly fails without it rather than write an unsigned event."""
    sessions.configure(info={SIGNER_KEY: signer})


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
    provider: Callable[[], Signer] | None = session.info.get(SIGNER_KEY)
    if provider is not None:
        signer = provider()
        if head.signed_since is None:
            head.signed_since = event.seq
            head.since_signature = signer.sign(since_message(event.seq)).hex()
        event.signature = signer.sign(event_message(event.seq, event.hash)).hex()
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
        signature=event.signature,
    )


def verify(session: Session, public_key: bytes | None = None) -> Verdict:
    """Walk the whole log in sequence order, streaming it in batches; with the platform's ``public_key``
    (raw Ed25519), every event from where signing began must carry its valid signature."""
    head = session.get(AuditHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    signatures = None
    if public_key is not None:
        signatures = Signatures(
            verify=lambda message, signature: verify_signature(public_key, message, signature),
            signed_since=head.signed_since if head else None,
            since_signature=head.since_signature if head else None,
        )
    result = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    try:
        return verify_chain((_chained(e) for e in result.scalars()), head_seq, head_hash, signatures)
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
