"""Pure hash-chain arithmetic for the audit log: the hash of an event, the messages the platform signs, and
the verification walk.

The hash chain proves the log intact to anyone who trusts the database; someone with write access to the
database could still rewrite an event and recompute every hash after it. So each event also carries the
platform's Ed25519 signature of its sequence number and hash (`event_message`), made with the signing key
kept outside the database (``TRUSTDESK_SIGNING_KEY_PATH``): a rewritten, recomputed chain has hashes the
key never signed. A log upgraded from before signing has an unsigned prefix; where signing began is itself
signed (`since_message`), so it cannot be moved to hide a rewrite. What signatures cannot show is a log cut
back to an earlier, validly signed head: the public transparency log anchors heads against that.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainedEvent:
    seq: int
    occurred_at: datetime
    actor_kind: str
    actor_id: str | None
    action: str
    subject_type: str
    subject_id: str
    data: Mapping[str, Any]
    prev_hash: str
    hash: str
    signature: str | None = None


def event_hash(
    *,
    seq: int,
    occurred_at: datetime,
    actor_kind: str,
    actor_id: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of every field, the previous hash included."""
    if occurred_at.tzinfo is None:
        raise ValueError("audit timestamps must be aware")
    canonical = json.dumps(
        {
            "seq": seq,
            "occurred_at": occurred_at.isoformat(timespec="microseconds"),
            "actor_kind": actor_kind,
            "actor_id": actor_id,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": data,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_message(seq: int, hash_: str) -> bytes:
    """What the platform signs for an event (domain-separated from every other signature it makes)."""
    return f"trustdesk-audit-event-v1|{seq}|{hash_}".encode()


def since_message(seq: int) -> bytes:
    """What the platform signs for the first signed event of the log."""
    return f"trustdesk-audit-since-v1|{seq}".encode()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    signed: int = 0
    """How many events carried a valid signature (0 when no public key was given)."""


@dataclass(frozen=True)
class Signatures:
    """What a walk checks signatures with: the public key's verify function and the signed start."""

    verify: Callable[[bytes, bytes], bool]
    """``verify(message, signature)``."""
    signed_since: int | None
    since_signature: str | None


def _signature_problem(event: ChainedEvent, check: Signatures, since: int) -> str | None:
    if event.seq < since:
        return "it carries a signature although signing began later" if event.signature else None
    if not event.signature:
        return "it is not signed: recorded without the platform's key, or its signature was removed"
    try:
        signature = bytes.fromhex(event.signature)
    except ValueError:
        return "its signature is not hexadecimal"
    if not check.verify(event_message(event.seq, event.hash), signature):
        return "its signature does not match its hash: rewritten and recomputed without the key"
    return None


def _start(check: Signatures, head_seq: int) -> tuple[int, str | None]:
    """Where signing began, or why that cannot be trusted."""
    if check.signed_since is None:
        return head_seq + 1, "the log says signing never began" if head_seq else None
    try:
        valid = check.verify(since_message(check.signed_since), bytes.fromhex(check.since_signature or ""))
    except ValueError:
        valid = False
    if not valid:
        return check.signed_since, "where signing began is not signed by the platform's key: moved"
    return check.signed_since, None


def verify_chain(
    events: Iterable[ChainedEvent],
    head_seq: int,
    head_hash: str,
    signatures: Signatures | None = None,
) -> Verdict:
    """Walk events in stored order; name the first one that is altered, missing, inserted or moved, and
    with ``signatures``, the first whose signature is missing or wrong."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = signed = 0
    since = head_seq + 1
    if signatures is not None:
        since, problem = _start(signatures, head_seq)
        if problem is not None:
            return Verdict(False, 0, since, problem)
    for event in events:
        if event.seq != expected_seq:
            return Verdict(
                False,
                checked,
                event.seq,
                f"expected event #{expected_seq} here, found #{event.seq}: "
                "an event was deleted, inserted or reordered",
            )
        if event.prev_hash != expected_prev:
            return Verdict(
                False, checked, event.seq, "its previous-hash link does not match the event before it"
            )
        recomputed = event_hash(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return Verdict(False, checked, event.seq, "its content does not match its hash: altered")
        if signatures is not None:
            if (problem := _signature_problem(event, signatures, since)) is not None:
                return Verdict(False, checked, event.seq, problem, signed)
            signed += event.seq >= since
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    if checked < head_seq:
        return Verdict(
            False, checked, checked + 1,
            f"the log ends at #{checked} but its head says #{head_seq}: events were removed at the end",
            signed,
        )  # fmt: skip
    if checked > head_seq:
        return Verdict(
            False, checked, head_seq + 1,
            f"the log goes on after its head #{head_seq}, to #{checked}: events were added without the head",
            signed,
        )  # fmt: skip
    if expected_prev != head_hash:
        return Verdict(
            False, checked, head_seq,
            f"the head's hash does not match event #{head_seq}: the head or the last event was rewritten",
            signed,
        )  # fmt: skip
    return Verdict(True, checked, signed=signed)
