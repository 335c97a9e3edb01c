"""Pure hash-chain arithmetic for the audit log: the hash of an event and the verification walk."""

import hashlib
import json
from collections.abc import Iterable, Mapping
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


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(events: Iterable[ChainedEvent], head_seq: int, head_hash: str) -> Verdict:
    """Walk events in stored order; name the first one that is altered, missing, inserted or moved."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
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
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    if checked != head_seq or expected_prev != head_hash:
        return Verdict(
            False,
            checked,
            checked + 1 if checked < head_seq else head_seq,
            f"the log ends at #{checked} but its head says #{head_seq}: "
            "events were removed or added at the end",
        )
    return Verdict(True, checked)
