"""Platform service tokens: how the platform's own services (its Synapse module) call Trustdesk.

Only the SHA-256 of a token is stored. The upload-time match path must not query the database per
request, so `TokenCache` keeps the active hashes in memory and reloads them at most every ``ttl``
seconds: a revoked token stops working within that time.
"""

import hmac
import secrets
import threading
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.credentials import hash_api_key
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.safety.models import PlatformToken

PREFIX = "tdp_"


def issue(session: Session, clock: Clock, actor: Actor, name: str, *, token: str | None = None) -> str:
    """A new token for the platform service ``name``; shown once, stored as its SHA-256.

    ``token`` is for the demo only, whose token is derived from the secret so that every start shows it.
    """
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput("a platform token's name is 1-64 characters", field="name")
    if session.scalar(select(PlatformToken.id).where(PlatformToken.name == name)) is not None:
        raise Conflict(f"a platform token named {name!r} exists; revoke it first", field="name")
    token = token or PREFIX + secrets.token_urlsafe(32)
    record = PlatformToken(name=name, token_hash=hash_api_key(token), created_at=clock())
    session.add(record)
    session.flush()
    audit.record(
        session, clock, actor, AuditAction.PLATFORM_TOKEN_ISSUE, subject_type="platform_token",
        subject_id=record.id, data={"name": name},
    )  # fmt: skip
    return token


def revoke(session: Session, clock: Clock, actor: Actor, name: str) -> None:
    record = session.scalar(
        select(PlatformToken).where(PlatformToken.name == name, PlatformToken.revoked_at.is_(None))
    )
    if record is None:
        raise NotFound(f"no active platform token named {name!r}", field="name")
    session.execute(update(PlatformToken).where(PlatformToken.id == record.id).values(revoked_at=clock()))
    audit.record(
        session, clock, actor, AuditAction.PLATFORM_TOKEN_REVOKE, subject_type="platform_token",
        subject_id=record.id, data={"name": name},
    )  # fmt: skip


class TokenCache:
    """The active token hashes of this process, reloaded at most every ``ttl`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._hashes: frozenset[str] = frozenset()
        self._next = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Reload on the next check (after this process issued or revoked a token)."""
        self._next = 0.0

    def valid(self, token: str) -> bool:
        if time.monotonic() >= self._next:
            with self._lock:
                if time.monotonic() >= self._next:
                    with self.sessions() as session:
                        self._hashes = frozenset(
                            session.scalars(
                                select(PlatformToken.token_hash).where(PlatformToken.revoked_at.is_(None))
                            )
                        )
                    self._next = time.monotonic() + self.ttl
        digest = hash_api_key(token)
        return any(hmac.compare_digest(digest, known) for known in self._hashes)
