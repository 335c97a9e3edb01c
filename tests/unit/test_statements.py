"""Statements of reasons (DSA Art. 17) against the EU Transparency Database's schema and rules
(reference/dsa-statement-of-reasons.md): every rule refused by id, the builder, the JSON, personal data."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.safety.pii import PiiKind, find_personal_data
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.statement_rules import RULES, StatementRefused, validate_batch, validate_statement
from trustdesk.safety.statements import (
    FIELDS,
    AccountType,
    AutomatedDecision,
    CaseSource,
    ContentType,
    DecisionAccount,
    DecisionGroundCode,
    DecisionMonetary,
    DecisionProvision,
    DecisionVisibility,
    EeaCountry,
    ModerationDecision,
    SourceType,
    Statement,
    YesNo,
    build_statement,
    to_json,
    to_json_line,
)
from trustdesk.safety.vocabulary import ContentKind, DsaCategory, DsaKeyword

# The "Fields" table of the reference, in its order (lines 28-59), written out by hand.
REFERENCE_FIELDS = (
    "decision_visibility",
    "decision_visibility_other",
    "decision_monetary",
    "decision_monetary_other",
    "decision_provision",
    "decision_account",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "content_type",
    "content_type_other",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "territorial_scope",
    "content_language",
    "content_date",
    "application_date",
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "puid",
    "content_id",
)
ALWAYS = {
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
}
EEA = sorted(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE"}
    | {"IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"}
)


def valid(**changes: Any) -> Statement:
    """A statement the database accepts (terms-of-service ground), with ``changes``."""
    base = Statement(
        decision_visibility=(DecisionVisibility.CONTENT_REMOVED,),
        decision_ground=DecisionGroundCode.INCOMPATIBLE_CONTENT,
        decision_ground_reference_url="https://example.org/terms#section-4",
        incompatible_content_ground="Terms of service, section 4.2 (spam)",
        incompatible_content_explanation="The message advertised a scheme the terms forbid.",
        content_type=(ContentType.TEXT,),
        category=DsaCategory.SCAMS_AND_FRAUD,
        territorial_scope=tuple(EeaCountry),
        content_date=date(2026, 11, 30),
        application_date=date(2026, 12, 1),
        decision_facts="A message in a public channel offered returns of 40% a week for EUR 1,299.00.",
        source_type=SourceType.VOLUNTARY,
        automated_detection=YesNo.NO,
        automated_decision=AutomatedDecision.NOT_AUTOMATED,
        puid="sor-2026-000001",
    )
    return replace(base, **changes)


ILLEGAL: dict[str, Any] = {
    "decision_ground": DecisionGroundCode.ILLEGAL_CONTENT,
    "incompatible_content_ground": None,
    "incompatible_content_explanation": None,
    "illegal_content_legal_ground": "§ 130 StGB (incitement to hatred)",
    "illegal_content_explanation": "The message called for violence against a group for its religion.",
}

# (rule id, changes to the valid statement that break exactly that rule, the field named)
BREAKS: list[tuple[str, dict[str, Any], str]] = [
    ("decision.at_least_one", {"decision_visibility": ()}, "decision_visibility"),
    (
        "decision_visibility.allowed",
        {"decision_visibility": ("DECISION_VISIBILITY_HIDDEN",)},
        "decision_visibility",
    ),
    (
        "decision_visibility.allowed",
        {"decision_visibility": "DECISION_VISIBILITY_CONTENT_REMOVED"},
        "decision_visibility",
    ),
    (
        "decision_visibility_other.required",
        {"decision_visibility": (DecisionVisibility.OTHER,)},
        "decision_visibility_other",
    ),
    (
        "decision_visibility_other.max_length",
        {"decision_visibility": (DecisionVisibility.OTHER,), "decision_visibility_other": "x" * 501},
        "decision_visibility_other",
    ),
    ("decision_monetary.allowed", {"decision_monetary": "DECISION_MONETARY_FINE"}, "decision_monetary"),
    (
        "decision_monetary_other.required",
        {"decision_visibility": (), "decision_monetary": DecisionMonetary.OTHER},
        "decision_monetary_other",
    ),
    (
        "decision_monetary_other.max_length",
        {"decision_monetary": DecisionMonetary.OTHER, "decision_monetary_other": "y" * 501},
        "decision_monetary_other",
    ),
    ("decision_provision.allowed", {"decision_provision": "DECISION_PROVISION_SOME"}, "decision_provision"),
    ("decision_account.allowed", {"decision_account": "DECISION_ACCOUNT_BANNED"}, "decision_account"),
    ("account_type.allowed", {"account_type": "ACCOUNT_TYPE_BOT"}, "account_type"),
    ("decision_ground.required", {"decision_ground": None}, "decision_ground"),
    ("decision_ground.allowed", {"decision_ground": "DECISION_GROUND_OTHER"}, "decision_ground"),
    (
        "decision_ground_reference_url.url",
        {"decision_ground_reference_url": "section 4 of our terms"},
        "decision_ground_reference_url",
    ),
    (
        "decision_ground_reference_url.url",
        {"decision_ground_reference_url": "ftp://example.org/terms"},
        "decision_ground_reference_url",
    ),
    (
        "decision_ground_reference_url.max_length",
        {"decision_ground_reference_url": "https://example.org/" + "t" * 481},
        "decision_ground_reference_url",
    ),
    (
        "illegal_content_legal_ground.required",
        {**ILLEGAL, "illegal_content_legal_ground": None},
        "illegal_content_legal_ground",
    ),
    (
        "illegal_content_legal_ground.required",
        {**ILLEGAL, "illegal_content_legal_ground": "  "},
        "illegal_content_legal_ground",
    ),
    (
        "illegal_content_legal_ground.max_length",
        {**ILLEGAL, "illegal_content_legal_ground": "g" * 501},
        "illegal_content_legal_ground",
    ),
    (
        "illegal_content_explanation.required",
        {**ILLEGAL, "illegal_content_explanation": ""},
        "illegal_content_explanation",
    ),
    (
        "illegal_content_explanation.max_length",
        {**ILLEGAL, "illegal_content_explanation": "e" * 2001},
        "illegal_content_explanation",
    ),
    (
        "incompatible_content_ground.required",
        {"incompatible_content_ground": None},
        "incompatible_content_ground",
    ),
    (
        "incompatible_content_ground.max_length",
        {"incompatible_content_ground": "c" * 501},
        "incompatible_content_ground",
    ),
    (
        "incompatible_content_explanation.required",
        {"incompatible_content_explanation": None},
        "incompatible_content_explanation",
    ),
    (
        "incompatible_content_explanation.max_length",
        {"incompatible_content_explanation": "e" * 2001},
        "incompatible_content_explanation",
    ),
    (
        "incompatible_content_illegal.allowed",
        {"incompatible_content_illegal": "yes"},
        "incompatible_content_illegal",
    ),
    (
        "incompatible_content_illegal.allowed",
        {"incompatible_content_illegal": True},
        "incompatible_content_illegal",
    ),
    (
        "incompatible_content_illegal.only_with_incompatible",
        {**ILLEGAL, "incompatible_content_illegal": YesNo.YES},
        "incompatible_content_illegal",
    ),
    ("content_type.required", {"content_type": ()}, "content_type"),
    ("content_type.allowed", {"content_type": ("CONTENT_TYPE_STICKER",)}, "content_type"),
    ("content_type_other.required", {"content_type": (ContentType.OTHER,)}, "content_type_other"),
    (
        "content_type_other.max_length",
        {"content_type": (ContentType.OTHER,), "content_type_other": "o" * 501},
        "content_type_other",
    ),
    ("category.required", {"category": None}, "category"),
    ("category.allowed", {"category": "STATEMENT_CATEGORY_SPAM"}, "category"),
    ("category_addition.allowed", {"category_addition": ("STATEMENT_CATEGORY_SPAM",)}, "category_addition"),
    (
        "category_specification.allowed",
        {"category_specification": ("KEYWORD_DANGEROUS_TOYS",)},
        "category_specification",
    ),
    (
        "category_specification_other.max_length",
        {"category_specification": (DsaKeyword.OTHER,), "category_specification_other": "k" * 501},
        "category_specification_other",
    ),
    ("territorial_scope.allowed", {"territorial_scope": ("US",)}, "territorial_scope"),
    ("territorial_scope.allowed", {"territorial_scope": ("EL",)}, "territorial_scope"),
    ("content_language.allowed", {"content_language": "en"}, "content_language"),
    ("content_language.allowed", {"content_language": "XX"}, "content_language"),
    ("content_language.allowed", {"content_language": "ENG"}, "content_language"),
    ("content_date.required", {"content_date": None}, "content_date"),
    ("content_date.format", {"content_date": datetime(2026, 11, 30, tzinfo=UTC)}, "content_date"),
    ("content_date.format", {"content_date": "2026-11-30"}, "content_date"),
    ("content_date.range", {"content_date": date(1999, 12, 31)}, "content_date"),
    ("content_date.range", {"content_date": date(2038, 1, 2)}, "content_date"),
    ("application_date.required", {"application_date": None}, "application_date"),
    ("application_date.format", {"application_date": datetime(2026, 12, 1, tzinfo=UTC)}, "application_date"),
    (
        "application_date.range",
        {"application_date": date(2019, 12, 31), "content_date": date(2019, 12, 1)},
        "application_date",
    ),
    ("application_date.range", {"application_date": date(2038, 1, 2)}, "application_date"),
    ("decision_facts.required", {"decision_facts": ""}, "decision_facts"),
    ("decision_facts.required", {"decision_facts": None}, "decision_facts"),
    ("decision_facts.max_length", {"decision_facts": "f" * 5001}, "decision_facts"),
    ("source_type.required", {"source_type": None}, "source_type"),
    ("source_type.allowed", {"source_type": "SOURCE_ARTICLE_9"}, "source_type"),
    ("source_identity.max_length", {"source_identity": "s" * 501}, "source_identity"),
    ("automated_detection.required", {"automated_detection": None}, "automated_detection"),
    ("automated_detection.allowed", {"automated_detection": "YES"}, "automated_detection"),
    ("automated_decision.required", {"automated_decision": None}, "automated_decision"),
    (
        "automated_decision.allowed",
        {"automated_decision": "AUTOMATED_DECISION_SOMETIMES"},
        "automated_decision",
    ),
    ("puid.required", {"puid": ""}, "puid"),
    ("puid.max_length", {"puid": "p" * 501}, "puid"),
    ("puid.charset", {"puid": "sor 2026/1"}, "puid"),
    ("puid.charset", {"puid": "sor.2026.1"}, "puid"),
    ("content_id.key", {"content_id": {"ISBN": "9780306406157"}}, "content_id"),
    ("content_id.key", {"content_id": {"EAN-13": "4006381333931", "GTIN": "1"}}, "content_id"),
    ("content_id.ean13", {"content_id": {"EAN-13": "400638133393"}}, "content_id"),
    ("content_id.ean13", {"content_id": {"EAN-13": "400638133393X"}}, "content_id"),
    ("no_personal_data", {"decision_facts": "Sent by @alice to the channel."}, "decision_facts"),
]
for _name in (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
):
    BREAKS += [
        (f"{_name}.format", {_name: datetime(2026, 12, 31, tzinfo=UTC)}, _name),
        (f"{_name}.range", {_name: date(2038, 1, 2)}, _name),
        (f"{_name}.not_before_application", {_name: date(2026, 11, 30)}, _name),
    ]
# The type column: a field of type string holds a string, content_id is an object.
for _name in (
    "decision_visibility_other",
    "decision_monetary_other",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "content_type_other",
    "category_specification_other",
    "content_language",
    "decision_facts",
    "source_identity",
    "puid",
):
    BREAKS.append((f"{_name}.string", {_name: 20261201}, _name))
BREAKS += [
    ("decision_facts.string", {"decision_facts": b"A message in a public channel."}, "decision_facts"),
    ("content_language.string", {"content_language": ["EN"]}, "content_language"),
    ("content_id.object", {"content_id": "4006381333931"}, "content_id"),
    ("content_id.object", {"content_id": ["EAN-13"]}, "content_id"),
]
# Rules only a batch or the builder can break; each has its own test below.
ELSEWHERE = {"batch.size", "batch.puid_unique", "territorial_scope.geo_restriction"}


def test_the_valid_statements_are_valid() -> None:
    assert validate_statement(valid()) == valid()
    assert validate_statement(valid(**ILLEGAL)) == valid(**ILLEGAL)


@pytest.mark.parametrize(
    ("rule", "changes", "field"), BREAKS, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(BREAKS)]
)
def test_each_rule_refuses_a_statement_breaking_it(rule: str, changes: dict[str, Any], field: str) -> None:
    statement = valid(**changes)
    with pytest.raises(StatementRefused) as refused:
        validate_statement(statement)
    assert (refused.value.rule, refused.value.field) == (rule, field)
    assert f"line {RULES[rule][0]}" in str(refused.value)
    with pytest.raises(StatementRefused):
        to_json(statement)  # nothing invalid is ever serialised


def test_every_rule_of_the_reference_is_tested() -> None:
    assert {rule for rule, _, _ in BREAKS} | ELSEWHERE == set(RULES)


def test_every_rule_names_a_line_of_the_fields_table_or_the_api() -> None:
    for rule, (line, summary) in RULES.items():
        assert 10 <= line <= 59, rule
        assert summary


def test_statement_refused_is_a_value_error_with_rule_and_field() -> None:
    with pytest.raises(ValueError, match="decision_facts") as refused:
        validate_statement(valid(decision_facts=" "))
    assert isinstance(refused.value, StatementRefused)
    assert refused.value.rule == "decision_facts.required"
    assert refused.value.field == "decision_facts"


# --- what the reference allows --------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {
            "decision_visibility": (DecisionVisibility.OTHER,),
            "decision_visibility_other": "Pinned to the bottom",
        },
        {"decision_visibility": (), "decision_monetary": DecisionMonetary.SUSPENSION},
        {"decision_visibility": (), "decision_provision": DecisionProvision.PARTIAL_SUSPENSION},
        {"decision_visibility": (), "decision_account": DecisionAccount.TERMINATED},
        {"content_type": (ContentType.OTHER, ContentType.IMAGE), "content_type_other": "Sticker"},
        {"incompatible_content_illegal": YesNo.NO},
        {"territorial_scope": None},  # the validator tolerates its absence (line 48)
        {"territorial_scope": (EeaCountry.GR, EeaCountry.NO)},
        {"content_language": "DE"},
        {"content_id": {"EAN-13": "4006381333931"}},
        {"content_date": date(2000, 1, 1), "application_date": date(2020, 1, 1)},
        {"content_date": date(2038, 1, 1), "application_date": date(2038, 1, 1)},
        {
            "end_date_account_restriction": date(2026, 12, 1),
            "end_date_visibility_restriction": date(2038, 1, 1),
        },
        {"category_specification": (DsaKeyword.OTHER,), "category_specification_other": "Crypto giveaway"},
        {"category_addition": (DsaCategory.SCAMS_AND_FRAUD, DsaCategory.CONSUMER_INFORMATION)},
        {"decision_facts": "f" * 5000, "puid": "P" * 500, "incompatible_content_explanation": "e" * 2000},
        {"source_identity": "Stichting Offlimits", "account_type": AccountType.PRIVATE},
        {"decision_ground_reference_url": None},
    ],
)
def test_what_the_reference_allows_is_accepted(changes: dict[str, Any]) -> None:
    validate_statement(valid(**changes))
    to_json(valid(**changes))


# --- the JSON ---------------------------------------------------------------------------------------


def test_the_field_names_are_exactly_the_references() -> None:
    assert FIELDS == REFERENCE_FIELDS


def test_json_has_the_databases_names_values_arrays_and_dates() -> None:
    statement = valid(
        decision_visibility=(DecisionVisibility.CONTENT_LABELLED, DecisionVisibility.CONTENT_DEMOTED),
        decision_account=DecisionAccount.SUSPENDED,
        end_date_account_restriction=date(2027, 1, 5),
        territorial_scope=(EeaCountry.FR, EeaCountry.DE, EeaCountry.FR),
        category_addition=(DsaCategory.SCAMS_AND_FRAUD, DsaCategory.CONSUMER_INFORMATION),
        category_specification=(DsaKeyword.PYRAMID_SCHEMES,),
        incompatible_content_illegal=YesNo.YES,
        content_id={"EAN-13": "4006381333931"},
    )
    body = to_json(statement)
    assert body == {
        "decision_visibility": [
            "DECISION_VISIBILITY_CONTENT_DEMOTED",
            "DECISION_VISIBILITY_CONTENT_LABELLED",
        ],
        "decision_account": "DECISION_ACCOUNT_SUSPENDED",
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "decision_ground_reference_url": "https://example.org/terms#section-4",
        "incompatible_content_ground": "Terms of service, section 4.2 (spam)",
        "incompatible_content_explanation": "The message advertised a scheme the terms forbid.",
        "incompatible_content_illegal": "Yes",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "category_addition": ["STATEMENT_CATEGORY_CONSUMER_INFORMATION"],
        "category_specification": ["KEYWORD_PYRAMID_SCHEMES"],
        "territorial_scope": ["DE", "FR"],
        "content_date": "2026-11-30",
        "application_date": "2026-12-01",
        "end_date_account_restriction": "2027-01-05",
        "decision_facts": "A message in a public channel offered returns of 40% a week for EUR 1,299.00.",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": "sor-2026-000001",
        "content_id": {"EAN-13": "4006381333931"},
    }
    assert list(body) == [name for name in REFERENCE_FIELDS if name in body]
    assert all(type(v) in {str, list, dict} for v in body.values())
    line = to_json_line(statement)
    assert "\n" not in line
    assert json.loads(line) == body


def test_source_identity_is_dropped_for_voluntary_and_kept_for_a_notice() -> None:
    assert "source_identity" not in to_json(valid(source_identity="Trust team"))
    body = to_json(valid(source_type=SourceType.TRUSTED_FLAGGER, source_identity="Stichting Offlimits"))
    assert body["source_identity"] == "Stichting Offlimits"


def test_json_line_keeps_unicode() -> None:
    line = to_json_line(valid(**ILLEGAL))
    assert "§ 130 StGB" in line


# --- batches ----------------------------------------------------------------------------------------


def test_a_batch_holds_1_to_100_statements() -> None:
    with pytest.raises(StatementRefused) as refused:
        validate_batch([])
    assert refused.value.rule == "batch.size"
    batch = [valid(puid=f"sor-{i}") for i in range(101)]
    with pytest.raises(StatementRefused) as refused:
        validate_batch(batch)
    assert refused.value.rule == "batch.size"
    assert len(validate_batch(batch[:100])) == 100


def test_a_batch_refuses_a_repeated_puid_and_names_the_statement() -> None:
    with pytest.raises(StatementRefused) as refused:
        validate_batch([valid(puid="a"), valid(puid="b"), valid(puid="a")])
    assert (refused.value.rule, refused.value.field) == ("batch.puid_unique", "statement_2.puid")


def test_a_batch_names_the_invalid_statement() -> None:
    with pytest.raises(StatementRefused) as refused:
        validate_batch([valid(puid="a"), valid(puid="b", decision_facts="")])
    assert (refused.value.rule, refused.value.field) == (
        "decision_facts.required",
        "statement_1.decision_facts",
    )


# --- personal data ----------------------------------------------------------------------------------

PERSONAL = [
    ("Call +33 6 12 34 56 78 for more.", PiiKind.PHONE),
    ("Call +44 20 7946 0958.", PiiKind.PHONE),
    ("Call +1-202-555-0143 now", PiiKind.PHONE),
    ("Call +49 (0)30 1234567", PiiKind.PHONE),
    ("Call 0044 20 7946 0958", PiiKind.PHONE),
    ("Call +683 4002 (Niue, seven digits)", PiiKind.PHONE),
    ("Call 030 123456", PiiKind.PHONE),
    ("Call 06 12 34 56 78", PiiKind.PHONE),
    ("Call 06.12.34.56.78", PiiKind.PHONE),
    ("Call 0612345678", PiiKind.PHONE),
    ("Call (555) 123-4567", PiiKind.PHONE),
    ("Write to alice.smith+promo@example.org today", PiiKind.EMAIL),
    ("Write to ALICE@Mail.Example.COM", PiiKind.EMAIL),
    ("Posted by @alice in the channel", PiiKind.HANDLE),
    ("Ask @bob_99.", PiiKind.HANDLE),
    ("Posted by @alice:example.org in the room", PiiKind.MATRIX_ID),
    ("@bob:matrix.example.org:8448 wrote", PiiKind.MATRIX_ID),
    ("Logged in from 192.0.2.15 twice", PiiKind.IPV4),
    ("Logged in from 10.0.0.1", PiiKind.IPV4),
    ("Logged in from 2001:db8::8a2e:370:7334", PiiKind.IPV6),
    ("Logged in from [2001:db8:0:0:0:0:0:1]", PiiKind.IPV6),
    ("Logged in from fe80::1%eth0", PiiKind.IPV6),
    ("Logged in from ::ffff:192.0.2.1", PiiKind.IPV6),
]
ORDINARY = [
    "Posted on 2026-12-01 at 10:30:00 UTC.",
    "Posted on 01/12/2026 and again on 3.12.2026 12 times.",
    "Offered for EUR 1,299.00 (or 12 500 EUR, or $15.99).",
    "Under article 17 and Art. 17(1)(b) of Regulation (EU) 2022/2065.",
    "Directive 2011/93/EU, § 184b StGB, case C-123/45.",
    "See https://example.org/terms#section-4 and https://example.org/policies/spam?lang=en.",
    "Meet @ 5pm, between 12:30 and 14:45, version 1.2.3.",
    "The message was forwarded to 250 groups within 3 hours.",
]


@pytest.mark.parametrize(("text", "kind"), PERSONAL)
def test_personal_data_is_found(text: str, kind: PiiKind) -> None:
    assert find_personal_data(text)[0] is kind


@pytest.mark.parametrize(("text", "kind"), PERSONAL)
@pytest.mark.parametrize(
    "field",
    [
        "decision_facts",
        "incompatible_content_ground",
        "incompatible_content_explanation",
        "source_identity",
    ],
)
def test_personal_data_in_free_text_is_refused_without_echoing_it(
    text: str, kind: PiiKind, field: str
) -> None:
    with pytest.raises(StatementRefused) as refused:
        validate_statement(valid(**{field: text}))
    assert (refused.value.rule, refused.value.field, refused.value.kind) == ("no_personal_data", field, kind)
    assert str(kind) in str(refused.value)
    for word in text.split():
        if any(c.isdigit() for c in word) or "@" in word:
            assert word.strip(".[]") not in str(refused.value)


@pytest.mark.parametrize(
    "changes",
    [
        {
            "decision_visibility": (DecisionVisibility.OTHER,),
            "decision_visibility_other": "Hidden from @carol",
        },
        {
            "decision_monetary": DecisionMonetary.OTHER,
            "decision_monetary_other": "Payout to bob@example.org held",
        },
        {**ILLEGAL, "illegal_content_legal_ground": "Reported by +33 6 12 34 56 78"},
        {**ILLEGAL, "illegal_content_explanation": "Posted from 192.0.2.15"},
        {"content_type": (ContentType.OTHER,), "content_type_other": "Voice note of @dave:example.org"},
        {"category_specification_other": "Spam from 2001:db8::1"},
        {"decision_ground_reference_url": "https://alice@example.org/terms"},
    ],
)
def test_every_free_text_field_is_searched_for_personal_data(changes: dict[str, Any]) -> None:
    with pytest.raises(StatementRefused) as refused:
        validate_statement(valid(**changes))
    assert refused.value.rule == "no_personal_data"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_accepted(text: str) -> None:
    assert find_personal_data(text) == ()
    validate_statement(valid(decision_facts=text, incompatible_content_explanation=text))


# --- the builder ------------------------------------------------------------------------------------


def decision(**changes: Any) -> ModerationDecision:
    base = ModerationDecision(
        puid="sor-2026-000042",
        restrictions=frozenset({Restriction.REMOVE}),
        category=DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH,
        keywords=(DsaKeyword.HATE_SPEECH,),
        ground=DecisionGround.ILLEGAL_CONTENT,
        ground_text="§ 130 StGB (incitement to hatred)",
        explanation="The message called for violence against a group for its religion.",
        facts="A message posted on 2026-11-30 in a public channel of 12 000 members.",
        source=CaseSource.USER_NOTICE,
        automated_detection=False,
        automated_decision=AutomatedDecision.NOT_AUTOMATED,
        content_types=(ContentKind.TEXT,),
        content_date=date(2026, 11, 30),
        application_date=date(2026, 12, 1),
    )
    return replace(base, **changes)


RESTRICTION_SETS = [
    frozenset(combo)
    for size in (1, 2)
    for combo in itertools.combinations(sorted(Restriction), size)
    if not {Restriction.SUSPEND, Restriction.TERMINATE} <= set(combo)
] + [frozenset({Restriction.REMOVE, Restriction.TERMINATE, Restriction.LABEL})]
GROUNDS = [
    {"ground": DecisionGround.ILLEGAL_CONTENT},
    {
        "ground": DecisionGround.INCOMPATIBLE_CONTENT,
        "ground_text": "Terms of service, section 3 (hate)",
        "tos_url": "https://example.org/terms#section-3",
        "also_illegal": True,
    },
    {
        "ground": DecisionGround.INCOMPATIBLE_CONTENT,
        "ground_text": "Terms of service, section 3",
        "also_illegal": None,
    },
]
SOURCES = [
    {"source": CaseSource.USER_NOTICE},
    {"source": CaseSource.TRUSTED_FLAGGER, "source_identity": "Stichting Offlimits"},
    {
        "source": CaseSource.OWN_INITIATIVE,
        "automated_detection": True,
        "automated_decision": AutomatedDecision.FULLY,
        "source_identity": "hash bank",
    },
    {"source": CaseSource.AUTHORITY_ORDER, "source_identity": "Order of the Paris court, case 26/123"},
    {
        "source": CaseSource.OWN_INITIATIVE,
        "automated_detection": True,
        "automated_decision": AutomatedDecision.PARTIALLY,
    },
]
CONTENT = [
    {"content_types": (ContentKind.TEXT,)},
    {"content_types": (ContentKind.IMAGE, ContentKind.FILE), "content_language": "FR"},
    {"content_types": (ContentType.SYNTHETIC_MEDIA, ContentKind.VIDEO), "account_type": AccountType.BUSINESS},
]


def _geo(restrictions: frozenset[Restriction]) -> dict[str, Any]:
    return {"territorial_scope": ("de", "AT")} if Restriction.GEO_RESTRICT in restrictions else {}


@pytest.mark.parametrize("restrictions", RESTRICTION_SETS, ids=lambda r: "+".join(sorted(r)))
@pytest.mark.parametrize("ground", GROUNDS, ids=["illegal", "tos-url", "tos"])
@pytest.mark.parametrize("source", SOURCES, ids=["notice", "flagger", "auto", "order", "partly"])
@pytest.mark.parametrize("content", CONTENT, ids=["text", "image-file", "synthetic"])
def test_every_builder_combination_validates_and_serialises_with_the_databases_fields(
    restrictions: frozenset[Restriction],
    ground: dict[str, Any],
    source: dict[str, Any],
    content: dict[str, Any],
) -> None:
    statement = build_statement(
        decision(restrictions=restrictions, **ground, **source, **content, **_geo(restrictions))
    )
    assert validate_statement(statement) is statement
    body = json.loads(to_json_line(statement))
    assert set(body) <= set(REFERENCE_FIELDS)
    assert set(body) >= ALWAYS | {"territorial_scope"}
    assert set(body) & {"decision_visibility", "decision_monetary", "decision_provision", "decision_account"}
    illegal = ground["ground"] is DecisionGround.ILLEGAL_CONTENT
    assert ("illegal_content_legal_ground" in body) is illegal
    assert ("incompatible_content_ground" in body) is not illegal
    assert (
        body["source_type"]
        == {
            CaseSource.USER_NOTICE: "SOURCE_ARTICLE_16",
            CaseSource.TRUSTED_FLAGGER: "SOURCE_TRUSTED_FLAGGER",
            CaseSource.OWN_INITIATIVE: "SOURCE_VOLUNTARY",
            CaseSource.AUTHORITY_ORDER: "SOURCE_TYPE_OTHER_NOTIFICATION",
        }[source["source"]]
    )
    assert body["automated_detection"] == ("Yes" if source.get("automated_detection") else "No")
    assert body["content_date"] == "2026-11-30"
    assert body["application_date"] == "2026-12-01"


@pytest.mark.parametrize(
    ("restriction", "field", "value"),
    [
        (Restriction.REMOVE, "decision_visibility", ["DECISION_VISIBILITY_CONTENT_REMOVED"]),
        (Restriction.DISABLE, "decision_visibility", ["DECISION_VISIBILITY_CONTENT_DISABLED"]),
        (Restriction.GEO_RESTRICT, "decision_visibility", ["DECISION_VISIBILITY_CONTENT_DISABLED"]),
        (Restriction.DEMOTE, "decision_visibility", ["DECISION_VISIBILITY_CONTENT_DEMOTED"]),
        (Restriction.LABEL, "decision_visibility", ["DECISION_VISIBILITY_CONTENT_LABELLED"]),
        (Restriction.AGE_RESTRICT, "decision_visibility", ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"]),
        (Restriction.SUSPEND, "decision_account", "DECISION_ACCOUNT_SUSPENDED"),
        (Restriction.TERMINATE, "decision_account", "DECISION_ACCOUNT_TERMINATED"),
    ],
)
def test_each_restriction_maps_to_its_decision_field(
    restriction: Restriction, field: str, value: object
) -> None:
    restrictions = frozenset({restriction})
    body = to_json(build_statement(decision(restrictions=restrictions, **_geo(restrictions))))
    assert body[field] == value
    decisions = {"decision_visibility", "decision_monetary", "decision_provision", "decision_account"}
    assert set(body) & decisions == {field}


def test_a_geo_restriction_states_its_scope_and_others_the_whole_eea() -> None:
    geo = to_json(
        build_statement(
            decision(restrictions=frozenset({Restriction.GEO_RESTRICT}), territorial_scope=("de", "AT"))
        )
    )
    assert geo["territorial_scope"] == ["AT", "DE"]
    assert to_json(build_statement(decision()))["territorial_scope"] == EEA


def test_a_geo_restriction_without_scope_or_outside_the_eea_is_refused() -> None:
    with pytest.raises(StatementRefused) as refused:
        build_statement(decision(restrictions=frozenset({Restriction.GEO_RESTRICT})))
    assert (refused.value.rule, refused.value.field) == (
        "territorial_scope.geo_restriction",
        "territorial_scope",
    )
    with pytest.raises(StatementRefused) as refused:
        build_statement(
            decision(restrictions=frozenset({Restriction.GEO_RESTRICT}), territorial_scope=("DE", "US"))
        )
    assert refused.value.rule == "territorial_scope.allowed"


def test_termination_supersedes_suspension_and_a_suspension_carries_its_end() -> None:
    both = frozenset({Restriction.SUSPEND, Restriction.TERMINATE})
    body = to_json(build_statement(decision(restrictions=both, account_restriction_end=date(2027, 1, 1))))
    assert body["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    assert "end_date_account_restriction" not in body
    body = to_json(
        build_statement(
            decision(restrictions=frozenset({Restriction.SUSPEND}), account_restriction_end=date(2027, 1, 1))
        )
    )
    assert body["end_date_account_restriction"] == "2027-01-01"
    assert "decision_visibility" not in body


def test_the_builder_refuses_what_the_database_would() -> None:
    with pytest.raises(StatementRefused) as refused:
        build_statement(decision(restrictions=frozenset()))
    assert refused.value.rule == "decision.at_least_one"
    with pytest.raises(StatementRefused) as refused:
        build_statement(decision(ground_text=""))
    assert refused.value.rule == "illegal_content_legal_ground.required"
    with pytest.raises(StatementRefused) as refused:
        build_statement(decision(ground=DecisionGround.INCOMPATIBLE_CONTENT, ground_text=" "))
    assert refused.value.rule == "incompatible_content_ground.required"
    with pytest.raises(StatementRefused) as refused:
        build_statement(decision(facts="Reported by alice@example.org"))
    assert (refused.value.rule, refused.value.kind) == ("no_personal_data", PiiKind.EMAIL)
    with pytest.raises(StatementRefused) as refused:
        build_statement(
            decision(application_date=date(2026, 12, 1), visibility_restriction_end=date(2026, 11, 1))
        )
    assert refused.value.rule == "end_date_visibility_restriction.not_before_application"


def test_the_builder_states_a_file_as_other_content_and_the_keyword_other() -> None:
    body = to_json(
        build_statement(
            decision(
                content_types=(ContentKind.FILE,), keywords=(DsaKeyword.OTHER,), keyword_other="Coded slur"
            )
        )
    )
    assert body["content_type"] == ["CONTENT_TYPE_OTHER"]
    assert body["content_type_other"]
    assert body["category_specification"] == ["KEYWORD_OTHER"]
    assert body["category_specification_other"] == "Coded slur"


def test_the_builder_drops_source_identity_for_own_initiative() -> None:
    statement = build_statement(decision(source=CaseSource.OWN_INITIATIVE, source_identity="hash bank"))
    assert statement.source_identity is None
    assert statement.source_type == "SOURCE_VOLUNTARY"


WORDS = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzÄéß ,;()-"), max_size=200)


@given(WORDS)
def test_text_without_digits_or_at_signs_is_never_personal_data(text: str) -> None:
    assert find_personal_data(text) == ()


@given(
    WORDS,
    st.from_regex(r"[a-z][a-z0-9.]{0,10}[a-z0-9]@[a-z]{2,10}\.(org|com|eu)", fullmatch=True),
    WORDS,
)
def test_an_email_anywhere_in_text_is_found(before: str, address: str, after: str) -> None:
    assert PiiKind.EMAIL in find_personal_data(f"{before} {address} {after}")


@given(st.ip_addresses().filter(lambda a: not a.is_unspecified), WORDS)  # "::" and 0.0.0.0 name nobody
def test_an_ip_address_anywhere_in_text_is_found(address: IPv4Address | IPv6Address, text: str) -> None:
    kinds = find_personal_data(f"{text} {address} {text}")
    assert kinds[:1] in {(PiiKind.IPV4,), (PiiKind.IPV6,)}
