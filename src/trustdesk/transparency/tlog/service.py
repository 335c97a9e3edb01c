"""Sequencing the transparency log and answering its proofs.

A request's receipt leaf is written with the request, in its transaction (`record_receipt`), so that the
acknowledgement the authority receives carries its leaf hash; it is not yet in the tree. `sequence` is
one round of the sequencer, inside the caller's transaction: under the sequencer lock (a
transaction-scoped advisory lock on PostgreSQL; SQLite's single writer elsewhere) it writes the receipt
of any request recorded without one (requests from before the log), numbers the waiting receipts in
order of arrival (at most ``limit``), adds an audit-head leaf when the audit chain moved since the last
one, and writes the signed tree head.

Each process keeps the tree in memory (`merkle.Tree`, 64 bytes a leaf), keyed by the database it reads:
brought up to the latest signed head by reading only the leaves it lacks (in leaf-index order), and
checked against that head's root before any use. A round therefore costs O(k + log n) for k new leaves
after the first, which reads the n leaf hashes once; proofs cost O(log² n) hashes and no leaf reads.
The cache is never trusted over the database: a head it does not reproduce makes it rebuild once, then
refuse (`LogInconsistent`).
"""

import hashlib
import secrets
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session

from trustdesk.audit.models import AuditHead
from trustdesk.authorities.models import Agency
from trustdesk.clock import Clock
from trustdesk.config import Settings, public_url
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.lawful.models import LawfulRequest
from trustdesk.signing.protocol import Signer
from trustdesk.transparency.checkpoint import Checkpoint, sign_checkpoint
from trustdesk.transparency.merkle import EMPTY_ROOT, ProofError, Tree
from trustdesk.transparency.models import TlogEntry, TlogHead
from trustdesk.transparency.tlog.leaves import (
    AUDIT_HEAD,
    RECEIPT,
    SALT_SIZE,
    audit_leaf,
    hash_of,
    receipt_json,
    receipt_leaf,
)

if TYPE_CHECKING:
    from trustdesk.app import Container

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_PAGE",
    "Round",
    "consistency",
    "heads_since",
    "inclusion",
    "latest_head",
    "leaves_between",
    "origin_of",
    "receipt_of",
    "record_receipt",
    "sequence",
    "tick",
]

DEFAULT_LIMIT = 500
MAX_PAGE = 1000
LOCK_KEY = int.from_bytes(hashlib.sha256(b"trustdesk-tlog-sequencer").digest()[:8], "big", signed=True)


class LogInconsistent(Conflict):
    """The leaves in the database do not reproduce a signed head: the log was altered; nothing is served
    from it until an operator looks (``trustdesk tlog check``)."""

    code = "tlog_inconsistent"


def origin_of(settings: Settings) -> str:
    """The log's origin: ``tlog_origin``, else the public URL's host (and port) + ``/tlog``."""
    if settings.tlog_origin:
        return settings.tlog_origin
    return f"{urlsplit(public_url(settings)).netloc}/tlog"


# --- the tree in memory --------------------------------------------------------------------------------


class _Cache:
    def __init__(self) -> None:
        self.tree = Tree()
        self.lock = threading.Lock()


_caches: "weakref.WeakKeyDictionary[Any, _Cache]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def latest_head(session: Session) -> TlogHead | None:
    return session.scalar(select(TlogHead).order_by(TlogHead.tree_size.desc()).limit(1))


def _extend(session: Session, tree: Tree, size: int) -> None:
    result = session.execute(
        select(TlogEntry.leaf_index, TlogEntry.leaf_hash)
        .where(TlogEntry.leaf_index >= tree.size, TlogEntry.leaf_index < size)
        .order_by(TlogEntry.leaf_index)
        .execution_options(yield_per=10_000)
    )
    try:
        for index, hash_ in result:
            if index != tree.size:
                raise LogInconsistent(f"leaf {tree.size} of the log is missing")
            tree.append(bytes.fromhex(hash_))
    finally:
        result.close()
    if tree.size != size:
        raise LogInconsistent(f"the log has {tree.size} leaves but its signed head says {size}")


def _sync(session: Session, tree: Tree) -> TlogHead | None:
    """Bring ``tree`` to the latest signed head and check that it reproduces the head's root."""
    head = latest_head(session)
    size = head.tree_size if head else 0
    for attempt in (1, 2):
        if tree.size > size:
            tree.truncate(size)  # a round of this process that did not commit, or a database restored
        if tree.size < size:
            _extend(session, tree, size)
        if head is None or tree.root().hex() == head.root_hash:
            return head
        if attempt == 1:
            tree.truncate(0)  # rebuild once from the database before calling it inconsistent
    raise LogInconsistent(f"the log's leaves do not give the root of its signed head {size}")


@contextmanager
def _tree(session: Session) -> Iterator[tuple[Tree, TlogHead | None]]:
    bind = session.get_bind()
    with _caches_lock:
        cache = _caches.get(bind)
        if cache is None:
            cache = _caches[bind] = _Cache()
    with cache.lock:
        yield cache.tree, _sync(session, cache.tree)


# --- sequencing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    receipts: int
    audit_heads: int
    tree_size: int
    root_hash: str
    signed: bool
    """Whether this round signed a new head (it does when it added leaves, or for the very first head)."""


def _lock(session: Session) -> None:
    """One sequencer at a time: the lock is the transaction's, released by its commit or rollback."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    # SQLite: every transaction begins IMMEDIATE (trustdesk.db), so writers are already one at a time.


def _last_anchor(session: Session) -> int | None:
    subject = session.scalar(
        select(TlogEntry.subject_id)
        .where(TlogEntry.kind == AUDIT_HEAD, TlogEntry.leaf_index.is_not(None))
        .order_by(TlogEntry.leaf_index.desc())
        .limit(1)
    )
    return int(subject) if subject is not None else None


def sequence(
    session: Session, clock: Clock, signer: Signer, *, origin: str, limit: int = DEFAULT_LIMIT
) -> Round:
    """One round of the sequencer in the caller's transaction (see the module's docstring)."""
    if limit < 1:
        raise InvalidInput("the limit is at least 1", field="limit")
    _lock(session)
    now = clock()
    with _tree(session) as (tree, head):
        has_receipt = exists().where(TlogEntry.kind == RECEIPT, TlogEntry.subject_id == LawfulRequest.id)
        unrecorded = session.execute(
            select(
                LawfulRequest.id,
                LawfulRequest.tracking_number,
                LawfulRequest.instrument,
                LawfulRequest.received_at,
                Agency.country,
            )
            .join(Agency, Agency.id == LawfulRequest.agency_id)
            .where(~has_receipt)
            .order_by(LawfulRequest.received_at, LawfulRequest.id)
            .limit(limit)
        ).all()
        for request_id, tracking_number, instrument, received_at, country in unrecorded:
            session.add(_receipt_entry(request_id, tracking_number, str(instrument), received_at, country))
        session.flush()
        waiting = list(
            session.scalars(
                select(TlogEntry)
                .where(TlogEntry.kind == RECEIPT, TlogEntry.leaf_index.is_(None))
                .order_by(TlogEntry.created_at, TlogEntry.id)
                .limit(limit)
            )
        )
        entries: list[TlogEntry] = []

        def place(entry: TlogEntry) -> None:
            entry.leaf_index, entry.sequenced_at = tree.size, now
            entries.append(entry)
            tree.append(bytes.fromhex(entry.leaf_hash))

        for entry in waiting:
            place(entry)
        receipts = len(waiting)
        audit = session.get(AuditHead, 1)
        anchored = 0
        if audit is not None and audit.seq > 0 and audit.seq != _last_anchor(session):
            leaf = audit_leaf(seq=audit.seq, hash_=audit.hash)
            place(
                TlogEntry(kind=AUDIT_HEAD, subject_id=str(audit.seq), leaf=leaf, leaf_hash=hash_of(leaf),
                          salt=None, created_at=now)
            )  # fmt: skip
            anchored = 1
        root = tree.root()
        signed = bool(entries) or head is None
        if signed:
            session.add_all(entries)
            note = sign_checkpoint(Checkpoint(origin, tree.size, root), signer)
            session.add(TlogHead(tree_size=tree.size, root_hash=root.hex(), created_at=now, checkpoint=note))
            session.flush()
        return Round(receipts, anchored, tree.size, root.hex(), signed)


def _receipt_entry(
    request_id: str, tracking_number: str, instrument: str, received_at: datetime, country: str
) -> TlogEntry:
    salt = secrets.token_bytes(SALT_SIZE)
    receipt = receipt_json(received_at=received_at, tracking_number=tracking_number, instrument=instrument)
    leaf = receipt_leaf(salt=salt, receipt=receipt, country=country, received_at=received_at)
    return TlogEntry(
        kind=RECEIPT, subject_id=request_id, leaf=leaf, leaf_hash=hash_of(leaf), salt=salt.hex(),
        created_at=received_at,
    )  # fmt: skip


def record_receipt(session: Session, request: LawfulRequest) -> TlogEntry:
    """The request's receipt leaf, written in the request's own transaction (a salted commitment: no
    personal data, no case details); the sequencer puts it in the tree at its next round."""
    entry = _receipt_entry(
        request.id, request.tracking_number, str(request.instrument), request.received_at,
        request.agency.country,
    )  # fmt: skip
    session.add(entry)
    return entry


def receipt_of(session: Session, request_id: str) -> TlogEntry | None:
    return session.scalar(
        select(TlogEntry).where(TlogEntry.kind == RECEIPT, TlogEntry.subject_id == request_id)
    )


def tick(container: "Container", *, limit: int = DEFAULT_LIMIT) -> Round:
    """One sequencing round in its own transaction: what ``trustdesk serve`` calls periodically."""
    with unit_of_work(container.sessions) as session:
        return sequence(
            session, container.clock, container.signer, origin=origin_of(container.settings), limit=limit
        )


# --- reading --------------------------------------------------------------------------------------------


def heads_since(session: Session, since: int, limit: int) -> list[TlogHead]:
    return list(
        session.scalars(
            select(TlogHead).where(TlogHead.tree_size > since).order_by(TlogHead.tree_size).limit(limit)
        )
    )


def leaves_between(session: Session, start: int, end: int) -> tuple[int, list[TlogEntry]]:
    """The signed head's size and the leaves [start, end) within it, at most `MAX_PAGE`."""
    if start < 0 or end <= start:
        raise InvalidInput("give 0 <= start < end", field="end")
    if end - start > MAX_PAGE:
        raise InvalidInput(f"at most {MAX_PAGE} leaves a page", field="end")
    head = latest_head(session)
    size = head.tree_size if head else 0
    entries = session.scalars(
        select(TlogEntry)
        .where(TlogEntry.leaf_index >= start, TlogEntry.leaf_index < min(end, size))
        .order_by(TlogEntry.leaf_index)
    )
    return size, list(entries)


def _head_of_size(session: Session, size: int) -> TlogHead:
    head = session.get(TlogHead, size)
    if head is None:
        raise NotFound(f"the log signed no head of size {size}", code="tlog_head_not_found")
    return head


def inclusion(session: Session, leaf_hash: str, tree_size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of a leaf in a signed head (default: the latest), with that head's checkpoint:
    everything an offline verifier needs but the public key."""
    entry = session.scalar(select(TlogEntry).where(TlogEntry.leaf_hash == leaf_hash.lower()))
    if entry is None or entry.leaf_index is None:
        raise NotFound("no such leaf in the log", code="tlog_leaf_not_found")
    with _tree(session) as (tree, latest):
        if latest is None:
            raise NotFound("the log has no signed head yet", code="tlog_head_not_found")
        head = latest if tree_size is None else _head_of_size(session, tree_size)
        if entry.leaf_index >= head.tree_size:
            raise InvalidInput(
                f"leaf {entry.leaf_index} came after the head of size {head.tree_size}", field="tree_size"
            )
        proof = tree.inclusion_proof(entry.leaf_index, head.tree_size)
        if tree.root(head.tree_size).hex() != head.root_hash:
            raise LogInconsistent(f"the log's leaves do not give the root of its head {head.tree_size}")
    return {
        "type": "inclusion",
        "leaf_index": entry.leaf_index,
        "tree_size": head.tree_size,
        "leaf": entry.leaf,
        "leaf_hash": entry.leaf_hash,
        "root_hash": head.root_hash,
        "proof": [p.hex() for p in proof],
        "checkpoint": head.checkpoint,
    }


def consistency(session: Session, first: int, second: int | None = None) -> dict[str, Any]:
    """The consistency proof between two signed heads (``second`` default: the latest)."""
    with _tree(session) as (tree, latest):
        if latest is None:
            raise NotFound("the log has no signed head yet", code="tlog_head_not_found")
        later = latest if second is None else _head_of_size(session, second)
        if not 0 <= first <= later.tree_size:
            raise InvalidInput(f"first must be between 0 and {later.tree_size}", field="first")
        first_root = EMPTY_ROOT.hex() if first == 0 else _head_of_size(session, first).root_hash
        try:
            proof = tree.consistency_proof(first, later.tree_size)
        except ProofError as exc:  # pragma: no cover - the sizes were checked above
            raise InvalidInput(str(exc), field="first") from None
        for size, root in ((first, first_root), (later.tree_size, later.root_hash)):
            if tree.root(size).hex() != root:
                raise LogInconsistent(f"the log's leaves do not give the root of its head {size}")
    return {
        "type": "consistency",
        "first": first,
        "second": later.tree_size,
        "first_root": first_root,
        "second_root": later.root_hash,
        "proof": [p.hex() for p in proof],
        "checkpoint": later.checkpoint,
    }


def log_receipt(session: Session, request: LawfulRequest) -> dict[str, Any]:
    """What the authority keeps of its request's entry: the receipt, its salt and leaf, and once signed
    into a head, the leaf's index, the latest checkpoint and the inclusion proof."""
    entry = session.scalar(
        select(TlogEntry).where(TlogEntry.kind == RECEIPT, TlogEntry.subject_id == request.id).limit(1)
    )
    out: dict[str, Any] = {"tracking_number": request.tracking_number, "status": "pending"}
    if entry is None or entry.salt is None:
        return out  # the sequencer has not reached it yet
    receipt = receipt_json(
        received_at=request.received_at,
        tracking_number=request.tracking_number,
        instrument=request.instrument,
    )
    out |= {"receipt": receipt, "salt": entry.salt, "leaf": entry.leaf, "leaf_hash": entry.leaf_hash}
    head = latest_head(session)
    if entry.leaf_index is not None and head is not None and entry.leaf_index < head.tree_size:
        proof = inclusion(session, entry.leaf_hash)
        out |= {
            "status": "included",
            "leaf_index": entry.leaf_index,
            "tree_size": proof["tree_size"],
            "root_hash": proof["root_hash"],
            "proof": proof["proof"],
            "checkpoint": proof["checkpoint"],
        }
    return out


def count_leaves(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(TlogEntry)) or 0
