"""Notices (DSA Art. 16), trusted flaggers (Art. 22), the review queue and its claims, decisions with four
eyes on terminations, enforcement through the connector, notifier standing (Art. 23); SQLite and PG."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, TooManyRequests
from trustdesk.platform.protocol import AccountStatus, DataCategory, Period, PlatformError
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.safety import appeals, cases, enforcement, flaggers, notices
from trustdesk.safety.models import Case, CaseAction, Evidence, Notice, NotifierStanding
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import CaseStatus, DsaCategory, DsaKeyword
from trustdesk.safety.workflow import CaseSource
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser
from trustdesk.vocabulary import TargetType

TEXT = "Join us and strike the station on Friday."


@dataclass
class Desk:
    container: Container
    sessions: sessionmaker[Session]
    clock: FrozenClock
    platform: ReferencePlatform
    author: str
    reader: str
    locator: str
    mia: str
    ola: str

    def user(self, session: Session, user_id: str) -> StaffUser:
        return session.get_one(StaffUser, user_id)

    def visible(self) -> bool:
        export = self.platform.export(
            self.author, [DataCategory.CONTENT], Period(self.clock.now - timedelta(days=30), self.clock.now)
        )
        return any(r.fields.get("locator") == self.locator for r in export.records)


@pytest.fixture
def desk(container: Container, sessions: sessionmaker[Session], clock: FrozenClock) -> Desk:
    platform = cast(ReferencePlatform, container.connector)
    author = platform.add_user(username="author", registered_at=clock.now - timedelta(days=60))
    reader = platform.add_user(username="reader", registered_at=clock.now - timedelta(days=60))
    chat = platform.create_chat("group", [author, reader], created_at=clock.now - timedelta(days=10))
    locator = platform.post_message(chat, author, text=TEXT, sent_at=clock.now - timedelta(days=1))
    with unit_of_work(sessions) as session:
        mia = staff.add_user(
            session, clock, Actor.operator(), email="mia@platform.example", roles=["moderator"]
        )
        ola = staff.add_user(
            session, clock, Actor.operator(), email="ola@platform.example", roles=["moderator"]
        )
        ids = mia.user.id, ola.user.id
    return Desk(container, sessions, clock, platform, author, reader, locator, *ids)


def notice(desk: Desk, **overrides: Any) -> notices.NoticeIn:
    body: dict[str, Any] = {
        "location": desk.locator,
        "reason": "It calls for an attack on a railway station.",
        "category": DsaCategory.RISK_FOR_PUBLIC_SECURITY,
        "keyword": DsaKeyword.TERRORIST_CONTENT,
        "notifier_name": "Jo Doe",
        "notifier_email": "jo@example.org",
        "good_faith": True,
    }
    return notices.NoticeIn.model_validate(body | overrides)


def submit(desk: Desk, body: notices.NoticeIn, **kwargs: Any) -> notices.Receipt:
    with unit_of_work(desk.sessions) as session:
        receipt = notices.submit_notice(session, desk.clock, desk.container.connector, body, **kwargs)
        session.expunge_all()
        return receipt


def count(desk: Desk, model: type[Any]) -> int:
    with desk.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_art_16_a_notice_is_acknowledged_and_a_duplicate_joins_its_case(desk: Desk) -> None:
    first = submit(desk, notice(desk))
    assert first.notice.reference.startswith("NT-2026-")
    assert not first.joined
    assert first.case.source is CaseSource.USER
    assert first.case.text == TEXT  # the reviewer sees what was notified
    assert first.case.account_id == desk.author
    second = submit(desk, notice(desk, notifier_email="kim@example.org", notifier_name="Kim"))
    assert second.joined
    assert second.case.id == first.case.id
    assert count(desk, Case) == 1
    assert count(desk, Notice) == 2


def test_art_22_a_trusted_flaggers_notice_is_served_first(desk: Desk) -> None:
    with unit_of_work(desk.sessions) as session:
        flagger, key = flaggers.register(
            session, desk.clock, Actor.operator(), name="Hate Aid", country="DE",
            contact_email="notices@hateaid.example", expertise=[DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH],
        )  # fmt: skip
        session.expunge_all()
    other = desk.platform.post_message(
        desk.platform.create_chat("group", [desk.author, desk.reader]), desk.author, text="Another post"
    )
    mild = {"keyword": None, "category": DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH}
    user_case = submit(desk, notice(desk, location=other, **mild)).case
    with desk.sessions() as session:
        assert flaggers.authenticate(session, key).id == flagger.id
        with pytest.raises(DomainError, match="not an active trusted flagger"):
            flaggers.authenticate(session, key + "x")
    flagged = submit(desk, notice(desk, notifier_name=None, notifier_email=None, **mild), flagger=flagger)
    assert flagged.case.source is CaseSource.TRUSTED_FLAGGER
    assert flagged.case.target_at is not None
    assert user_case.target_at is not None
    assert flagged.case.target_at - flagged.case.opened_at == timedelta(hours=12)
    assert user_case.target_at - user_case.opened_at == timedelta(hours=48)
    with desk.sessions() as session:
        assert [c.id for c in cases.queue(session)] == [flagged.case.id, user_case.id]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"good_faith": False}, "good_faith"),
        ({"notifier_name": None}, "notifier_name"),
        ({"notifier_email": None}, "notifier_email"),
        ({"notifier_email": "not-an-address"}, "notifier_email"),
        ({"location": "ref://chat/999/message/999"}, "location"),
    ],
)
def test_a_bad_notice_is_refused_and_changes_nothing(
    desk: Desk, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        submit(desk, notice(desk, **overrides))
    assert caught.value.field == field
    assert count(desk, Notice) == 0
    assert count(desk, Case) == 0


def test_art_16_2_c_a_child_sexual_abuse_notice_may_be_anonymous(desk: Desk) -> None:
    body = notice(
        desk, notifier_name=None, notifier_email=None, category=DsaCategory.PROTECTION_OF_MINORS,
        keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
    )  # fmt: skip
    receipt = submit(desk, body, address="192.0.2.10")
    assert receipt.notice.notifier_email is None
    assert receipt.case.priority == 100
    assert receipt.case.target_at == receipt.case.opened_at + timedelta(hours=1)  # the gravest harm


def test_a_notifier_is_throttled_per_hour(desk: Desk) -> None:
    rule = notices.StandingRule(per_hour=2)
    submit(desk, notice(desk), rule=rule)
    submit(desk, notice(desk), rule=rule)
    with pytest.raises(TooManyRequests):
        submit(desk, notice(desk), rule=rule)
    assert count(desk, Notice) == 2
    desk.clock.advance(timedelta(hours=1, seconds=1))
    submit(desk, notice(desk), rule=rule)


def claim(desk: Desk, who: str, case_id: str) -> None:
    with unit_of_work(desk.sessions) as session:
        cases.claim(session, desk.clock, desk.user(session, who), case_id)


def decide(desk: Desk, who: str, case_id: str, body: cases.DecisionIn) -> str:
    with unit_of_work(desk.sessions) as session:
        return cases.decide(session, desk.clock, desk.user(session, who), case_id, body).id


def run(desk: Desk, *, statements: bool = False) -> list[tuple[str, str]]:
    """The steps run now (the delivery of statements of reasons only when asked: it follows each one)."""
    with unit_of_work(desk.sessions) as session:
        done = enforcement.run_due(session, desk.clock, desk.container.connector)
        return [(a.kind, a.status) for a in done if statements or a.kind != "send_notice:statement"]


REMOVE = cases.DecisionIn(
    restrictions=frozenset({Restriction.REMOVE}),
    explanation="The post incites a terrorist attack.",
    ground=DecisionGround.ILLEGAL_CONTENT,
    legal_ground="Directive (EU) 2017/541 Art. 5 (public provocation to commit a terrorist offence)",
    category=DsaCategory.RISK_FOR_PUBLIC_SECURITY,
    keyword=DsaKeyword.TERRORIST_CONTENT,
)


def test_a_claim_is_exclusive_and_a_decision_needs_it(desk: Desk) -> None:
    case_id = submit(desk, notice(desk)).case.id
    with pytest.raises(Conflict, match="claim case"):
        decide(desk, desk.mia, case_id, REMOVE)
    claim(desk, desk.mia, case_id)
    with pytest.raises(Conflict, match="claimed by another"):
        claim(desk, desk.ola, case_id)
    with pytest.raises(Conflict, match="claimed by another"):
        decide(desk, desk.ola, case_id, REMOVE)
    desk.clock.advance(cases.CLAIM_FOR + timedelta(seconds=1))  # the claim timed out
    claim(desk, desk.ola, case_id)
    with unit_of_work(desk.sessions) as session:
        assert cases.release_all(session, desk.clock, desk.ola) == 1  # logging out
    claim(desk, desk.mia, case_id)


def test_a_decision_removes_the_content_preserves_it_and_answers_the_notice(desk: Desk) -> None:
    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    decide(desk, desk.mia, case_id, REMOVE)
    assert desk.visible()  # nothing happens inside the deciding transaction
    assert run(desk) == [("remove_content:remove", "done")]
    assert not desk.visible()
    assert run(desk) == []  # done once
    with desk.sessions() as session:
        case = session.get_one(Case, case_id)
        assert case.status is CaseStatus.DECIDED
        (evidence,) = session.scalars(select(Evidence))
        assert evidence.content["text"] == TEXT
        assert evidence.retain_until == desk.clock.now + timedelta(days=183)
        (answered,) = session.scalars(select(Notice))
        assert answered.outcome == "actioned"
    with pytest.raises(Conflict):
        decide(desk, desk.mia, case_id, REMOVE)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"explanation": " "}, "explanation"),
        ({"ground": None}, "ground"),
        ({"legal_ground": None}, "legal_ground"),
        ({"ground": DecisionGround.INCOMPATIBLE_CONTENT}, "tos_ground"),
        ({"category": None}, "category"),
        (
            {"restrictions": frozenset({Restriction.GEO_RESTRICT}), "territorial_scope": ("France",)},
            "territorial_scope",
        ),
        ({"restrictions": frozenset({Restriction.SUSPEND})}, "suspend_for"),
    ],
)
def test_a_bad_decision_is_refused_and_changes_nothing(
    desk: Desk, change: dict[str, Any], field: str
) -> None:
    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    fields = {k: getattr(REMOVE, k) for k in REMOVE.__dataclass_fields__} | change
    with pytest.raises(InvalidInput) as caught:
        decide(desk, desk.mia, case_id, cases.DecisionIn(**fields))
    assert caught.value.field == field
    with desk.sessions() as session:
        assert session.get_one(Case, case_id).status is CaseStatus.OPEN
    assert count(desk, CaseAction) == 0


def test_terminating_an_account_needs_a_second_moderator(desk: Desk) -> None:
    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    terminate = cases.DecisionIn(
        **{**REMOVE.__dict__, "restrictions": frozenset({Restriction.REMOVE, Restriction.TERMINATE})}
    )
    decide(desk, desk.mia, case_id, terminate)
    assert run(desk) == []  # nothing before the approval
    with unit_of_work(desk.sessions) as session, pytest.raises(Forbidden, match="four eyes"):
        cases.approve(session, desk.clock, desk.user(session, desk.mia), case_id)
    with unit_of_work(desk.sessions) as session:
        cases.approve(session, desk.clock, desk.user(session, desk.ola), case_id)
    assert sorted(run(desk)) == [("act_on_account:terminate", "done"), ("remove_content:remove", "done")]
    account = desk.platform.lookup_account(TargetType.USER_ID, desk.author)
    assert account is not None
    assert account.status is AccountStatus.TERMINATED


def test_a_transient_platform_failure_is_retried_with_back_off(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    decide(desk, desk.mia, case_id, REMOVE)
    real = desk.platform.remove_content
    failures = iter([PlatformError("the platform is down"), None])

    def flaky(*args: Any) -> Any:
        error = next(failures)
        if error is not None:
            raise error
        return real(*args)

    monkeypatch.setattr(desk.platform, "remove_content", flaky)
    assert run(desk) == [("remove_content:remove", "pending")]
    assert run(desk) == []  # not yet due
    desk.clock.advance(enforcement.BACKOFF[0])
    assert run(desk) == [("remove_content:remove", "done")]
    assert not desk.visible()


def test_art_23_a_notifier_of_manifestly_unfounded_notices_is_warned_then_suspended(desk: Desk) -> None:
    rule = notices.StandingRule(warn_after=2, suspend_after=3)
    unfounded = cases.DecisionIn(
        restrictions=frozenset(), explanation="Ordinary travel talk.", unfounded=True
    )
    key = notices.notifier_key("jo@example.org", None)
    for round_ in range(3):
        case_id = submit(desk, notice(desk), rule=rule).case.id
        claim(desk, desk.mia, case_id)
        with unit_of_work(desk.sessions) as session:
            user = desk.user(session, desk.mia)
            decision = cases.decide(
                session, desk.clock, user, case_id, unfounded, rules=cases.DecisionRules(standing=rule)
            )
            assert decision.restrictions == []
        with desk.sessions() as session:
            standing = session.get(NotifierStanding, key)
            assert standing is not None
            assert (standing.warned_at is not None) is (round_ >= 1)
            assert (standing.suspended_until is not None) is (round_ >= 2)
    with pytest.raises(Forbidden, match="suspended until"):
        submit(desk, notice(desk), rule=rule)
    assert desk.visible()
    with desk.sessions() as session:
        assert {n.outcome for n in session.scalars(select(Notice))} == {"manifestly_unfounded"}


NO_ACTION = cases.DecisionIn(restrictions=frozenset(), explanation="The post reports on the news.")


def appeal_notice(desk: Desk, key: str, body: str = "It is a call to violence, not news.") -> str:
    with unit_of_work(desk.sessions) as session:
        return appeals.file_appeal(session, desk.clock, key, body).id


def test_art_20_a_notifier_appeals_a_refusal_to_act_and_another_moderator_reopens_the_case(
    desk: Desk,
) -> None:
    receipt = submit(desk, notice(desk))
    case_id = receipt.case.id
    with pytest.raises(Conflict, match="not been decided"):
        appeal_notice(desk, receipt.key)
    claim(desk, desk.mia, case_id)
    decide(desk, desk.mia, case_id, NO_ACTION)
    with pytest.raises(NotFound):
        appeal_notice(desk, receipt.key + "x")
    with pytest.raises(InvalidInput):
        appeal_notice(desk, receipt.key, " ")
    appeal_id = appeal_notice(desk, receipt.key)
    with pytest.raises(Conflict, match="already open"):
        appeal_notice(desk, receipt.key)
    with unit_of_work(desk.sessions) as session, pytest.raises(Forbidden, match="different person"):
        appeals.decide_appeal(
            session, desk.clock, desk.user(session, desk.mia), appeal_id, grant=True, answer="ok"
        )
    with unit_of_work(desk.sessions) as session:
        appeal = appeals.decide_appeal(
            session, desk.clock, desk.user(session, desk.ola), appeal_id, grant=True, answer="It incites."
        )
        assert "out-of-court" in appeals.told_text(appeal)
    with desk.sessions() as session:
        case = session.get_one(Case, case_id)
        assert case.status is CaseStatus.OPEN  # back in the queue, to be decided again
        assert [c.id for c in cases.queue(session)] == [case_id]
        assert session.get_one(Notice, receipt.notice.id).outcome is None  # to be answered again
    claim(desk, desk.ola, case_id)
    decide(desk, desk.ola, case_id, REMOVE)
    with desk.sessions() as session:
        assert session.get_one(Notice, receipt.notice.id).outcome == "actioned"


def test_art_20_1_appeals_close_six_calendar_months_after_the_decision(desk: Desk) -> None:
    receipt = submit(desk, notice(desk))
    claim(desk, desk.mia, receipt.case.id)
    decide(desk, desk.mia, receipt.case.id, NO_ACTION)
    decided = desk.clock.now
    desk.clock.now = decided + relativedelta(months=6) + timedelta(seconds=1)
    with pytest.raises(Conflict, match="closed on"):
        appeal_notice(desk, receipt.key)
    desk.clock.now = decided + relativedelta(months=6)
    appeal_notice(desk, receipt.key)


def test_an_actioned_notice_cannot_be_appealed_by_its_notifier(desk: Desk) -> None:
    receipt = submit(desk, notice(desk))
    claim(desk, desk.mia, receipt.case.id)
    decide(desk, desk.mia, receipt.case.id, REMOVE)
    with pytest.raises(Conflict, match="acted upon"):
        appeal_notice(desk, receipt.key)


def test_a_reviewers_exposure_to_the_most_harmful_content_is_counted_once_per_case_per_day(
    desk: Desk,
) -> None:
    grave = submit(desk, notice(desk)).case  # terrorist content: among the most harmful
    other = desk.platform.post_message(
        desk.platform.create_chat("group", [desk.author, desk.reader]), desk.author, text="Buy cheap watches"
    )
    mild = submit(desk, notice(desk, location=other, category=DsaCategory.SCAMS_AND_FRAUD, keyword=None)).case
    with unit_of_work(desk.sessions) as session:
        user = desk.user(session, desk.mia)
        for case_id in (grave.id, grave.id, mild.id):
            cases.record_exposure(session, desk.clock, user, session.get_one(Case, case_id))
    with desk.sessions() as session:
        assert cases.exposure_today(session, desk.mia, desk.clock.now) == 1
        assert cases.exposure_today(session, desk.ola, desk.clock.now) == 0
        assert cases.exposure_today(session, desk.mia, desk.clock.now + timedelta(days=1)) == 0


SCAM = cases.DecisionIn(
    restrictions=frozenset({Restriction.REMOVE}),
    explanation="A fake shop that takes payment and never delivers.",
    ground=DecisionGround.INCOMPATIBLE_CONTENT,
    tos_ground="Terms of service 4.2: no scams",
    category=DsaCategory.SCAMS_AND_FRAUD,
)


def scam_case(desk: Desk, n: int) -> str:
    chat = desk.platform.create_chat("group", [desk.author, desk.reader])
    locator = desk.platform.post_message(chat, desk.author, text=f"Cheap phones, pay first ({n})")
    body = notice(desk, location=locator, category=DsaCategory.SCAMS_AND_FRAUD, keyword=None)
    return submit(desk, body).case.id


def test_art_23_1_repeat_offenders_are_warned_then_suspended_for_a_period_then_reinstated(desk: Desk) -> None:
    from trustdesk.safety import offenders
    from trustdesk.safety.strikes import default_policy, evaluate

    policy = default_policy()
    suspend_at = next(level for level in policy.levels if level.action.value == "suspend")
    kinds: list[list[tuple[str, str]]] = []
    for n in range(suspend_at.strikes):
        case_id = scam_case(desk, n)
        claim(desk, desk.mia, case_id)
        decide(desk, desk.mia, case_id, SCAM)
        kinds.append(sorted(run(desk)))
    assert kinds[0] == [("remove_content:remove", "done"), ("send_notice:warn", "done")]  # the prior warning
    assert kinds[-1] == [("act_on_account:suspend", "done"), ("remove_content:remove", "done")]
    account = desk.platform.lookup_account(TargetType.USER_ID, desk.author)
    assert account is not None
    assert account.status is AccountStatus.SUSPENDED
    with desk.sessions() as session:
        verdict = evaluate(offenders.history(session, desk.author), policy, now=desk.clock.now)
    assert verdict.until is not None
    assert verdict.until - desk.clock.now >= timedelta(days=7)
    desk.clock.now = verdict.until - timedelta(minutes=1)
    assert run(desk) == []  # an earlier, shorter suspension's end does not lift the longer one
    desk.clock.now = verdict.until
    assert run(desk) == [("act_on_account:reinstate", "done")]  # the period ended
    account = desk.platform.lookup_account(TargetType.USER_ID, desk.author)
    assert account is not None
    assert account.status is AccountStatus.ACTIVE


def test_the_strike_policy_never_terminates_by_itself_it_asks_a_person(desk: Desk) -> None:
    case_id = submit(desk, notice(desk)).case.id  # terrorist content: terminates at once under the policy
    claim(desk, desk.mia, case_id)
    decide(desk, desk.mia, case_id, REMOVE)
    assert ("act_on_account:terminate", "done") not in run(desk)
    account = desk.platform.lookup_account(TargetType.USER_ID, desk.author)
    assert account is not None
    assert account.status is AccountStatus.ACTIVE
    with desk.sessions() as session:
        (review,) = cases.queue(session)
        assert review.account_id == desk.author
        assert review.text is not None
        assert "Terminate" in review.text


def test_art_18_a_threat_to_life_is_notified_to_the_member_state_concerned_or_europol(desk: Desk) -> None:
    from trustdesk.lawful import threats
    from trustdesk.lawful.models import ThreatNotification

    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    with pytest.raises(InvalidInput) as caught:
        decide(desk, desk.mia, case_id, cases.DecisionIn(**{**REMOVE.__dict__, "threat_country": "FR"}))
    assert caught.value.field == "threat_country"
    assert count(desk, ThreatNotification) == 0
    decide(
        desk,
        desk.mia,
        case_id,
        cases.DecisionIn(**{**REMOVE.__dict__, "threat_to_life": True, "threat_country": "fr"}),
    )
    with desk.sessions() as session:
        (sent,) = threats.threats(session, unsent_only=True)
        assert sent.country == "FR"
        assert sent.recipients == ["law enforcement of FR"]
        assert sent.case_id == case_id
        assert sent.locator == desk.locator
    assert threats.recipients_for(None, None) == ["Europol"]
    assert threats.recipients_for(None, "BE") == ["law enforcement of BE", "Europol"]
    with unit_of_work(desk.sessions) as session:
        threats.mark_sent(session, desk.clock, Actor.operator(), sent.reference, "phone to the PHAROS desk")
    with unit_of_work(desk.sessions) as session, pytest.raises(Conflict):
        threats.mark_sent(session, desk.clock, Actor.operator(), sent.reference, "again")


def test_art_17_20_the_statement_reaches_the_user_who_appeals_and_another_moderator_restores(
    desk: Desk,
) -> None:
    from trustdesk.safety import statements
    from trustdesk.safety.models import StatementRecord

    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    decide(desk, desk.mia, case_id, REMOVE)
    assert ("send_notice:statement", "done") in run(desk, statements=True)
    assert not desk.visible()
    with desk.sessions() as session:
        (record,) = session.scalars(select(StatementRecord))
        body = record.body
        assert record.delivered_at == desk.clock.now
        assert record.account_id == desk.author
    assert body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert body["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert body["source_type"] == "SOURCE_ARTICLE_16"
    assert body["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert body["puid"] == record.puid
    assert set(body) <= set(statements.Statement.__dataclass_fields__)  # the database's field names only
    (told,) = desk.platform.notices(desk.author)
    assert record.puid in told.text
    key = told.text.split("/appeal?key=", 1)[1].split()[0]
    assert key.startswith("tda_")

    appeal_id = appeal_notice(desk, key, "It was a quote from the news, in order to condemn it.")
    with unit_of_work(desk.sessions) as session:
        appeal = appeals.decide_appeal(
            session,
            desk.clock,
            desk.user(session, desk.ola),
            appeal_id,
            grant=True,
            answer="It condemns the attack.",
        )
        assert appeal.appellant == "affected_user"
    assert ("remove_content:restore", "done") in run(desk)
    assert desk.visible()  # the reversal restored the content
    outcome = desk.platform.notices(desk.author)[-1].text
    assert "granted" in outcome
    assert "out-of-court" in outcome  # DSA Art. 21
    with desk.sessions() as session:
        assert session.get_one(Case, case_id).status is CaseStatus.REVERSED


def test_art_17_a_statement_with_personal_data_in_its_facts_is_refused_with_the_rule(desk: Desk) -> None:
    case_id = submit(desk, notice(desk)).case.id
    claim(desk, desk.mia, case_id)
    leaky = cases.DecisionIn(
        **{**REMOVE.__dict__, "explanation": "Posted by @author, call +33 6 12 34 56 78."}
    )
    with pytest.raises(InvalidInput) as caught:
        decide(desk, desk.mia, case_id, leaky)
    assert caught.value.code == "statement_refused"
    assert "personal" in caught.value.message or "pii" in caught.value.message.lower()
    assert "+33" not in caught.value.message  # the personal data is not echoed
    with desk.sessions() as session:
        assert session.get_one(Case, case_id).status is CaseStatus.OPEN
    assert count(desk, CaseAction) == 0
