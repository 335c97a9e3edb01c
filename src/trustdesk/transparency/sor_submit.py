"""Statements of reasons submitted to the EU Transparency Database (DSA Art. 24(5)), exactly once.

Every stored statement (``safety_statements``) gets a ``sor_submissions`` row, ``pending`` (`queue_new`);
`submit_due` then sends the due ones in batches of at most 100 through a `TransparencyDatabase` client:

1. **claim** (one transaction): up to 100 due pending statements, oldest first, are marked with a new
   ``batch_id``, their ``attempts`` counted and a lease set (``next_attempt_at`` = now + `LEASE`), so that
   no other process takes them meanwhile; the claim is a compare-and-set, safe with several processes;
2. **check**: each statement is validated again with the database's rules (a statement the rules no
   longer accept is ``rejected`` without sending); a statement claimed before (its ``batch_id`` was set:
   an earlier attempt may have reached the database, e.g. a crash after sending and before recording) is
   first looked up by puid (``existing-puid``) and, if stored, recorded ``submitted`` with the database's
   id, never sent again;
3. **send** the rest as one batch; **record** each statement's outcome in a transaction of its own.

A batch is all-or-nothing: when the database refuses it (``422``) for some statements, those are
``rejected`` with its reason and the others are sent again at once; a puid it already holds counts as
submitted (with its id, looked up). A refusal that names no statement is resolved by sending them one by
one. ``429`` waits as long as ``Retry-After`` (or ``X-RateLimit-Reset``) says; a server error or a dropped
connection waits an exponential back-off with jitter (`backoff`, at most `BACKOFF_MAX`) and, when the
batch may have been stored, leaves the ``batch_id`` so the next attempt checks first. ``401``/``403`` is a
configuration error: the statements are put back as they were (no attempt counted) and the round stops.
A statement is never given up on: the law wants every one in the database; ``trustdesk sor status``
shows what waits and why.
"""

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.authorities.models import new_id
from trustdesk.clock import Clock
from trustdesk.db import unit_of_work
from trustdesk.safety.models import StatementRecord
from trustdesk.safety.statement_rules import refusal_of
from trustdesk.transparency.models import SorSubmission
from trustdesk.transparency.tdb_client import (
    MAX_BATCH,
    TdbAuthError,
    TdbRateLimited,
    TdbRefused,
    TdbTransientError,
    TransparencyDatabase,
)

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "LEASE",
    "STATUSES",
    "Preview",
    "RoundResult",
    "backoff",
    "preview_due",
    "queue_new",
    "run_rounds",
    "status_report",
    "submit_due",
    "submitted_puids",
]

log = logging.getLogger(__name__)
alerts = logging.getLogger("trustdesk.alerts")

LEASE: Final = timedelta(minutes=15)
"""How long a claimed batch is left to its process before another may take it (after a crash)."""
BACKOFF_BASE: Final = timedelta(seconds=30)
BACKOFF_MAX: Final = timedelta(hours=6)
SERVER_WAIT_MAX: Final = timedelta(hours=24)
"""A server's ``Retry-After`` is honoured up to this long (a larger one is read as this)."""
_MAX_RESENDS: Final = 5
STATUSES: Final = ("pending", "submitted", "rejected")


def backoff(attempts: int, jitter: Callable[[], float] = random.random) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: exponential from `BACKOFF_BASE`, at most
    `BACKOFF_MAX`, with "equal jitter" (half fixed, half random) so that processes do not retry together."""
    exponent = min(max(attempts, 1) - 1, 30)
    ceiling: timedelta = min(BACKOFF_MAX, BACKOFF_BASE * (2**exponent))
    share = min(max(jitter(), 0.0), 1.0)
    return timedelta(seconds=ceiling.total_seconds() * (0.5 + share / 2))


def queue_new(session: Session, now: datetime) -> int:
    """Queue every statement without a submission as pending, due now; returns how many."""
    missing = select(StatementRecord.id).where(
        ~select(SorSubmission.statement_id).where(SorSubmission.statement_id == StatementRecord.id).exists()
    )
    ids = list(session.scalars(missing))
    if ids:
        session.execute(
            insert(SorSubmission),
            [{"statement_id": i, "status": "pending", "attempts": 0, "next_attempt_at": now} for i in ids],
        )
    return len(ids)


def _queue(sessions: sessionmaker[Session], now: datetime) -> int:
    try:
        with unit_of_work(sessions) as session:
            return queue_new(session, now)
    except IntegrityError:  # another process queued the same statements at the same moment
        return 0


def _due_query(now: datetime, limit: int) -> Any:
    return (
        select(SorSubmission.statement_id)
        .join(StatementRecord, StatementRecord.id == SorSubmission.statement_id)
        .where(
            SorSubmission.status == "pending",
            or_(SorSubmission.next_attempt_at.is_(None), SorSubmission.next_attempt_at <= now),
        )
        .order_by(StatementRecord.created_at, StatementRecord.id)
        .limit(limit)
    )


@dataclass
class _Claimed:
    statement_id: str
    puid: str
    body: dict[str, Any]
    attempts: int
    """After this claim."""
    previous_batch: str | None
    """The batch of an earlier attempt: set, that attempt may have reached the database."""


@dataclass
class RoundResult:
    """What one call of `submit_due` did."""

    batch_id: str | None = None
    claimed: int = 0
    queued: int = 0
    submitted: dict[str, str | None] = field(default_factory=dict)
    """puid -> the database's id."""
    already_there: list[str] = field(default_factory=list)
    """puids found in the database (a resumed attempt, or its duplicate answer), not sent again."""
    rejected: dict[str, str] = field(default_factory=dict)
    """puid -> the reason."""
    retry_at: datetime | None = None
    """When the statements left pending are due again."""
    pause_until: datetime | None = None
    """Send nothing before then (the server's rate limit)."""
    auth_error: str | None = None
    error: str | None = None
    requests: int = 0
    sent_puids: list[list[str]] = field(default_factory=list)
    """The puids of each batch sent, in order."""

    def lines(self) -> list[str]:
        out = []
        if self.submitted:
            found = f", {len(self.already_there)} already in the database" if self.already_there else ""
            out.append(f"sor: {len(self.submitted)} statement(s) submitted (batch {self.batch_id}{found})")
        out.extend(f"sor: {puid} rejected: {reason}" for puid, reason in self.rejected.items())
        if self.auth_error:
            out.append(f"sor: stopped: {self.auth_error}")
        elif self.error:
            out.append(
                f"sor: will retry at {self.retry_at.isoformat() if self.retry_at else '?'}: {self.error}"
            )
        return out


def _claim(sessions: sessionmaker[Session], now: datetime, limit: int) -> tuple[str, list[_Claimed]]:
    batch_id = new_id()
    with unit_of_work(sessions) as session:
        ids = list(session.scalars(_due_query(now, limit)))
        if not ids:
            return batch_id, []
        before = {
            row.statement_id: (row.batch_id, row.attempts)
            for row in session.scalars(select(SorSubmission).where(SorSubmission.statement_id.in_(ids)))
        }
        session.execute(
            update(SorSubmission)
            .where(
                SorSubmission.statement_id.in_(ids),
                SorSubmission.status == "pending",
                or_(SorSubmission.next_attempt_at.is_(None), SorSubmission.next_attempt_at <= now),
            )
            .values(batch_id=batch_id, attempts=SorSubmission.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(
                SorSubmission.statement_id, SorSubmission.attempts, StatementRecord.puid, StatementRecord.body
            )
            .join(StatementRecord, StatementRecord.id == SorSubmission.statement_id)
            .where(SorSubmission.batch_id == batch_id, SorSubmission.statement_id.in_(ids))
            .order_by(StatementRecord.created_at, StatementRecord.id)
        ).all()
    return batch_id, [
        _Claimed(sid, puid, dict(body), attempts, before[sid][0]) for sid, attempts, puid, body in rows
    ]


class _Recorder:
    """Writes each statement's outcome in a transaction of its own, only if the statement is still this
    batch's (a process that outlived its lease must not overwrite another's work)."""

    def __init__(self, sessions: sessionmaker[Session], batch_id: str, now: datetime) -> None:
        self.sessions = sessions
        self.batch_id = batch_id
        self.now = now

    def _apply(
        self, item: _Claimed, event: tuple[AuditAction, dict[str, Any]] | None = None, **values: object
    ) -> bool:
        with unit_of_work(self.sessions) as session:
            done = session.execute(
                update(SorSubmission)
                .where(
                    SorSubmission.statement_id == item.statement_id,
                    SorSubmission.batch_id == self.batch_id,
                    SorSubmission.status == "pending",
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            changed = bool(getattr(done, "rowcount", 0))
            if changed and event is not None:  # the outcome, in the same transaction
                action, data = event
                audit.record(
                    session, lambda: self.now, Actor.system(), action, subject_type="statement",
                    subject_id=item.statement_id, data={"puid": item.puid, "batch_id": self.batch_id, **data},
                )  # fmt: skip
            return changed

    def submitted(self, item: _Claimed, remote_id: str | None) -> bool:
        return self._apply(
            item, (AuditAction.SOR_SUBMIT, {"remote_id": remote_id}), status="submitted",
            submitted_at=self.now, remote_id=remote_id or None, next_attempt_at=None, last_error=None,
        )  # fmt: skip

    def rejected(self, item: _Claimed, reason: str) -> bool:
        return self._apply(
            item, (AuditAction.SOR_REJECT, {"reason": reason}), status="rejected", next_attempt_at=None,
            last_error=reason,
        )  # fmt: skip

    def later(self, item: _Claimed, at: datetime, error: str, *, in_doubt: bool) -> bool:
        """Pending again from ``at``; ``in_doubt``: the batch may be stored, the next attempt checks first."""
        batch = self.batch_id if in_doubt or item.previous_batch else None
        return self._apply(item, next_attempt_at=at, last_error=error, batch_id=batch)

    def put_back(self, item: _Claimed, error: str) -> bool:
        """As before the claim (no attempt counted), due now; for a configuration error."""
        return self._apply(
            item, next_attempt_at=self.now, last_error=error, batch_id=item.previous_batch,
            attempts=item.attempts - 1,
        )  # fmt: skip


def _server_wait(seconds: float | None, attempts: int, jitter: Callable[[], float]) -> timedelta:
    if seconds is None:
        return backoff(attempts, jitter)
    wait = min(timedelta(seconds=max(seconds, 1.0)), SERVER_WAIT_MAX)
    return wait + min(wait * 0.1, timedelta(seconds=30)) * min(max(jitter(), 0.0), 1.0)


def submit_due(
    session_factory: sessionmaker[Session],
    clock: Clock,
    client: TransparencyDatabase,
    *,
    limit: int = MAX_BATCH,
    jitter: Callable[[], float] = random.random,
) -> RoundResult:
    """Queue new statements, claim up to ``min(limit, 100)`` due ones as one batch, send and record them
    (each outcome in its own transaction). Transactions are the function's own: pass a session factory."""
    now = clock()
    result = RoundResult(queued=_queue(session_factory, now))
    batch_id, claimed = _claim(session_factory, now, max(1, min(limit, MAX_BATCH)))
    if not claimed:
        return result
    result.batch_id, result.claimed = batch_id, len(claimed)
    record = _Recorder(session_factory, batch_id, now)
    todo: list[_Claimed] = []
    for item in claimed:
        reason = refusal_of(item.body)
        if reason is not None:
            record.rejected(item, f"refused before sending: {reason}")
            result.rejected[item.puid] = reason
        else:
            todo.append(item)
    try:
        todo = _already_there(client, record, result, todo)
        _send(client, record, result, todo)
    except TdbAuthError as exc:
        result.auth_error = str(exc)
        for item in _unrecorded(claimed, result):
            record.put_back(item, str(exc))
        alerts.error("EU Transparency Database submission stopped: %s", exc)
    except TdbRateLimited as exc:
        wait = _server_wait(exc.retry_after, 1, jitter)
        result.error, result.retry_at, result.pause_until = str(exc), now + wait, now + wait
        for item in _unrecorded(claimed, result):
            record.later(item, now + wait, str(exc), in_doubt=False)
    except TdbTransientError as exc:
        result.error = str(exc)
        for item in _unrecorded(claimed, result):
            at = now + backoff(item.attempts, jitter)
            result.retry_at = min(result.retry_at or at, at)
            record.later(item, at, str(exc), in_doubt=exc.in_doubt)
    limits = client.limits
    if limits.remaining == 0 and limits.reset_after:  # the server's quota is spent: wait for its reset
        result.pause_until = max(result.pause_until or now, now + timedelta(seconds=limits.reset_after))
    return result


def _unrecorded(claimed: Iterable[_Claimed], result: RoundResult) -> list[_Claimed]:
    done = set(result.submitted) | set(result.rejected)
    return [item for item in claimed if item.puid not in done]


def _already_there(
    client: TransparencyDatabase, record: _Recorder, result: RoundResult, todo: list[_Claimed]
) -> list[_Claimed]:
    """Statements an earlier attempt may have stored: recorded submitted if the database has them."""
    rest = []
    for item in todo:
        if item.previous_batch is None:
            rest.append(item)
            continue
        result.requests += 1
        remote = client.existing(item.puid)
        if remote is None:
            rest.append(item)
        else:
            record.submitted(item, remote)
            result.submitted[item.puid] = remote or None
            result.already_there.append(item.puid)
    return rest


def _send(client: TransparencyDatabase, record: _Recorder, result: RoundResult, todo: list[_Claimed]) -> None:
    rest = list(todo)
    for _ in range(_MAX_RESENDS):
        if not rest:
            return
        result.requests += 1
        result.sent_puids.append([item.puid for item in rest])
        try:
            ids = client.submit_batch([item.body for item in rest])
        except TdbRefused as refused:
            rest = _after_refusal(client, record, result, rest, refused)
            continue
        for item in rest:
            record.submitted(item, ids.get(item.puid))
            result.submitted[item.puid] = ids.get(item.puid)
        return
    if rest:  # refused again and again: leave them for the next round
        raise TdbTransientError(f"the batch was refused {_MAX_RESENDS} times", in_doubt=False)


def _after_refusal(
    client: TransparencyDatabase,
    record: _Recorder,
    result: RoundResult,
    rest: list[_Claimed],
    refused: TdbRefused,
) -> list[_Claimed]:
    """Record what a refused batch's answer settles; the statements to send again."""
    settled: set[str] = set()
    if refused.existing_puids:
        known = set(refused.existing_puids)
        for item in rest:
            if item.puid in known:
                remote: str | None = refused.existing_ids.get(item.puid)
                if remote is None:
                    result.requests += 1
                    remote = client.existing(item.puid)
                if remote is None:  # it says duplicate, then not found: leave it for a later round
                    continue
                record.submitted(item, remote)
                result.submitted[item.puid] = remote or None
                result.already_there.append(item.puid)
                settled.add(item.puid)
    for index, reason in refused.errors.items():
        if 0 <= index < len(rest):
            item = rest[index]
            record.rejected(item, f"refused by the database: {reason}")
            result.rejected[item.puid] = reason
            settled.add(item.puid)
    if settled:
        return [item for item in rest if item.puid not in settled]
    # A refusal naming no statement: send them one by one, so that each answer is its own.
    for item in rest:
        result.requests += 1
        result.sent_puids.append([item.puid])
        try:
            remote = client.submit_one(item.body)
        except TdbRefused as alone:
            if alone.existing_puids:
                remote = alone.existing_ids.get(item.puid) or client.existing(item.puid)
                record.submitted(item, remote)
                result.submitted[item.puid] = remote or None
                result.already_there.append(item.puid)
                continue
            reason = alone.errors.get(0) or str(alone)
            record.rejected(item, f"refused by the database: {reason}")
            result.rejected[item.puid] = reason
            continue
        record.submitted(item, remote)
        result.submitted[item.puid] = remote
    return []


def run_rounds(
    session_factory: sessionmaker[Session],
    clock: Clock,
    client: TransparencyDatabase,
    *,
    limit: int,
    jitter: Callable[[], float] = random.random,
) -> list[RoundResult]:
    """`submit_due` batch after batch until ``limit`` statements were claimed, nothing is due, or the
    server asks to wait or refuses the token."""
    rounds: list[RoundResult] = []
    left = limit
    while left > 0:
        size = min(left, MAX_BATCH)
        result = submit_due(session_factory, clock, client, limit=size, jitter=jitter)
        rounds.append(result)
        left -= result.claimed
        if result.claimed < size or result.auth_error or result.error:
            break
        if result.pause_until is not None and result.pause_until > clock():
            break
    return rounds


# ----------------------------------------------------------------------------------- dry run, status


@dataclass(frozen=True)
class Preview:
    """What `submit_due` would send now: the batches of valid statements and the refused ones."""

    batches: list[list[dict[str, Any]]]
    refused: dict[str, str]
    checks: list[str]
    """puids an earlier attempt may have stored: looked up before sending."""

    @property
    def statements(self) -> int:
        return sum(len(b) for b in self.batches)


def preview_due(session: Session, now: datetime, *, limit: int) -> Preview:
    """A dry run: the statements due now (queued or not yet), validated, batched; nothing is written."""
    query = (
        select(StatementRecord, SorSubmission.batch_id)
        .outerjoin(SorSubmission, SorSubmission.statement_id == StatementRecord.id)
        .where(
            or_(
                SorSubmission.statement_id.is_(None),  # not queued yet
                and_(
                    SorSubmission.status == "pending",
                    or_(SorSubmission.next_attempt_at.is_(None), SorSubmission.next_attempt_at <= now),
                ),
            )
        )
        .order_by(StatementRecord.created_at, StatementRecord.id)
        .limit(limit)
    )
    batches: list[list[dict[str, Any]]] = []
    refused: dict[str, str] = {}
    checks: list[str] = []
    for index, (record, batch_id) in enumerate(session.execute(query)):
        if index % MAX_BATCH == 0:  # claimed 100 at a time, the refused ones then left out
            batches.append([])
        reason = refusal_of(record.body)
        if reason is not None:
            refused[record.puid] = reason
            continue
        if batch_id is not None:
            checks.append(record.puid)
        batches[-1].append(dict(record.body))
    batches = [batch for batch in batches if batch]
    return Preview(batches=batches, refused=refused, checks=checks)


def status_report(session: Session, now: datetime, *, errors: int = 10) -> dict[str, Any]:
    """Counts by status (and of the pending: due now, waiting, in doubt), statements not yet queued, and
    the last errors."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(
        select(SorSubmission.status, func.count()).group_by(SorSubmission.status)
    ):
        counts[status] = count
    pending = (SorSubmission.status == "pending",)
    due = session.scalar(
        select(func.count())
        .select_from(SorSubmission)
        .where(*pending, or_(SorSubmission.next_attempt_at.is_(None), SorSubmission.next_attempt_at <= now))
    )
    in_doubt = session.scalar(
        select(func.count()).select_from(SorSubmission).where(*pending, SorSubmission.batch_id.is_not(None))
    )
    unqueued = session.scalar(
        select(func.count())
        .select_from(StatementRecord)
        .where(
            ~select(SorSubmission.statement_id)
            .where(SorSubmission.statement_id == StatementRecord.id)
            .exists()
        )
    )
    next_at = session.scalar(select(func.min(SorSubmission.next_attempt_at)).where(*pending))
    rows = session.execute(
        select(StatementRecord.puid, SorSubmission)
        .join(StatementRecord, StatementRecord.id == SorSubmission.statement_id)
        .where(SorSubmission.last_error.is_not(None))
        .order_by(StatementRecord.created_at.desc(), StatementRecord.id.desc())
        .limit(errors)
    ).all()
    return {
        "counts": {**counts, "not_queued": unqueued or 0},
        "pending_due": due or 0,
        "pending_in_doubt": in_doubt or 0,
        "next_attempt_at": next_at.isoformat() if next_at else None,
        "last_errors": [
            {
                "puid": puid,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
                "error": row.last_error,
            }
            for puid, row in rows
        ],
    }


def submitted_puids(session: Session, puids: Sequence[str]) -> dict[str, str]:
    """puid -> status for the given puids (tests and the CLI)."""
    rows = session.execute(
        select(StatementRecord.puid, SorSubmission.status)
        .join(SorSubmission, SorSubmission.statement_id == StatementRecord.id)
        .where(StatementRecord.puid.in_(list(puids)))
    )
    return {row[0]: row[1] for row in rows}
