"""The audit chain's canonical form, byte for byte (written to kill the mutants of audit/chain.py).

Hashes already recorded must stay verifiable forever: any change to the canonical JSON (key order,
separators, escaping, timestamp precision) or to the signed messages breaks every existing log.
"""

import hashlib
from datetime import UTC, datetime

import pytest

from trustdesk.audit.chain import GENESIS, event_hash, event_message, since_message

AT = datetime(2026, 11, 2, 9, 0, 5, 123, tzinfo=UTC)


def test_the_canonical_json_is_pinned_byte_for_byte() -> None:
    canonical = (
        '{"action":"request.received","actor_id":null,"actor_kind":"officer",'
        '"data":{"a":[1,2],"z":"Å café"},"occurred_at":"2026-11-02T09:00:05.000123+00:00",'
        f'"prev_hash":"{GENESIS}","seq":1,"subject_id":"TD-1","subject_type":"request"}}'
    )
    assert (
        event_hash(
            seq=1,
            occurred_at=AT,
            actor_kind="officer",
            actor_id=None,
            action="request.received",
            subject_type="request",
            subject_id="TD-1",
            data={"z": "Å café", "a": [1, 2]},
            prev_hash=GENESIS,
        )
        == hashlib.sha256(canonical.encode()).hexdigest()
    )


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^audit timestamps must be aware$"):
        event_hash(
            seq=1,
            occurred_at=datetime(2026, 11, 2, 9, 0),  # noqa: DTZ001
            actor_kind="system",
            actor_id=None,
            action="x",
            subject_type="y",
            subject_id="z",
            data={},
            prev_hash=GENESIS,
        )


def test_the_signed_messages_are_domain_separated() -> None:
    assert event_message(7, "ab" * 32) == b"trustdesk-audit-event-v1|7|" + b"ab" * 32
    assert since_message(7) == b"trustdesk-audit-since-v1|7"
