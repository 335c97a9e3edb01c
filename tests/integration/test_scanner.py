"""The scanner on real databases: detections become signals, cases, removals with evidence, NCMEC reports,
and an event delivered twice acts once."""

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.safety_world import flip, import_hashes, item, make_bank, random_pdq
from trustdesk.app import Container
from trustdesk.audit.models import AuditEvent
from trustdesk.platform.protocol import ContentState
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.safety.models import Case, Enforcement, Evidence, NcmecReport, Signal
from trustdesk.safety.rules import Example, Rule
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword

SCAM = "Elon giveaway: send 1 BTC to this wallet and get 2 BTC back, guaranteed!"


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def posted(container: Container, text: str | None = None, **media: object) -> tuple[str, str]:
    """A message really posted on the reference platform: (event id, locator)."""
    platform = container.connector
    assert isinstance(platform, ReferencePlatform)
    owner = platform.add_user(username=f"u{random.randrange(10**9)}")
    chat = platform.create_chat("channel", [owner], title="news")
    locator = platform.post_message(chat, owner, text=text, **media)  # type: ignore[arg-type]
    event = platform.content_events(limit=1000)[-1]
    return event.event_id, locator


def example_of(container: Container, action: BankAction) -> tuple[Rule, Example]:
    """A starter rule with that action and one of its expected-match examples that no stronger rule hits."""
    for rule in container.rules.rules:
        for example in rule.examples:
            hits = container.rules.evaluate(example.event)
            if rule.action is action and example.should_match and [h.rule_id for h in hits] == [rule.id]:
                return rule, example
    raise AssertionError(f"the starter rules have no clean {action} example")


def event_fields(example: Example) -> dict[str, object]:
    event = example.event
    return {"text": event.text, "chat_type": event.chat_type.value, "audience": event.audience}


def state_of(container: Container, locator: str) -> ContentState:
    return next(e.state for e in container.connector.content_events(limit=1000) if e.locator == locator)


def test_a_text_rule_with_auto_remove_removes_the_message_and_preserves_it(container: Container) -> None:
    _, example = example_of(container, BankAction.AUTO_REMOVE)
    text = example.event.text
    event_id, locator = posted(container, text)

    result = container.scanner.scan([item(event_id=event_id, locator=locator, **event_fields(example))])

    assert result.removals == 1
    assert state_of(container, locator) is ContentState.REMOVED
    with container.sessions() as session:
        enforcement = session.scalars(select(Enforcement)).one()
        assert enforcement.outcome == "removed"
        evidence = session.scalars(select(Evidence)).one()
        assert evidence.content["text"] == text
        assert (evidence.retain_until - evidence.preserved_at).days == 183
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "safety:content:auto_remove"))


def test_a_review_rule_opens_one_case_with_its_signals(container: Container) -> None:
    rule, example = example_of(container, BankAction.REVIEW)

    result = container.scanner.scan([item(**event_fields(example))])

    assert result.cases == 1
    assert result.removals == 0
    with container.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.status == "open"
        assert case.text == example.event.text
        assert [s.source for s in case.signals] == [rule.id]


def test_an_event_delivered_twice_acts_once(container: Container) -> None:
    event_id, locator = posted(container, SCAM)
    calls = []
    original = container.connector.remove_content
    container.connector.remove_content = lambda *a, **k: calls.append(a) or original(*a, **k)  # type: ignore[method-assign]
    twice = [item(event_id=event_id, locator=locator, text=SCAM)] * 2

    first = container.scanner.scan(twice)
    second = container.scanner.scan(twice[:1])

    assert second.signals == 0
    assert second.duplicates == 1
    with container.sessions() as session:
        signals = count(session, Signal)
        assert signals == first.signals
        assert count(session, Enforcement) + count(session, Case) == 1
    assert len(calls) <= 1


def test_a_pdq_match_in_a_report_ncmec_bank_removes_preserves_a_year_and_queues_a_report(
    container: Container, tmp_path: Path
) -> None:
    rng = random.Random(1)
    known = random_pdq(rng)
    with container.sessions() as session, session.begin():
        bank = make_bank(
            session, container.clock, "csam", action=BankAction.REPORT_NCMEC,
            category=DsaCategory.PROTECTION_OF_MINORS, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
        )  # fmt: skip
        import_hashes(session, container.clock, bank, tmp_path, [known])
    container.matcher.refresh()
    event_id, locator = posted(container, None, media_sha256="ab" * 32)
    near = flip(known, 20, rng)
    media = {"sha256": "ab" * 32, "pdq": [{"hash": near, "quality": 90}]}

    result = container.scanner.scan(
        [item(event_id=event_id, locator=locator, kind="image", text=None, media=media)]
    )

    assert (result.removals, result.ncmec_reports) == (1, 1)
    with container.sessions() as session:
        signal = session.scalars(select(Signal)).one()
        assert (signal.detector, signal.source, signal.distance) == ("pdq", "csam", 20)
        report = session.scalars(select(NcmecReport)).one()
        assert report.status == "queued"
        assert report.incident["distance"] == 20
        evidence = session.scalars(select(Evidence)).one()
        assert (evidence.retain_until - evidence.preserved_at).days == 365


def test_a_match_beyond_the_banks_threshold_is_no_match(container: Container, tmp_path: Path) -> None:
    rng = random.Random(2)
    known = random_pdq(rng)
    with container.sessions() as session, session.begin():
        bank = make_bank(session, container.clock, "strict", threshold=10)
        import_hashes(session, container.clock, bank, tmp_path, [known])
    container.matcher.refresh()
    far = {"pdq": [{"hash": flip(known, 11, rng), "quality": 90}]}
    near = {"pdq": [{"hash": flip(known, 10, rng), "quality": 90}]}

    assert container.scanner.scan([item(kind="image", text=None, media=far)]).with_findings == 0
    assert (
        container.scanner.scan([item(event_id="2", kind="image", text=None, media=near)]).with_findings == 1
    )


def test_a_low_quality_hash_is_never_acted_on_alone(container: Container, tmp_path: Path) -> None:
    rng = random.Random(3)
    known = random_pdq(rng)
    with container.sessions() as session, session.begin():
        bank = make_bank(session, container.clock, "terror")
        import_hashes(session, container.clock, bank, tmp_path, [known])
    container.matcher.refresh()
    media = {"pdq": [{"hash": known, "quality": 20}]}

    result = container.scanner.scan([item(kind="image", text=None, media=media)])

    assert (result.removals, result.cases) == (0, 1)


@pytest.mark.parametrize(("score", "cases", "blur"), [(0.95, 1, True), (0.3, 0, None)])
def test_classifier_scores_route_to_review_and_blur_but_never_remove(
    container: Container, score: float, cases: int, blur: bool | None
) -> None:
    media = {"sha256": "cd" * 32, "classifier_scores": {"nudity": score}}

    result = container.scanner.scan([item(kind="image", text=None, media=media)])

    assert result.removals == 0
    assert result.cases == cases
    with container.sessions() as session:
        case = session.scalars(select(Case)).one_or_none()
        assert (case.blur if case else None) is blur
