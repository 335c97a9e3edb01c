"""Verifying the transparency log: offline from files (a receipt, a proof, checkpoints) with only the public
key, and against the database (every leaf and head recomputed, every audit anchor matched to the chain).

Each check returns the problems it found, in sentences; an empty list means verified.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.models import AuditEvent
from trustdesk.authorities.models import Agency
from trustdesk.lawful.models import LawfulRequest
from trustdesk.transparency.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from trustdesk.transparency.merkle import Tree, verify_consistency, verify_inclusion
from trustdesk.transparency.models import TlogEntry, TlogHead
from trustdesk.transparency.tlog.leaves import (
    AUDIT_HEAD,
    RECEIPT,
    LeafError,
    commitment,
    hash_of,
    parse_leaf,
    receipt_json,
    receipt_leaf,
)

__all__ = [
    "check_audit_anchors",
    "check_inclusion",
    "check_log",
    "check_receipt",
    "check_report_counts",
    "leaves_up_to",
    "log_root",
]


def _hashes(values: Any) -> list[bytes] | None:
    if not isinstance(values, list) or len(values) > 128:
        return None
    try:
        out = [bytes.fromhex(v) for v in values if isinstance(v, str)]
    except ValueError:
        return None
    return out if len(out) == len(values) else None


def check_inclusion(proof: Mapping[str, Any], checkpoint: Checkpoint) -> list[str]:
    """An inclusion proof (``trustdesk tlog prove``, ``GET /api/v1/tlog/proof/inclusion``) against a
    verified checkpoint: the leaf hashes to its hash, and the path leads to the checkpoint's root."""
    leaf, leaf_hash, index, size = (proof.get(k) for k in ("leaf", "leaf_hash", "leaf_index", "tree_size"))
    path = _hashes(proof.get("proof"))
    if not (isinstance(leaf, str) and isinstance(leaf_hash, str) and isinstance(index, int)) or path is None:
        return ["the proof is not an inclusion proof (leaf, leaf_hash, leaf_index, tree_size, proof)"]
    problems = []
    if hash_of(leaf) != leaf_hash:
        problems.append("the leaf does not hash to the proof's leaf hash")
    if size != checkpoint.size:
        problems.append(f"the proof is for a tree of {size} leaves, the checkpoint has {checkpoint.size}")
    elif not verify_inclusion(index, checkpoint.size, bytes.fromhex(leaf_hash), path, checkpoint.root_hash):
        problems.append(f"the inclusion proof does not lead to the checkpoint's root (tree of {size})")
    return problems


def check_receipt(receipt_file: Mapping[str, Any], public_key: bytes) -> list[str]:
    """An authority's log receipt (``GET /api/v1/requests/{n}/log-receipt``), offline: the salted
    commitment of the receipt is in the leaf, the leaf is in the signed checkpoint."""
    receipt, salt, leaf = (receipt_file.get(k) for k in ("receipt", "salt", "leaf"))
    if not (isinstance(receipt, str) and isinstance(salt, str) and isinstance(leaf, str)):
        return ["the file carries no receipt, salt and leaf: the request is not in the log yet"]
    try:
        parsed = parse_leaf(leaf)
        salt_bytes = bytes.fromhex(salt)
        expected = commitment(salt_bytes, receipt)
    except (LeafError, ValueError) as exc:
        return [f"the receipt's leaf or salt is malformed: {exc}"]
    problems = []
    if parsed.kind != RECEIPT or parsed.fields.get("commitment") != expected:
        problems.append("the leaf does not commit to this receipt and salt")
    tracking = receipt_file.get("tracking_number")
    if tracking is not None and f'"tracking_number":"{tracking}"' not in receipt:
        problems.append("the receipt is not the one of this tracking number")
    note = receipt_file.get("checkpoint")
    if not isinstance(note, str):
        return [*problems, "the file has no checkpoint yet: fetch the log receipt again once it is sequenced"]
    try:
        checkpoint = verify_checkpoint(note, public_key)
    except CheckpointError as exc:
        return [*problems, f"the checkpoint: {exc}"]
    return problems + check_inclusion(receipt_file, checkpoint)


def check_consistency(
    previous: Checkpoint, current: Checkpoint, proof: Mapping[str, Any] | list[bytes]
) -> list[str]:
    """Whether the later checkpoint extends the earlier one (a consistency proof from a file or the log)."""
    path = proof if isinstance(proof, list) else _hashes(proof.get("proof"))
    if path is None:
        return ["the consistency proof is malformed"]
    if previous.size > current.size:
        return [f"the previous head ({previous.size}) is larger than the current one ({current.size})"]
    if isinstance(proof, Mapping) and (proof.get("first"), proof.get("second")) != (
        previous.size,
        current.size,
    ):
        return [f"the consistency proof is not from {previous.size} to {current.size}"]
    if not verify_consistency(previous.size, current.size, path, previous.root_hash, current.root_hash):
        return [
            (
                f"the head of size {current.size} is not consistent with the head of size {previous.size} "
                "seen before: the log was rewritten (a fork)"
            )
        ]
    return []


def log_tree(session: Session) -> tuple[Tree, list[str]]:
    """The tree recomputed from the leaves in the database, every leaf's hash recomputed from its text."""
    tree, problems = Tree(), []
    result = session.execute(
        select(TlogEntry.leaf_index, TlogEntry.leaf, TlogEntry.leaf_hash)
        .where(TlogEntry.leaf_index.is_not(None))
        .order_by(TlogEntry.leaf_index)
        .execution_options(yield_per=10_000)
    )
    try:
        for index, leaf, stored in result:
            if index != tree.size:
                problems.append(f"leaf {tree.size} is missing")
                break
            if hash_of(leaf) != stored:
                problems.append(f"leaf {index}'s text does not hash to its stored hash: altered")
            tree.append(hashlib.sha256(b"\x00" + leaf.encode()).digest())
    finally:
        result.close()
    return tree, problems


def log_root(session: Session, size: int) -> bytes | None:
    """The root the database's leaves give for ``size`` leaves (None: it has fewer)."""
    tree, _ = log_tree(session)
    return tree.root(size) if size <= tree.size else None


def check_log(session: Session, public_key: bytes) -> list[str]:
    """The whole log in the database: every leaf's hash, every signed head's root recomputed from the
    leaves and its checkpoint's signature, and every receipt leaf against its request."""
    tree, problems = log_tree(session)
    for head in session.scalars(select(TlogHead).order_by(TlogHead.tree_size)):
        try:
            checkpoint = verify_checkpoint(head.checkpoint, public_key)
        except CheckpointError as exc:
            problems.append(f"head {head.tree_size}: {exc}")
            continue
        if (checkpoint.size, checkpoint.root_hash.hex()) != (head.tree_size, head.root_hash):
            problems.append(f"head {head.tree_size}: its stored size or root differ from its checkpoint")
        if head.tree_size > tree.size:
            problems.append(f"head {head.tree_size} covers leaves the log does not have ({tree.size})")
        elif tree.root(head.tree_size) != checkpoint.root_hash:
            problems.append(f"head {head.tree_size}: the leaves do not give its signed root: altered")
    rows = session.execute(
        select(TlogEntry, LawfulRequest, Agency.country)
        .join(LawfulRequest, LawfulRequest.id == TlogEntry.subject_id, isouter=True)
        .join(Agency, Agency.id == LawfulRequest.agency_id, isouter=True)
        .where(TlogEntry.kind == RECEIPT)
        .order_by(TlogEntry.leaf_index)
    )
    for entry, request, country in rows:
        if request is None or entry.salt is None:
            problems.append(f"receipt leaf {entry.leaf_index} belongs to no request")
            continue
        receipt = receipt_json(
            received_at=request.received_at,
            tracking_number=request.tracking_number,
            instrument=request.instrument,
        )
        expected = receipt_leaf(
            salt=bytes.fromhex(entry.salt), receipt=receipt, country=country, received_at=request.received_at
        )
        if expected != entry.leaf:
            problems.append(
                f"receipt leaf {entry.leaf_index} no longer matches request {request.tracking_number}: "
                "the request or its leaf was altered"
            )
    return problems


def check_audit_anchors(session: Session) -> tuple[int, list[str]]:
    """Every audit-head leaf against the audit chain in the database: the event of that sequence number
    must still carry that hash. A chain rewritten and recomputed (every hash after the change redone)
    no longer matches the anchors logged before the rewrite. Returns (anchors checked, problems)."""
    problems: list[str] = []
    checked = 0
    entries = session.scalars(
        select(TlogEntry).where(TlogEntry.kind == AUDIT_HEAD).order_by(TlogEntry.leaf_index)
    )
    for entry in entries:
        checked += 1
        try:
            leaf = parse_leaf(entry.leaf)
        except LeafError as exc:
            problems.append(f"audit anchor at leaf {entry.leaf_index}: {exc}")
            continue
        if hash_of(entry.leaf) != entry.leaf_hash:
            problems.append(f"audit anchor at leaf {entry.leaf_index} does not hash to its stored hash")
        seq, anchored = leaf.fields["seq"], leaf.fields["hash"]
        event_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
        if event_hash is None:
            problems.append(f"audit event #{seq}, anchored at leaf {entry.leaf_index}, is gone")
        elif event_hash != anchored:
            problems.append(
                f"audit event #{seq} has another hash than the one anchored at leaf {entry.leaf_index}: "
                "the audit chain was rewritten"
            )
    return checked, problems


def check_report_counts(document: Mapping[str, Any], leaves: list[str], public_key: bytes) -> list[str]:
    """Whether a report's figures are covered by the log: its signed head verifies, the leaves given (the
    first ``tree_size`` leaves of the log, from the database or ``GET /api/v1/tlog/leaves``) give that
    head's root, and the receipts among them of the report's period (and country, for a country report)
    are as many as the report says it received and as its ``log.receipt_leaves``."""
    problems: list[str] = []
    log = document.get("log") or {}
    head = log.get("head")
    if not isinstance(head, Mapping) or not isinstance(head.get("checkpoint"), str):
        return ["the report includes no signed tree head: nothing to check its counts against"]
    try:
        checkpoint = verify_checkpoint(head["checkpoint"], public_key)
    except CheckpointError as exc:
        return [f"the report's tree head: {exc}"]
    if len(leaves) != checkpoint.size:
        return [f"{len(leaves)} leaves given, but the report's head covers {checkpoint.size}"]
    tree = Tree()
    for leaf in leaves:
        tree.append(bytes.fromhex(hash_of(leaf)))
    if tree.root() != checkpoint.root_hash:
        return ["the leaves given do not give the root of the report's signed head: not the log's leaves"]
    start, _, end = str(document.get("period_range", "")).partition("/")
    scope = str(document.get("scope", "global"))
    counted = 0
    for leaf in leaves:
        try:
            parsed = parse_leaf(leaf)
        except LeafError as exc:
            problems.append(f"a leaf of the log is malformed: {exc}")
            continue
        fields = parsed.fields
        if parsed.kind != RECEIPT or not start <= str(fields["day"]) <= end:
            continue
        if scope in ("global", fields["country"]):
            counted += 1
    claimed = log.get("receipt_leaves")
    if claimed != counted:
        problems.append(
            f"the report says {claimed} receipts of its period are in the log; the log holds {counted}"
        )
    metrics = document.get("metrics") or {}
    received = (metrics.get("lawful") or {}).get("received") if isinstance(metrics, Mapping) else None
    if isinstance(received, int) and received != counted:
        problems.append(
            f"the report counts {received} requests received in its period, but the log holds {counted} "
            "receipts of that period: requests are missing from the report or from the log"
        )
    return problems


def leaves_up_to(session: Session, size: int) -> list[str]:
    """The first ``size`` leaves of the log, in order."""
    return list(
        session.scalars(
            select(TlogEntry.leaf).where(TlogEntry.leaf_index < size).order_by(TlogEntry.leaf_index)
        )
    )
