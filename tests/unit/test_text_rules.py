"""Text rules: loading and its errors, both engines, conditions, hits, the starter set's examples."""

# Look-alike characters are what these tests are about:
# ruff: noqa: RUF001

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustdesk.safety.rules import (
    Engine,
    RuleFileError,
    RuleSet,
    TextEvent,
    available_engines,
    compile_matcher,
    load_rules,
    rules_test,
)
from trustdesk.safety.rules.synthetic import synthetic_messages, synthetic_rules_toml
from trustdesk.safety.vocabulary import BankAction, ChatType, DsaCategory, DsaKeyword

ENGINES = pytest.mark.parametrize("engine", available_engines())

RULE = """
[[rule]]
id = "{id}"
description = "test rule"
category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
action = "review"
{body}
[rule.examples]
match = {match}
"""


def rule_file(tmp_path: Path, *rules: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text("schema_version = 1\n" + "".join(rules), encoding="utf-8")
    return path


def rule(
    rule_id: str = "t.one", body: str = 'keywords = ["free money"]', match: str = '["free money"]'
) -> str:
    return RULE.format(id=rule_id, body=body, match=match)


def event(
    text: str, chat_type: ChatType = ChatType.PUBLIC, audience: int = 10, language: str | None = None
) -> TextEvent:
    return TextEvent(text, chat_type, audience, language=language)


@pytest.fixture(scope="module", params=available_engines())
def starter(request: pytest.FixtureRequest) -> RuleSet:
    return load_rules(engine=request.param)


# ------------------------------------------------------------------------------------- starter set


def test_the_starter_examples_all_pass(starter: RuleSet) -> None:
    assert starter.self_test() == []
    assert len(starter) >= 10
    assert {r.category for r in starter.rules} >= {
        DsaCategory.SCAMS_AND_FRAUD,
        DsaCategory.RISK_FOR_PUBLIC_SECURITY,
        DsaCategory.CYBER_VIOLENCE,
        DsaCategory.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS,
    }
    assert {r.action for r in starter.rules} == {BankAction.REVIEW, BankAction.AUTO_REMOVE}
    assert all(any(not e.should_match for e in r.examples) for r in starter.rules)


def test_rules_test_reports_success_on_the_starter_set() -> None:
    report = rules_test()
    assert report.exit_status == 0
    assert "0 failing" in report.text


def test_a_hit_carries_the_rule_and_the_match(starter: RuleSet) -> None:
    [hit] = starter.evaluate(event("Last chance!!! D0UBLE Y0UR B1TC0IN today"))
    assert hit.rule_id == "scam.crypto-doubling"
    assert hit.category is DsaCategory.SCAMS_AND_FRAUD
    assert hit.action is BankAction.REVIEW
    assert hit.matched == "double your bitcoin"
    assert hit.excerpt == "double your bitcoin"
    assert hit.span == (12, 31)  # in "last chance double your bitcoin today"
    [hit] = starter.evaluate(event("Take up arms against the infidels"))
    assert hit.keyword is DsaKeyword.TERRORIST_CONTENT


def test_doxxing_needs_a_large_public_audience(starter: RuleSet) -> None:
    text = "his number is +44 7700 900123"
    assert [h.rule_id for h in starter.evaluate(event(text, ChatType.PUBLIC, 5000))] == ["dox.personal-phone"]
    assert starter.evaluate(event(text, ChatType.PUBLIC, 50)) == []
    assert starter.evaluate(event(text, ChatType.GROUP, 5000)) == []


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_zero_width_characters_anywhere_never_change_the_hits(starter: RuleSet, data: st.DataObject) -> None:
    examples = [e for r in starter.rules for e in r.examples]
    example = data.draw(st.sampled_from(examples))
    text = example.event.text
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + data.draw(st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad"]))
            + text[at:]
        )
    spoiled = TextEvent(text, example.event.chat_type, example.event.audience, example.event.account_age_days)
    assert [h.rule_id for h in starter.evaluate(spoiled)] == [
        h.rule_id for h in starter.evaluate(example.event)
    ]


# ---------------------------------------------------------------------------------------- engines


PATTERNS = [
    (0, " (free ?money) "),
    (1, r"[^a-z0-9\x{80}-\x{10ffff}](t\.me/)"),
    (2, r"\+?[0-9](?:[ .-]?[0-9]){8,13}"),
    (3, r"\bcaf\b"),
    (4, r"\p{Cyrillic}+x"),
    (5, r"^start"),
    (6, r"end$"),
]


@ENGINES
@pytest.mark.parametrize(
    ("text", "ids"),
    [
        (" free money ", {0}),
        (" freemoney ", {0}),
        (" freemoneys ", set()),
        ("join t.me/x", {1}),
        ("joint.me/x", set()),
        ("call +44 7700 900123", {2}),
        ("café", {3}),  # \b is ASCII in both engines
        ("приветx", {4}),
        ("start and end", {5, 6}),
        ("no start, no end.", set()),
    ],
)
def test_matchers(engine: Engine, text: str, ids: set[int]) -> None:
    assert compile_matcher(PATTERNS, engine).scan(text) == ids


@pytest.mark.skipif(len(available_engines()) < 2, reason="needs both engines")
@given(st.text(st.sampled_from(list("free mony.t/+0123456789caféпx€")), max_size=30))
def test_the_engines_agree(text: str) -> None:
    hyperscan, re2 = (compile_matcher(PATTERNS, e) for e in (Engine.HYPERSCAN, Engine.RE2))
    assert hyperscan.scan(text) == re2.scan(text)


@ENGINES
def test_an_empty_matcher_matches_nothing(engine: Engine) -> None:
    assert compile_matcher([], engine).scan("anything") == set()


# ------------------------------------------------------------------------------------- conditions


@ENGINES
def test_conditions(tmp_path: Path, engine: Engine) -> None:
    body = """keywords = ["free money"]
[rule.conditions]
chat_type = ["public", "group"]
min_audience = 10
max_audience = 1000
min_account_age_days = 1
max_account_age_days = 30
"""
    rules = load_rules(rule_file(tmp_path, rule(body=body)), engine=engine)
    assert rules.self_test() == []

    def hits(**kw: object) -> bool:
        values: dict[str, object] = {"chat_type": ChatType.GROUP, "audience": 100, "account_age_days": 5}
        values.update(kw)
        return bool(rules.evaluate(TextEvent("FREE MONEY", **values)))  # type: ignore[arg-type]

    assert hits()
    assert not hits(chat_type=ChatType.PRIVATE)
    assert not hits(audience=9)
    assert not hits(audience=1001)
    assert not hits(account_age_days=0)
    assert not hits(account_age_days=31)
    assert not hits(account_age_days=None)  # unknown age does not satisfy an age condition


def test_language_condition(tmp_path: Path) -> None:
    body = 'keywords = ["bitcoin"]\n[rule.conditions]\nlanguages = ["en"]\n'
    examples = (
        '["bitcoin", { text = "Send me your bitcoin now and I will return it tomorrow", language = "auto" }]'
    )
    rules = load_rules(rule_file(tmp_path, rule(body=body, match=examples)))
    assert rules.self_test() == []
    assert rules.evaluate(event("bitcoin", language="en"))
    assert not rules.evaluate(event("bitcoin", language="fr"))
    assert not rules.evaluate(event("Envoie-moi tes bitcoin maintenant et je te les rendrai demain"))


# ------------------------------------------------------------------------------------ load errors


@pytest.mark.parametrize(
    ("body", "match", "line", "message"),
    [
        ("patterns = ['free (money']", '["x"]', 8, "does not compile: missing \\)"),
        ("patterns = [\n  'ok',\n  'x*',\n]", '["x"]', 10, "matches the empty string"),
        ("patterns = ['Free']", '["free"]', 8, "'F', which never occurs"),
        ("patterns = ['send \\d+']", '["send 1"]', 8, "digits 0 1 3 4 5 7 become letters"),
        ("patterns = ['x(?U)a+']", '["xa"]', 8, "ungreedy"),
        ("patterns = ['(?<=a)b']", '["ab"]', 8, "does not compile"),
        ("patterns = ['   ']", '["x"]', 8, "must not be empty"),
        ("keywords = []", '["x"]', 8, "needs keywords or patterns"),
        ('keywords = ["\\u200b"]', '["x"]', 8, "empty once normalised"),
        ('keywords = ["x", "x"]', '["x"]', 8, "lists 'x' twice"),
        ('keywords = ["x"]\nkeyword = "KEYWORD_DANGEROUS_TOYS"', '["x"]', 9, "unknown DsaKeyword"),
        ('keywords = ["x"]\nnormalise = "extra"', '["x"]', 9, "unknown Form"),
        ('keywords = ["x"]\ncolour = "red"', '["x"]', 9, "unknown key"),
        ('keywords = ["x"]', "[42]", 10, "a string or a table"),
        ('keywords = ["x"]', "[]", 10, "must not be empty"),
        ('keywords = ["x"]', '[{ txt = "x" }]', 10, "txt: unknown key"),
        ('keywords = ["x"]', '[{ language = "en" }]', 10, "text: missing"),
        ('keywords = ["x"]', '["x", "  "]', 10, "an example must not be empty"),
        ('keywords = ["x"]', '[{ text = "x", audience = "9" }]', 10, "must be an integer"),
        ('keywords = ["x"]\n[rule.conditions]\nchat_type = []', '["x"]', 10, "leave it out"),
        ('keywords = ["x"]\n[rule.conditions]\nchat_type = ["group", "group"]', '["x"]', 10, "twice"),
        ('keywords = ["x"]', '[{ text = "x", chat_type = "channel" }]', 10, "unknown ChatType"),
        ('keywords = ["x"]\n[rule.conditions]\nmin_audience = -1', '["x"]', 10, "must not be negative"),
        ('keywords = ["x"]\n[rule.conditions]\nmin_audience = 9\nmax_audience = 2', '["x"]', 11, "is below"),
        ('keywords = ["x"]\n[rule.conditions]\nchat_type = ["dm"]', '["x"]', 10, "unknown ChatType"),
        ('keywords = ["x"]\n[rule.conditions]\nlanguages = ["xx"]', '["x"]', 10, "does not know xx"),
    ],
)
def test_a_bad_rule_is_refused_with_its_file_and_line(
    tmp_path: Path, body: str, match: str, line: int, message: str
) -> None:
    path = rule_file(tmp_path, rule(body=body, match=match))
    with pytest.raises(RuleFileError, match=message) as caught:
        load_rules(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line, caught.value
    assert caught.value.rule == "t.one"
    assert str(caught.value).startswith(f"{path}:{line}: rule 't.one': ")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "STATEMENT_CATEGORY_SPAM", "unknown DsaCategory"),
        ("action", "delete", "unknown BankAction"),
        ("id", "Bad Id", "lower-case letters"),
    ],
)
def test_unknown_codes_are_refused(tmp_path: Path, field: str, value: str, message: str) -> None:
    text = rule().replace(f'{field} = "', f'{field} = "{value}" #', 1)
    path = rule_file(tmp_path, text)
    with pytest.raises(RuleFileError, match=message) as caught:
        load_rules(path)
    lines = path.read_text().splitlines()
    assert caught.value.line == next(i for i, s in enumerate(lines, 1) if s.startswith(field))


def test_a_duplicate_id_names_both_places(tmp_path: Path) -> None:
    first = rule_file(tmp_path, rule(), name="a.toml")
    second = rule_file(tmp_path, rule("t.two"), rule(), name="b.toml")
    with pytest.raises(RuleFileError, match=f"duplicate rule id, first at {first}:3") as caught:
        load_rules(tmp_path)
    assert (caught.value.file, caught.value.line) == (str(second), 12)


def test_file_level_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text("schema_version = 1\n[[rule]]\nid = \n")
    with pytest.raises(RuleFileError, match="not valid TOML") as caught:
        load_rules(path)
    assert caught.value.line == 3
    path.write_text("schema_version = 2\n")
    with pytest.raises(RuleFileError, match="schema_version: must be 1"):
        load_rules(path)
    rule_file(tmp_path, rule().replace('[rule.examples]\nmatch = ["free money"]', ""), name="r.toml")
    with pytest.raises(RuleFileError, match=r"missing: a rule needs examples\.match"):
        load_rules(path)
    with pytest.raises(RuleFileError, match="cannot be read"):
        load_rules(tmp_path / "missing.toml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleFileError, match=r"no \*\.toml"):
        load_rules(tmp_path / "empty")


# ---------------------------------------------------------------------------- version, self-test


def test_the_version_is_a_hash_of_the_files(tmp_path: Path) -> None:
    path = rule_file(tmp_path, rule())
    version = load_rules(path).version
    assert load_rules(path).version == version
    assert len(version) == 64
    path.write_text(path.read_text() + "\n# a comment\n")
    assert load_rules(path).version != version


def test_self_test_reports_a_failing_example(tmp_path: Path) -> None:
    bad = rule(match='["free money", "cheap money"]') + 'no_match = ["FREE MONEY"]\n'
    path = rule_file(tmp_path, bad)
    failures = load_rules(path).self_test()
    assert [(f.rule_id, f.text, f.should_match, f.line) for f in failures] == [
        ("t.one", "cheap money", True, 10),
        ("t.one", "FREE MONEY", False, 11),
    ]
    report = rules_test(path)
    assert report.exit_status == 1
    assert f"{path}:10: rule 't.one': example 'cheap money' should match but does not" in report.text
    assert rules_test(tmp_path / "missing.toml").exit_status == 2


@ENGINES
def test_synthetic_rule_sets_load_and_pass(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "synthetic.toml"
    path.write_text(synthetic_rules_toml(120, seed=3))
    rules = load_rules(path, engine=engine)
    assert len(rules) == 120
    assert rules.self_test() == []
    messages = synthetic_messages(50, seed=3)
    assert all(50 <= len(m) <= 310 for m in messages)
