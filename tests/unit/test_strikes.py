"""The repeat-offender strike policy (DSA Art. 23): weights, window, levels, reversals, the policy file."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.safety.strikes import (
    Strike,
    StrikeAction,
    StrikePolicy,
    StrikePolicyError,
    default_policy,
    evaluate,
    load_policy,
)
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

POLICY_TOML = """
schema_version = 1
name = "test"
version = 3
window_days = 30
default_weight = 1

[[levels]]
strikes = 1
action = "warn"

[[levels]]
strikes = 3
action = "suspend"
days = 2

[[levels]]
strikes = 4
action = "suspend"
days = 10

[[levels]]
strikes = 6
action = "terminate"

[categories.STATEMENT_CATEGORY_SCAMS_AND_FRAUD]
weight = 2

[categories.STATEMENT_CATEGORY_ANIMAL_WELFARE]
weight = 0

[categories.STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY]
weight = 1
terminate_at_once = true

[keywords.KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL]
terminate_at_once = true

[keywords.KEYWORD_PHISHING]
weight = 3
"""

SPEECH = DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH
SCAMS = DsaCategory.SCAMS_AND_FRAUD
MINORS = DsaCategory.PROTECTION_OF_MINORS


@pytest.fixture(scope="module")
def policy() -> StrikePolicy:
    return load_policy(POLICY_TOML, source="test.toml")


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# ----------------------------------------------------------------------------------- the levels


def test_no_strikes_no_action(policy: StrikePolicy) -> None:
    verdict = evaluate([], policy, now=NOW)
    assert verdict.action is StrikeAction.NONE
    assert (verdict.strikes, verdict.counted, verdict.until, verdict.level) == (0, (), None, None)
    assert verdict.reason == (
        "No action: 0 strikes in the last 30 days, below the first threshold of strike policy 'test' v3 "
        "(warn at 1 strike). Counted: none."
    )


def test_a_first_strike_warns(policy: StrikePolicy) -> None:
    verdict = evaluate([(ago(1), SPEECH, False)], policy, now=NOW)
    assert verdict.action is StrikeAction.WARN
    assert (verdict.strikes, verdict.level, verdict.until) == (1, 0, None)
    assert verdict.reason.startswith(
        "Warn: 1 strike in the last 30 days reaches levels[0] of strike policy 'test' v3 (warn at 1 strike); "
        "the prior warning of DSA Art. 23(1). Counted: "
    )
    assert "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH (1)" in verdict.reason


def test_reaching_a_suspension_suspends_from_the_latest_decision(policy: StrikePolicy) -> None:
    history = [(ago(5), SPEECH, False), (ago(3), SPEECH, False), (ago(1), SPEECH, False)]
    verdict = evaluate(history, policy, now=NOW)
    assert verdict.action is StrikeAction.SUSPEND
    assert verdict.until == ago(1) + 2 * DAY
    assert (verdict.strikes, verdict.level) == (3, 1)
    assert verdict.reason.startswith(
        f"Suspend until {(ago(1) + 2 * DAY).isoformat()}: 3 strikes in the last 30 days reach levels[1] of "
        "strike policy 'test' v3 (suspend 2 days at 3 strikes), counted from the latest decision"
    )
    assert "DSA Art. 23(1)" in verdict.reason


def test_more_strikes_reach_the_longer_suspension(policy: StrikePolicy) -> None:
    history = [(ago(4), SCAMS, False), (ago(2), SCAMS, False)]  # weight 2 each
    verdict = evaluate(history, policy, now=NOW)
    assert (verdict.action, verdict.strikes, verdict.level) == (StrikeAction.SUSPEND, 4, 2)
    assert verdict.until == ago(2) + 10 * DAY
    assert "(suspend 10 days at 4 strikes)" in verdict.reason


def test_a_served_suspension_leaves_the_warning(policy: StrikePolicy) -> None:
    history = [(ago(9), SPEECH, False), (ago(8), SPEECH, False), (ago(7), SPEECH, False)]
    verdict = evaluate(history, policy, now=NOW)
    assert verdict.action is StrikeAction.WARN
    assert (verdict.level, verdict.strikes) == (0, 3)
    assert f"the suspension under levels[1] ended {(ago(7) + 2 * DAY).isoformat()}" in verdict.reason


def test_a_suspension_ends_exactly_at_until(policy: StrikePolicy) -> None:
    history = [(ago(2), SPEECH, False)] * 3
    assert evaluate(history, policy, now=NOW).action is StrikeAction.WARN
    just_before = NOW - timedelta(microseconds=1)
    assert evaluate(history, policy, now=just_before).action is StrikeAction.SUSPEND


def test_a_new_strike_during_a_suspension_restarts_it(policy: StrikePolicy) -> None:
    history = [(ago(3), SPEECH, False)] * 3
    first = evaluate(history, policy, now=ago(2))
    assert first.until == ago(1)
    # weight 0: counts for the latest decision, not for the total
    later = evaluate([*history, (ago(0.5), DsaCategory.ANIMAL_WELFARE, False)], policy, now=NOW)
    assert later.action is StrikeAction.SUSPEND
    assert later.until == ago(0.5) + 2 * DAY


def test_enough_strikes_terminate(policy: StrikePolicy) -> None:
    history = [(ago(d), SCAMS, False) for d in (6, 4, 2)]  # 6 strikes
    verdict = evaluate(history, policy, now=NOW)
    assert (verdict.action, verdict.level, verdict.strikes) == (StrikeAction.TERMINATE, 3, 6)
    assert verdict.reason.startswith(
        "Terminate: 6 strikes in the last 30 days reach levels[3] of strike policy 'test' v3 "
        "(terminate at 6 strikes)."
    )


# ----------------------------------------------------------------------------------- weights and rules


def test_a_keyword_rule_outweighs_its_category(policy: StrikePolicy) -> None:
    strike = Strike(ago(1), SCAMS, keyword=DsaKeyword.PHISHING)
    assert policy.weight_of(strike) == 3
    assert policy.rule_for(strike)[0] == "keywords.KEYWORD_PHISHING"
    assert policy.weight_of(Strike(ago(1), SCAMS)) == 2
    assert policy.rule_for(Strike(ago(1), SCAMS))[0] == "categories.STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    # a keyword the policy does not name falls back to its category, then to the default
    assert policy.weight_of(Strike(ago(1), SCAMS, keyword=DsaKeyword.PYRAMID_SCHEMES)) == 2
    assert policy.weight_of(Strike(ago(1), SPEECH, keyword=DsaKeyword.HATE_SPEECH)) == 1
    assert policy.rule_for(Strike(ago(1), SPEECH))[0] == "default_weight"
    verdict = evaluate([Strike(ago(1), SCAMS, keyword=DsaKeyword.PHISHING)], policy, now=NOW)
    assert (verdict.action, verdict.strikes) == (StrikeAction.SUSPEND, 3)
    assert "KEYWORD_PHISHING (3)" in verdict.reason


def test_child_sexual_abuse_material_terminates_at_once(policy: StrikePolicy) -> None:
    csam = Strike(ago(1), MINORS, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL)
    verdict = evaluate([csam], policy, now=NOW)
    assert verdict.action is StrikeAction.TERMINATE
    assert verdict.rule == "keywords.KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
    assert verdict.counted == (csam,)
    assert verdict.level is None
    assert verdict.reason == (
        f"Terminate: the decision of {ago(1).isoformat()} for KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL terminates "
        "the account at once under keywords.KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL of strike policy 'test' v3."
    )


def test_a_category_rule_can_terminate_at_once(policy: StrikePolicy) -> None:
    verdict = evaluate([(ago(1), DsaCategory.RISK_FOR_PUBLIC_SECURITY, False)], policy, now=NOW)
    assert verdict.action is StrikeAction.TERMINATE
    assert verdict.rule == "categories.STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"


def test_termination_at_once_does_not_expire(policy: StrikePolicy) -> None:
    old = Strike(ago(400), MINORS, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL)
    assert evaluate([old], policy, now=NOW).action is StrikeAction.TERMINATE


def test_the_same_category_without_the_severe_keyword_only_counts(policy: StrikePolicy) -> None:
    verdict = evaluate(
        [Strike(ago(1), MINORS, keyword=DsaKeyword.AGE_SPECIFIC_RESTRICTIONS_MINORS)], policy, now=NOW
    )
    assert verdict.action is StrikeAction.WARN


# ----------------------------------------------------------------------------------- the window and reversals


def test_a_strike_expires_exactly_at_the_end_of_the_window(policy: StrikePolicy) -> None:
    window = timedelta(days=30)
    inside = evaluate([(NOW - window + timedelta(microseconds=1), SPEECH, False)], policy, now=NOW)
    at_the_end = evaluate([(NOW - window, SPEECH, False)], policy, now=NOW)
    assert inside.action is StrikeAction.WARN
    assert at_the_end.action is StrikeAction.NONE
    assert at_the_end.counted == ()


def test_a_strike_decided_now_counts(policy: StrikePolicy) -> None:
    assert evaluate([(NOW, SPEECH, False)], policy, now=NOW).action is StrikeAction.WARN


def test_expired_strikes_do_not_add_up(policy: StrikePolicy) -> None:
    history = [(ago(40), SPEECH, False), (ago(35), SPEECH, False), (ago(1), SPEECH, False)]
    verdict = evaluate(history, policy, now=NOW)
    assert (verdict.action, verdict.strikes) == (StrikeAction.WARN, 1)
    assert len(verdict.counted) == 1


def test_a_reversed_decision_removes_its_strike(policy: StrikePolicy) -> None:
    history = [(ago(5), SPEECH, False), (ago(3), SPEECH, False), (ago(1), SPEECH, False)]
    assert evaluate(history, policy, now=NOW).action is StrikeAction.SUSPEND
    history[2] = (ago(1), SPEECH, True)
    verdict = evaluate(history, policy, now=NOW)
    assert (verdict.action, verdict.strikes) == (StrikeAction.WARN, 2)
    assert all(not s.reversed for s in verdict.counted)


def test_a_reversed_severe_decision_does_not_terminate(policy: StrikePolicy) -> None:
    csam = Strike(ago(1), MINORS, reversed=True, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL)
    assert policy.weight_of(csam) == 0
    verdict = evaluate([csam], policy, now=NOW)
    assert verdict.action is StrikeAction.NONE


def test_the_history_may_come_in_any_order(policy: StrikePolicy) -> None:
    history = [(ago(1), SPEECH, False), (ago(5), SPEECH, False), (ago(3), SPEECH, False)]
    verdict = evaluate(history, policy, now=NOW)
    assert verdict.until == ago(1) + 2 * DAY
    assert [s.decided_at for s in verdict.counted] == [ago(5), ago(3), ago(1)]


def test_bad_history_is_refused(policy: StrikePolicy) -> None:
    with pytest.raises(ValueError, match="after now"):
        evaluate([(NOW + DAY, SPEECH, False)], policy, now=NOW)
    with pytest.raises(ValueError, match="decided_at must be aware"):
        evaluate([(datetime(2026, 11, 1), SPEECH, False)], policy, now=NOW)  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="now must be aware"):
        evaluate([], policy, now=datetime(2026, 12, 1))  # noqa: DTZ001 - the point
    with pytest.raises(TypeError, match="must be a DsaCategory"):
        evaluate([(ago(1), "STATEMENT_CATEGORY_VIOLENCE", False)], policy, now=NOW)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be a DsaKeyword"):
        evaluate([Strike(ago(1), SPEECH, keyword="KEYWORD_HATE_SPEECH")], policy, now=NOW)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- properties

histories = st.lists(
    st.builds(
        Strike,
        decided_at=st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda m: NOW - timedelta(minutes=m)),
        category=st.sampled_from(list(DsaCategory)),
        reversed=st.booleans(),
        keyword=st.one_of(st.none(), st.sampled_from(list(DsaKeyword))),
    ),
    max_size=12,
)


@given(histories, st.integers(min_value=0, max_value=60 * 24 * 60))
def test_another_upheld_strike_never_softens_the_action(history: list[Strike], minutes: int) -> None:
    policy = load_policy(POLICY_TOML)
    before = evaluate(history, policy, now=NOW)
    after = evaluate([*history, Strike(NOW - timedelta(minutes=minutes), SPEECH)], policy, now=NOW)
    assert after.action.severity >= before.action.severity


@given(histories, st.data())
def test_reversing_a_strike_never_hardens_the_action(history: list[Strike], data: st.DataObject) -> None:
    policy = default_policy()
    if not history:
        return
    index = data.draw(st.integers(min_value=0, max_value=len(history) - 1))
    before = evaluate(history, policy, now=NOW)
    changed = list(history)
    changed[index] = Strike(history[index].decided_at, history[index].category, True, history[index].keyword)
    after = evaluate(changed, policy, now=NOW)
    assert after.action.severity <= before.action.severity


@given(histories)
def test_the_verdict_is_what_the_counted_strikes_add_up_to(history: list[Strike]) -> None:
    policy = default_policy()
    verdict = evaluate(history, policy, now=NOW)
    if verdict.rule is None:
        assert verdict.strikes == sum(policy.weight_of(s) for s in verdict.counted)
        assert all(not s.reversed and NOW - s.decided_at < timedelta(days=90) for s in verdict.counted)
    if verdict.action is StrikeAction.SUSPEND:
        assert verdict.until is not None
        assert verdict.until > NOW
    assert "strike policy 'trustdesk-default' v1" in verdict.reason


# ----------------------------------------------------------------------------------- the default policy


def test_the_default_policy_is_packaged_and_loads() -> None:
    data = resources.files("trustdesk.safety").joinpath("strikes.toml").read_bytes()
    assert load_policy(data) == default_policy()
    policy = default_policy()
    assert (policy.name, policy.version, policy.window_days) == ("trustdesk-default", 1, 90)
    assert [level.action for level in policy.levels] == [
        StrikeAction.WARN,
        StrikeAction.SUSPEND,
        StrikeAction.SUSPEND,
        StrikeAction.TERMINATE,
    ]


@pytest.mark.parametrize(
    "keyword",
    [
        DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
        DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE,
        DsaKeyword.TERRORIST_CONTENT,
    ],
)
def test_the_default_policy_terminates_the_gravest_at_once(keyword: DsaKeyword) -> None:
    category = DsaCategory.RISK_FOR_PUBLIC_SECURITY if keyword is DsaKeyword.TERRORIST_CONTENT else MINORS
    verdict = evaluate([Strike(ago(1), category, keyword=keyword)], default_policy(), now=NOW)
    assert verdict.action is StrikeAction.TERMINATE
    assert verdict.rule == f"keywords.{keyword.value}"


def test_the_default_policy_warns_then_suspends() -> None:
    policy = default_policy()
    assert evaluate([(ago(1), SPEECH, False)], policy, now=NOW).action is StrikeAction.WARN
    three = [(ago(1), DsaCategory.OTHER_VIOLATION_TC, False)] * 3
    verdict = evaluate(three, policy, now=NOW)
    assert (verdict.action, verdict.until) == (StrikeAction.SUSPEND, ago(1) + 7 * DAY)


# ----------------------------------------------------------------------------------- invalid policies


def _edit(old: str, new: str) -> str:
    assert old in POLICY_TOML
    return POLICY_TOML.replace(old, new, 1)


INVALID: list[tuple[str, str, str, str]] = [
    ("unknown top-level key", "window = 3\n" + POLICY_TOML, "window", "unknown key"),
    ("missing key", _edit("window_days = 30\n", ""), "window_days", "required key missing"),
    ("string for integer", _edit("window_days = 30", 'window_days = "30"'), "window_days", "valid integer"),
    ("float for integer", _edit("window_days = 30", "window_days = 30.0"), "window_days", "valid integer"),
    (
        "bool for integer",
        _edit("default_weight = 1", "default_weight = true"),
        "default_weight",
        "valid integer",
    ),
    (
        "zero window",
        _edit("window_days = 30", "window_days = 0"),
        "window_days",
        "greater than or equal to 1",
    ),
    ("wrong schema version", _edit("schema_version = 1", "schema_version = 2"), "schema_version", "1"),
    ("blank name", _edit('name = "test"', 'name = "  "'), "name", "pattern"),
    (
        "unknown category",
        _edit("STATEMENT_CATEGORY_SCAMS_AND_FRAUD]", "STATEMENT_CATEGORY_SCAMS]"),
        "categories.STATEMENT_CATEGORY_SCAMS",
        "is not a DSA category code",
    ),
    (
        "keyword under categories",
        POLICY_TOML + "\n[categories.KEYWORD_PHISHING]\nweight = 1\n",
        "categories.KEYWORD_PHISHING",
        "is not a DSA category code",
    ),
    (
        "unknown keyword",
        _edit("KEYWORD_PHISHING]", "KEYWORD_FISHING]"),
        "keywords.KEYWORD_FISHING",
        "is not a DSA keyword code",
    ),
    (
        "unknown key in a rule",
        _edit(
            "[keywords.KEYWORD_PHISHING]\nweight = 3", "[keywords.KEYWORD_PHISHING]\nweight = 3\nwieght = 2"
        ),
        "keywords.KEYWORD_PHISHING.wieght",
        "unknown key",
    ),
    (
        "negative weight",
        _edit("weight = 2", "weight = -1"),
        "categories.STATEMENT_CATEGORY_SCAMS_AND_FRAUD.weight",
        "greater than or equal to 0",
    ),
    (
        "string for bool",
        _edit("terminate_at_once = true", 'terminate_at_once = "yes"'),
        "categories.STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY.terminate_at_once",
        "valid boolean",
    ),
    (
        "empty rule",
        POLICY_TOML + "\n[categories.STATEMENT_CATEGORY_VIOLENCE]\n",
        "categories.STATEMENT_CATEGORY_VIOLENCE",
        "set weight or terminate_at_once",
    ),
    ("unknown action", _edit('action = "terminate"', 'action = "ban"'), "levels[3].action", "'warn'"),
    (
        "none as an action",
        _edit('action = "terminate"', 'action = "none"'),
        "levels[3]",
        "warn, suspend or terminate",
    ),
    ("suspension without days", _edit("days = 10\n", ""), "levels[2]", "a suspension needs days"),
    ("days on a warning", _edit('action = "warn"', 'action = "warn"\ndays = 1'), "levels[0]", "days applies"),
    ("zero days", _edit("days = 2", "days = 0"), "levels[1].days", "greater than or equal to 1"),
    ("unknown key in a level", _edit("days = 2", "days = 2\nhours = 4"), "levels[1].hours", "unknown key"),
    ("no levels", POLICY_TOML.replace("[[levels]]", "[[levelz]]"), "levels", "required key missing"),
    (
        "first level not a warning",
        _edit('strikes = 1\naction = "warn"', 'strikes = 1\naction = "suspend"\ndays = 1'),
        "levels[0].action",
        "DSA Art. 23(1)",
    ),
    ("thresholds not rising", _edit("strikes = 4", "strikes = 3"), "levels[2].strikes", "must be more than"),
    (
        "milder after harsher",
        _edit('strikes = 6\naction = "terminate"', 'strikes = 6\naction = "warn"'),
        "levels[3].action",
        "warn cannot follow suspend",
    ),
    (
        "level after termination",
        POLICY_TOML.replace(
            "[categories.", '[[levels]]\nstrikes = 9\naction = "terminate"\n\n[categories.', 1
        ),
        "levels[4]",
        "no level can follow termination",
    ),
    ("shorter suspension later", _edit("days = 10", "days = 1"), "levels[2].days", "cannot be shorter"),
    (
        "zero strikes",
        _edit('strikes = 1\naction = "warn"', 'strikes = 0\naction = "warn"'),
        "levels[0].strikes",
        "greater than or equal to 1",
    ),
    ("not TOML", "window_days = ", "", "not valid TOML"),
]


@pytest.mark.parametrize(
    ("text", "key", "problem"), [(t, k, p) for _, t, k, p in INVALID], ids=[i for i, *_ in INVALID]
)
def test_an_invalid_policy_is_refused_naming_the_key(text: str, key: str, problem: str) -> None:
    with pytest.raises(StrikePolicyError) as caught:
        load_policy(text, source="bad.toml")
    error = caught.value
    assert str(error).startswith("strike policy bad.toml: ")
    keys = [k for k, _ in error.problems]
    assert key in keys, error.problems
    assert any(problem in p for k, p in error.problems if k == key), error.problems


def test_every_fault_is_reported_at_once() -> None:
    text = _edit("window_days = 30", 'window_days = "x"').replace("weight = 3", "weight = -3")
    with pytest.raises(StrikePolicyError) as caught:
        load_policy(text)
    assert [k for k, _ in caught.value.problems] == ["window_days", "keywords.KEYWORD_PHISHING.weight"]


def test_a_policy_file_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(StrikePolicyError, match="not UTF-8"):
        load_policy(b"name = '\xff'")


def test_the_policy_is_frozen(policy: StrikePolicy) -> None:
    with pytest.raises(ValueError, match="frozen"):
        policy.window_days = 1  # type: ignore[misc]


def test_a_policy_may_be_indented_toml() -> None:
    text = textwrap.dedent(
        """\
        schema_version = 1
        name = "minimal"
        version = 1
        window_days = 7
        default_weight = 2
        levels = [{ strikes = 2, action = "warn" }, { strikes = 4, action = "terminate" }]
        """
    )
    policy = load_policy(text)
    assert policy.categories == {}
    assert evaluate([(ago(1), SPEECH, False)], policy, now=NOW).action is StrikeAction.WARN
    assert evaluate([(ago(1), SPEECH, False)] * 2, policy, now=NOW).action is StrikeAction.TERMINATE
