"""The pure hash chain: every single alteration, deletion, insertion or reordering is caught."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from trustdesk.audit.chain import (
    GENESIS,
    ChainedEvent,
    Signatures,
    event_hash,
    event_message,
    since_message,
    verify_chain,
)
from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.signing.protocol import verify_signature

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def build(n: int) -> list[ChainedEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "occurred_at": T0 + timedelta(seconds=seq),
            "actor_kind": "officer",
            "actor_id": f"o{seq % 3}",
            "action": "lawful:request:receive",
            "subject_type": "lawful_request",
            "subject_id": f"r{seq}",
            "data": {"after": {"n": seq}},
            "prev_hash": prev,
        }
        prev = event_hash(**fields)  # type: ignore[arg-type]
        events.append(ChainedEvent(**fields, hash=prev))  # type: ignore[arg-type]
    return events


def head(events: list[ChainedEvent]) -> tuple[int, str]:
    return (events[-1].seq, events[-1].hash) if events else (0, GENESIS)


def test_an_intact_chain_verifies() -> None:
    events = build(5)
    verdict = verify_chain(events, *head(events))
    assert verdict.ok
    assert verdict.checked == 5


def test_an_empty_log_verifies() -> None:
    assert verify_chain([], 0, GENESIS).ok


@given(st.integers(min_value=2, max_value=12), st.data())
def test_altering_any_field_of_any_event_is_caught_at_that_event(n: int, data: st.DataObject) -> None:
    events = build(n)
    index = data.draw(st.integers(0, n - 1))
    change = data.draw(
        st.sampled_from(
            [
                {"actor_id": "forged"},
                {"action": "lawful:request:withdraw"},
                {"data": {"after": {"n": -1}}},
                {"occurred_at": T0},
                {"subject_id": "other"},
            ]
        )
    )
    tampered = [*events[:index], replace(events[index], **change), *events[index + 1 :]]
    verdict = verify_chain(tampered, *head(events))
    assert not verdict.ok
    assert verdict.first_bad_seq == index + 1


@given(st.integers(min_value=3, max_value=12), st.data())
def test_deleting_any_event_is_caught(n: int, data: st.DataObject) -> None:
    events = build(n)
    index = data.draw(st.integers(0, n - 1))
    verdict = verify_chain(events[:index] + events[index + 1 :], *head(events))
    assert not verdict.ok
    assert verdict.first_bad_seq == min(index + 2, n)


@given(st.integers(min_value=3, max_value=12), st.data())
def test_swapping_two_events_is_caught(n: int, data: st.DataObject) -> None:
    events = build(n)
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    # Reordering in place: the rows keep their content but trade sequence numbers.
    swapped = list(events)
    swapped[i], swapped[j] = replace(events[j], seq=events[i].seq), replace(events[i], seq=events[j].seq)
    verdict = verify_chain(swapped, *head(events))
    assert not verdict.ok
    assert verdict.first_bad_seq == i + 1


def test_a_forged_event_inserted_with_a_recomputed_hash_breaks_the_next_link() -> None:
    events = build(4)
    forged_fields = {
        "seq": 3,
        "occurred_at": T0,
        "actor_kind": "staff",
        "actor_id": "insider",
        "action": "lawful:request:receive",
        "subject_type": "lawful_request",
        "subject_id": "ghost",
        "data": {},
        "prev_hash": events[1].hash,
    }
    forged = ChainedEvent(**forged_fields, hash=event_hash(**forged_fields))  # type: ignore[arg-type]
    renumbered = [replace(e, seq=e.seq + 1) for e in events[2:]]
    verdict = verify_chain([*events[:2], forged, *renumbered], 5, renumbered[-1].hash)
    assert not verdict.ok
    assert verdict.first_bad_seq == 4


def test_truncating_the_tail_is_caught_by_the_head() -> None:
    events = build(5)
    verdict = verify_chain(events[:3], *head(events))
    assert not verdict.ok
    assert verdict.first_bad_seq == 4


# --- signatures: a chain rewritten and recomputed without the platform's key -------------------------------

SIGNER = Ed25519Signer.from_seed(bytes(range(32)))


def signed(events: list[ChainedEvent], since: int = 1) -> list[ChainedEvent]:
    return [
        replace(e, signature=SIGNER.sign(event_message(e.seq, e.hash)).hex()) if e.seq >= since else e
        for e in events
    ]


def checks(since: int | None = 1, since_by: Ed25519Signer = SIGNER) -> Signatures:
    public = SIGNER.public_key_bytes()
    return Signatures(
        verify=lambda message, signature: verify_signature(public, message, signature),
        signed_since=since,
        since_signature=since_by.sign(since_message(since)).hex() if since is not None else None,
    )


def recomputed(events: list[ChainedEvent], at: int) -> list[ChainedEvent]:
    """Event ``at`` altered and every hash from it on recomputed: the hash chain is whole again."""
    out, prev = list(events[: at - 1]), events[at - 2].hash if at > 1 else GENESIS
    for event in events[at - 1 :]:
        data = {"after": {"n": -1}} if event.seq == at else event.data
        fields = {
            "seq": event.seq, "occurred_at": event.occurred_at, "actor_kind": event.actor_kind,
            "actor_id": event.actor_id, "action": event.action, "subject_type": event.subject_type,
            "subject_id": event.subject_id, "data": data, "prev_hash": prev,
        }  # fmt: skip
        prev = event_hash(**fields)  # type: ignore[arg-type]
        out.append(replace(event, data=data, prev_hash=fields["prev_hash"], hash=prev))
    return out


def test_a_signed_chain_verifies_and_counts_its_signatures() -> None:
    events = signed(build(6))
    verdict = verify_chain(events, *head(events), checks())
    assert (verdict.ok, verdict.signed) == (True, 6)


@given(at=st.integers(1, 6))
def test_a_chain_rewritten_and_recomputed_is_found_where_it_was_rewritten(at: int) -> None:
    events = recomputed(signed(build(6)), at)
    assert verify_chain(events, *head(events)).ok  # the hash chain alone is fooled
    verdict = verify_chain(events, *head(events), checks())
    assert (verdict.ok, verdict.first_bad_seq) == (False, at)
    assert "rewritten and recomputed" in (verdict.reason or "")


def test_an_unsigned_prefix_is_allowed_only_before_the_signed_start() -> None:
    events = signed(build(6), since=4)
    assert verify_chain(events, *head(events), checks(since=4)).signed == 3
    stripped = [replace(e, signature=None) for e in events]
    moved = verify_chain(stripped, *head(stripped), checks(since=7, since_by=Ed25519Signer.generate()))
    assert (moved.ok, moved.reason) == (
        False,
        "where signing began is not signed by the platform's key: moved",
    )
    early = verify_chain(events, *head(events), checks(since=5))
    assert (early.ok, early.first_bad_seq) == (False, 4)  # a signed event before the start: the start moved
    never = verify_chain(stripped, *head(stripped), checks(since=None))
    assert (never.ok, never.reason) == (False, "the log says signing never began")
