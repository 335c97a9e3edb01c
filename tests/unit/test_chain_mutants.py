"""The audit chain's canonical form, byte for byte, and the exact verdict of every failed verification
(written to kill the mutants of audit/chain.py).

Hashes already recorded must stay verifiable forever: any change to the canonical JSON (key order,
separators, escaping, timestamp precision) or to the signed messages breaks every existing log. A failed
verification is read by an operator, who needs the right event, how many events before it were sound
and signed, and what is wrong with it: each verdict below is compared whole.
"""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

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
from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.signing.protocol import verify_signature

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


# --- verify_chain: the whole verdict of each failure -------------------------------------------------------

KEY = Ed25519Signer.from_seed(bytes(range(32)))
OTHER_KEY = Ed25519Signer.from_seed(bytes(range(1, 33)))
ENDS = "the log ends at #{} but its head says #{}: events were removed at the end"


def chain(n: int, *, signed_from: int | None = None) -> list[ChainedEvent]:
    """``n`` sound events; with ``signed_from``, each from that one on carries the platform's signature."""
    events: list[ChainedEvent] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "occurred_at": AT + timedelta(minutes=seq),
            "actor_kind": "staff",
            "actor_id": "s1",
            "action": "lawful:request:review",
            "subject_type": "lawful_request",
            "subject_id": f"r{seq}",
            "data": {"n": seq},
            "prev_hash": prev,
        }
        prev = event_hash(**fields)  # type: ignore[arg-type]
        signature = None
        if signed_from is not None and seq >= signed_from:
            signature = KEY.sign(event_message(seq, prev)).hex()
        events.append(ChainedEvent(**fields, hash=prev, signature=signature))  # type: ignore[arg-type]
    return events


def checks(since: int | None, since_signature: str | None = None) -> Signatures:
    """The platform's key, and where the log says signing began (validly signed unless given)."""
    public = KEY.public_key_bytes()
    if since is not None and since_signature is None:
        since_signature = KEY.sign(since_message(since)).hex()
    return Signatures(
        verify=lambda message, signature: verify_signature(public, message, signature),
        signed_since=since,
        since_signature=since_signature,
    )


def verify(events: list[ChainedEvent], signatures: Signatures | None = None) -> Verdict:
    """Verify against the head the intact log had (its last event)."""
    return verify_chain(events, events[-1].seq, events[-1].hash, signatures)


def test_a_sound_signed_log_is_ok_and_counts_only_the_signed_events() -> None:
    assert verify(chain(5, signed_from=3), checks(3)) == Verdict(True, 5, signed=3)


def test_an_empty_log_with_no_signed_start_verifies_with_the_key() -> None:
    assert verify_chain([], 0, GENESIS, checks(None)) == Verdict(True, 0, signed=0)


def test_a_log_with_events_but_no_signed_start_fails_before_the_walk() -> None:
    verdict = verify_chain(chain(3), 3, chain(3)[-1].hash, checks(None))
    assert verdict == Verdict(False, 0, 4, "the log says signing never began")


@pytest.mark.parametrize(
    "since_signature",
    [
        OTHER_KEY.sign(since_message(2)).hex(),  # signed, but not by the platform
        KEY.sign(since_message(3)).hex(),  # the platform's signature of another start
        "not hexadecimal",
        "",
    ],
)
def test_a_signed_start_the_key_does_not_vouch_for_fails_before_the_walk(since_signature: str) -> None:
    verdict = verify(chain(4, signed_from=2), checks(2, since_signature))
    assert verdict == Verdict(False, 0, 2, "where signing began is not signed by the platform's key: moved")


def test_a_deleted_event_names_the_expected_and_the_found_number() -> None:
    events = chain(5)
    verdict = verify([*events[:2], *events[3:]])
    assert verdict == Verdict(
        False, 2, 4, "expected event #3 here, found #4: an event was deleted, inserted or reordered"
    )


def test_a_broken_link_is_reported_at_its_event() -> None:
    events = chain(5)
    events[2] = replace(events[2], prev_hash="f" * 64)
    assert verify(events) == Verdict(False, 2, 3, "its previous-hash link does not match the event before it")


def test_altered_content_is_reported_at_its_event() -> None:
    events = chain(5)
    events[2] = replace(events[2], data={"n": -1})
    assert verify(events) == Verdict(False, 2, 3, "its content does not match its hash: altered")


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "it is not signed: recorded without the platform's key, or its signature was removed"),
        ("", "it is not signed: recorded without the platform's key, or its signature was removed"),
        ("zz" * 64, "its signature is not hexadecimal"),
        ("00" * 64, "its signature does not match its hash: rewritten and recomputed without the key"),
    ],
)
def test_a_bad_signature_is_reported_at_its_event_with_the_signatures_before_it(
    signature: str | None, reason: str
) -> None:
    events = chain(5, signed_from=1)
    events[2] = replace(events[2], signature=signature)
    assert verify(events, checks(1)) == Verdict(False, 2, 3, reason, signed=2)


def test_a_signature_by_another_key_is_a_rewrite() -> None:
    events = chain(5, signed_from=1)
    events[3] = replace(events[3], signature=OTHER_KEY.sign(event_message(4, events[3].hash)).hex())
    assert verify(events, checks(1)) == Verdict(
        False, 3, 4, "its signature does not match its hash: rewritten and recomputed without the key", 3
    )


def test_a_signature_before_the_signed_start_means_the_start_was_moved() -> None:
    events = chain(5, signed_from=2)
    assert verify(events, checks(4)) == Verdict(
        False, 1, 2, "it carries a signature although signing began later", signed=0
    )


def test_a_truncated_signed_log_names_the_first_missing_event_and_keeps_the_signed_count() -> None:
    events = chain(5, signed_from=2)
    verdict = verify_chain(events[:3], 5, events[-1].hash, checks(2))
    assert verdict == Verdict(False, 3, 4, ENDS.format(3, 5), signed=2)


def test_a_head_hash_that_does_not_match_the_last_event_fails_at_the_head() -> None:
    events = chain(5)
    verdict = verify_chain(events, 5, "e" * 64)
    assert verdict == Verdict(
        False, 5, 5, "the head's hash does not match event #5: the head or the last event was rewritten"
    )


def test_events_after_the_head_fail_at_the_first_event_the_head_does_not_cover() -> None:
    events = chain(5, signed_from=1)
    verdict = verify_chain(events, 3, events[2].hash, checks(1))
    assert verdict == Verdict(
        False, 5, 4, "the log goes on after its head #3, to #5: events were added without the head", signed=5
    )
