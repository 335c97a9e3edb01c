"""The policy engine: for every instrument a lawful request and each unlawful variant, and properties."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.lawful.catalogue import Instrument, RequestField
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.policy.engine import (
    Conflict,
    Ground,
    Outcome,
    Recommendation,
    RequestFacts,
    RuleFired,
    recommend,
)
from trustdesk.policy.policy_files import load_policies
from trustdesk.policy.rules import (
    EmergencyWaiver,
    Jurisdiction,
    JurisdictionStatus,
    PolicySet,
    PrincipleKey,
    Principles,
)
from trustdesk.vocabulary import DataCategory, InstrumentCode, InstrumentKind, IssuerKind

CATALOGUE = load_catalogue()
POLICY = load_policies(catalogue=CATALOGUE)
ALL_FIELDS = frozenset(field.value for field in RequestField)
ALL_CATEGORIES = frozenset(DataCategory)
SUB, ID, TRAFFIC, CONTENT = DataCategory
BASIC = frozenset({SUB, ID})
NONE: frozenset[DataCategory] = frozenset()


@dataclass(frozen=True)
class Lawful:
    """A request each instrument must accept under the shipped policy, and what it should allow."""

    country: str
    issuer: IssuerKind
    categories: frozenset[DataCategory]
    allowed: frozenset[DataCategory]
    grounds: tuple[Ground, ...] = ()
    suspect_confirmed: bool = True


LAWFUL: Mapping[InstrumentCode, Lawful] = {
    InstrumentCode.EU_EPOC: Lawful("FR", IssuerKind.INVESTIGATING_JUDGE, BASIC, BASIC),
    # Preserving is not disclosing (P7): every category the instrument compels is preserved.
    InstrumentCode.EU_EPOC_PR: Lawful("DE", IssuerKind.COURT, ALL_CATEGORIES, ALL_CATEGORIES),
    InstrumentCode.EU_TCO_REMOVAL: Lawful("BE", IssuerKind.POLICE, NONE, NONE),
    InstrumentCode.EU_DSA_ART9: Lawful("NL", IssuerKind.REGULATOR, NONE, NONE),
    InstrumentCode.EU_DSA_ART10: Lawful("IT", IssuerKind.PROSECUTOR, BASIC, BASIC),
    InstrumentCode.US_SUBPOENA: Lawful("US", IssuerKind.PROSECUTOR, BASIC, BASIC),
    InstrumentCode.US_2703D: Lawful("US", IssuerKind.COURT, BASIC, BASIC),
    InstrumentCode.US_WARRANT: Lawful("US", IssuerKind.COURT, BASIC, BASIC),
    InstrumentCode.US_PRESERVATION: Lawful("US", IssuerKind.POLICE, ALL_CATEGORIES, ALL_CATEGORIES),
    # An emergency waives the suspect confirmation (P5); the disclosure is voluntary and needs a callback.
    InstrumentCode.US_EMERGENCY: Lawful(
        "US",
        IssuerKind.PROSECUTOR,
        BASIC,
        BASIC,
        (Ground.VOLUNTARY_DISCLOSURE, Ground.CALLBACK_REQUIRED),
        suspect_confirmed=False,
    ),
    InstrumentCode.NATIONAL_COURT_ORDER: Lawful("GB", IssuerKind.COURT, BASIC, BASIC),
    InstrumentCode.IN_IT_RULES_3_1_J: Lawful("IN", IssuerKind.COURT, BASIC, BASIC),
}
CODES = list(InstrumentCode)
DISCLOSING = [
    c for c in CODES if CATALOGUE.get(c).kind in {InstrumentKind.PRODUCTION, InstrumentKind.INFORMATION}
]
WITH_DATA = [c for c in CODES if CATALOGUE.get(c).kind is not InstrumentKind.REMOVAL]
REMOVALS = [c for c in CODES if CATALOGUE.get(c).kind is InstrumentKind.REMOVAL]
PRESERVATIONS = [c for c in CODES if CATALOGUE.get(c).kind is InstrumentKind.PRESERVATION]
SENTENCE = re.compile(r"[A-Z0-9].*\.")


def facts(code: InstrumentCode, **changes: Any) -> RequestFacts:
    """The lawful request for ``code``, with ``changes``."""
    lawful = LAWFUL[code]
    base = RequestFacts(
        instrument=code,
        agency_country=lawful.country,
        issuer_kind=lawful.issuer,
        emergency=False,
        requested_categories=lawful.categories,
        offence_max_penalty_years=5,
        listed_offence=None,
        suspect_confirmed=lawful.suspect_confirmed,
        present_fields=ALL_FIELDS,
        targets_total=2,
        targets_found=2,
    )
    return dataclasses.replace(base, **changes)


def decide(request: RequestFacts, policy: PolicySet = POLICY) -> Recommendation:
    return recommend(
        request, CATALOGUE.get(request.instrument), policy, CATALOGUE.version, catalogue=CATALOGUE
    )


def needs_validation(code: InstrumentCode) -> frozenset[IssuerKind]:
    """Kinds that may issue ``code`` only with a validation (e-Evidence Art. 4(1)(b)-(3)(b))."""
    validation = CATALOGUE.get(code).validation
    return frozenset() if validation is None else validation.issuers


def rule_ids(recommendation: Recommendation) -> list[str]:
    return [rule.rule_id for rule in recommendation.rules_fired]


def sentences(recommendation: Recommendation, rule_id: str) -> list[str]:
    return [rule.sentence for rule in recommendation.rules_fired if rule.rule_id == rule_id]


def with_principles(**changes: Any) -> PolicySet:
    return dataclasses.replace(POLICY, principles=dataclasses.replace(POLICY.principles, **changes))


def with_jurisdiction(code: str, **changes: Any) -> PolicySet:
    jurisdictions = dict(POLICY.jurisdictions)
    jurisdictions[code] = dataclasses.replace(jurisdictions[code], **changes)
    return dataclasses.replace(POLICY, jurisdictions=jurisdictions)


PERMISSIVE = with_principles(
    disclosable_categories=ALL_CATEGORIES,
    disclosable_fields={c: frozenset({"everything"}) for c in DataCategory},
)
"""Every category disclosable: shows what the law alone (the catalogue) allows."""


def test_every_instrument_has_a_lawful_variant() -> None:
    assert set(LAWFUL) == set(InstrumentCode)


# ------------------------------------------------------------------------------------ lawful variants


@pytest.mark.parametrize("code", CODES)
def test_the_lawful_variant_is_complied_with(code: InstrumentCode) -> None:
    expected = LAWFUL[code]
    result = decide(facts(code))

    assert result.outcome is Outcome.COMPLY, result.rules_fired
    assert result.allowed_categories == expected.allowed
    assert result.grounds == expected.grounds
    assert result.policy_version == POLICY.version
    assert result.catalogue_version == CATALOGUE.version
    if code in DISCLOSING:
        assert result.allowed_fields == {c: POLICY.principles.disclosable_fields[c] for c in expected.allowed}
        assert sentences(result, "P2"), "field minimisation is explained"
    else:
        assert result.allowed_fields == {}


def test_the_lawful_variants_explain_the_special_cases() -> None:
    emergency = decide(facts(InstrumentCode.US_EMERGENCY))
    assert rule_ids(emergency) == ["E1", "V1", "P5", "P2", "P2", "K1"]
    assert "call back the supervisor" in sentences(emergency, "K1")[0]
    assert "voluntary" in sentences(emergency, "V1")[0]

    preservation = decide(facts(InstrumentCode.EU_EPOC_PR))
    assert rule_ids(preservation) == ["P7"]
    assert "P1, P2, P3 and P4 do not limit it" in sentences(preservation, "P7")[0]

    removal = decide(facts(InstrumentCode.EU_TCO_REMOVAL))
    assert rule_ids(removal) == ["P8"]
    assert "EU_TCO_REMOVAL orders the removal of content" in sentences(removal, "P8")[0]


# ----------------------------------------------------------------------------------- wrong issuer kind


@pytest.mark.parametrize(
    ("code", "issuer"),
    [
        (c, k)
        for c in CODES
        for k in IssuerKind
        if k not in CATALOGUE.get(c).issuers and k not in needs_validation(c)
    ],
    ids=str,
)
def test_an_issuer_who_cannot_issue_the_instrument_is_refused(
    code: InstrumentCode, issuer: IssuerKind
) -> None:
    result = decide(facts(code, issuer_kind=issuer))

    assert result.outcome is Outcome.REFUSE
    assert result.allowed_categories == NONE
    assert result.allowed_fields == {}
    assert Ground.ISSUER_NOT_COMPETENT in result.grounds
    (sentence,) = sentences(result, "I2")
    assert sentence.startswith(f"{code} may be issued only by ")


def test_a_prosecutor_cannot_order_traffic_or_content_under_an_epoc() -> None:
    result = decide(
        facts(InstrumentCode.EU_EPOC, issuer_kind=IssuerKind.PROSECUTOR, requested_categories=ALL_CATEGORIES),
        PERMISSIVE,
    )
    assert result.outcome is Outcome.PARTIAL
    assert result.allowed_categories == BASIC
    assert result.grounds == (Ground.ISSUER_NOT_COMPETENT,)
    assert sentences(result, "C2") == [
        (
            f"Under EU_EPOC, {category} data may be ordered only by an investigating judge or a court, "
            "and this order comes from a public prosecutor, so it is not disclosed."
        )
        for category in ("traffic", "content")
    ]


@pytest.mark.parametrize("code", [InstrumentCode.EU_DSA_ART10, InstrumentCode.US_SUBPOENA])
def test_a_binding_police_order_conflicts_with_the_judicial_order_principle(code: InstrumentCode) -> None:
    """Issue 9 item 10: the platform's principles are no ground for refusal in law; a binding order that
    the law lets a police authority issue is a conflict for counsel, not a silent refusal."""
    result = decide(facts(code, issuer_kind=IssuerKind.POLICE))

    assert result.outcome is Outcome.ESCALATE
    assert result.allowed_categories == NONE  # what the principles allow
    assert result.allowed_fields == {}
    assert result.grounds == (Ground.PRINCIPLE_CONFLICT,)
    assert result.conflicts == (Conflict("P3", PrincipleKey.JUDICIAL_ORDER, BASIC),)
    assert sentences(result, "P3") == [
        (
            "P3: Data is disclosed only on an order from a judicial authority: a court, an investigating "
            f"judge or a public prosecutor; this order comes from a police authority, but {code} is binding "
            "and lets that authority compel the subscriber and identification data requested, so the "
            "conflict goes to a senior reviewer and counsel chooses whether to comply, to refuse on a ground "
            "the law lists (for an EPOC, through Annex III) or to challenge the order."
        )
    ]
    assert result.as_dict()["conflicts"] == [
        {
            "principle_id": "P3",
            "principle_key": "judicial_order",
            "categories": ["subscriber", "identification"],
        }
    ]


def test_a_police_order_the_law_does_not_let_it_compel_is_refused_by_the_judicial_order_principle() -> None:
    # US_SUBPOENA: the police may issue it, but nothing requested is compellable by it: no conflict.
    result = decide(
        facts(InstrumentCode.US_SUBPOENA, issuer_kind=IssuerKind.POLICE, requested_categories={CONTENT})
    )
    assert result.outcome is Outcome.REFUSE
    assert result.conflicts == ()
    assert Ground.PRINCIPLE_LIMITS_DISCLOSURE in result.grounds
    assert sentences(result, "P3")[0].endswith(
        "this order comes from a police authority, so nothing is disclosed."
    )


def test_a_police_emergency_request_is_refused_unless_the_emergency_waives_the_judicial_order() -> None:
    request = facts(InstrumentCode.US_EMERGENCY, issuer_kind=IssuerKind.POLICE)
    assert decide(request).outcome is Outcome.REFUSE

    waiving = with_principles(emergency_waives=frozenset(EmergencyWaiver))
    result = decide(request, waiving)
    assert result.outcome is Outcome.COMPLY
    assert result.allowed_categories == BASIC
    assert rule_ids(result).count("P5") == 2  # judicial order and suspect confirmation waived


# -------------------------------------------------------------------------- category not compellable


@pytest.mark.parametrize(
    ("code", "category"),
    [(c, cat) for c in CODES for cat in DataCategory if cat not in CATALOGUE.get(c).categories],
    ids=str,
)
def test_a_category_the_instrument_cannot_compel_is_dropped(
    code: InstrumentCode, category: DataCategory
) -> None:
    lawful = LAWFUL[code]
    result = decide(facts(code, requested_categories=lawful.categories | {category}))

    assert category not in result.allowed_categories
    assert result.allowed_categories == lawful.allowed
    assert Ground.CATEGORY_NOT_COMPELLABLE in result.grounds
    (sentence,) = sentences(result, "C1")
    assert sentence.startswith(f"{code} cannot compel {category} data")
    # A removal still removes; a data request gives the rest.
    assert result.outcome is (Outcome.COMPLY if code in REMOVALS else Outcome.PARTIAL)


# ------------------------------------------------------------------------------ offence threshold


THRESHOLDS = [
    (c, cat)
    for c in CODES
    for cat, rule in CATALOGUE.get(c).categories.items()
    if rule.min_penalty_years is not None
]


def test_some_instrument_has_an_offence_threshold() -> None:
    assert (InstrumentCode.EU_EPOC, CONTENT) in THRESHOLDS


@pytest.mark.parametrize(("code", "category"), THRESHOLDS, ids=str)
def test_an_offence_below_the_threshold_drops_the_category(
    code: InstrumentCode, category: DataCategory
) -> None:
    rule = CATALOGUE.get(code).categories[category]
    assert rule.min_penalty_years is not None
    below = rule.min_penalty_years - 1
    request = facts(code, requested_categories=BASIC | {category}, offence_max_penalty_years=below)

    for policy in (POLICY, PERMISSIVE):
        result = decide(request, policy)
        assert result.outcome is Outcome.PARTIAL
        assert result.allowed_categories == BASIC
        assert Ground.OFFENCE_THRESHOLD_NOT_MET in result.grounds
        (sentence,) = sentences(result, "C3")
        assert f"at least {rule.min_penalty_years} years" in sentence
        assert f"at most {below} years" in sentence
    # The law alone decides under the permissive policy: the threshold is the only ground.
    assert decide(request, PERMISSIVE).grounds == (Ground.OFFENCE_THRESHOLD_NOT_MET,)


@pytest.mark.parametrize(
    ("penalty", "listed", "allowed"),
    [
        (3, None, True),
        (10, None, True),
        (2, None, False),
        (None, None, False),
        (1, "terrorism", True),
        (None, "child_sexual_abuse", True),
        (None, "attacks_information_systems", True),
        (1, "tax_evasion", False),
        (5, "tax_evasion", True),
    ],
)
def test_the_threshold_is_a_penalty_or_a_listed_offence(
    penalty: int | None, listed: str | None, allowed: bool
) -> None:
    """e-Evidence Art. 5(4)(a)-(c) (committed by means of an information system where the list says so)."""
    request = facts(
        InstrumentCode.EU_EPOC,
        requested_categories=frozenset({CONTENT}),
        offence_max_penalty_years=penalty,
        listed_offence=listed,
        by_information_system=True,
    )
    result = decide(request, PERMISSIVE)
    assert (CONTENT in result.allowed_categories) is allowed
    fired = rule_ids(result)
    assert ("C4" in fired) is allowed
    assert ("C3" in fired) is not allowed
    if not allowed and penalty is None:
        assert "the request states no maximum penalty" in sentences(result, "C3")[0]
    if not allowed and listed is not None:
        assert f"{listed} is not a listed offence" in sentences(result, "C3")[0]


# --------------------------------------------------------------------------------- exited jurisdiction


@pytest.mark.parametrize("country", ["RU", "IR"])
@pytest.mark.parametrize("code", CODES)
def test_nothing_is_answered_in_an_exited_jurisdiction(code: InstrumentCode, country: str) -> None:
    result = decide(facts(code, agency_country=country, requested_categories=ALL_CATEGORIES))

    assert result.outcome is Outcome.REFUSE
    assert result.allowed_categories == NONE
    assert result.allowed_fields == {}
    assert result.grounds == (Ground.JURISDICTION_EXITED,)
    assert rule_ids(result) == ["J2"]
    assert sentences(result, "J2")[0].startswith(f"The platform left {POLICY.jurisdictions[country].name}")


# ---------------------------------------------------------------------------------- principle limits


PRINCIPLE_LIMITED = [
    (c, cat)
    for c in DISCLOSING
    for cat, rule in CATALOGUE.get(c).categories.items()
    if cat not in POLICY.principles.disclosable_categories and LAWFUL[c].issuer in rule.issuers
]
BINDING_LIMITED = [(c, cat) for c, cat in PRINCIPLE_LIMITED if not CATALOGUE.get(c).voluntary]
VOLUNTARY_LIMITED = [(c, cat) for c, cat in PRINCIPLE_LIMITED if CATALOGUE.get(c).voluntary]


def test_principle_limits_apply_to_the_big_instruments() -> None:
    assert {(InstrumentCode.US_WARRANT, CONTENT), (InstrumentCode.EU_EPOC, CONTENT)} <= set(PRINCIPLE_LIMITED)
    assert (InstrumentCode.US_2703D, TRAFFIC) in PRINCIPLE_LIMITED


@pytest.mark.parametrize(("code", "category"), VOLUNTARY_LIMITED, ids=str)
def test_a_category_the_principles_forbid_under_a_voluntary_instrument_is_dropped(
    code: InstrumentCode, category: DataCategory
) -> None:
    """A voluntary disclosure (18 U.S.C. 2702) is the platform's choice: the principles simply limit it."""
    result = decide(facts(code, requested_categories=BASIC | {category}))

    assert result.outcome is Outcome.PARTIAL
    assert result.allowed_categories == BASIC
    assert result.conflicts == ()
    assert Ground.PRINCIPLE_LIMITS_DISCLOSURE in result.grounds
    (sentence,) = sentences(result, "P1")
    assert f"the {category} data requested under {code} is therefore not disclosed" in sentence


@pytest.mark.parametrize(("code", "category"), BINDING_LIMITED, ids=str)
def test_a_category_the_principles_forbid_under_a_binding_order_is_a_conflict(
    code: InstrumentCode, category: DataCategory
) -> None:
    """Issue 9 item 10 (e-Evidence Annex III; the provider's principles are not a ground for refusal):
    the law compels the category, the principles withhold it: escalate for counsel."""
    result = decide(facts(code, requested_categories=BASIC | {category}))

    assert result.outcome is Outcome.ESCALATE
    assert result.allowed_categories == BASIC  # what the principles allow
    assert category not in result.allowed_fields
    assert Ground.PRINCIPLE_CONFLICT in result.grounds
    assert Ground.PRINCIPLE_LIMITS_DISCLOSURE not in result.grounds
    assert result.conflicts == (Conflict("P1", PrincipleKey.DISCLOSABLE_CATEGORIES, frozenset({category})),)
    (sentence,) = sentences(result, "P1")
    assert sentence.startswith("P1: The platform discloses only subscriber and identification data")
    assert f"but {code} is binding and lawfully compels the {category} data requested" in sentence
    assert "counsel chooses whether to comply, to refuse on a ground the law lists" in sentence
    # The law alone would allow it.
    assert (
        category
        in decide(facts(code, requested_categories=BASIC | {category}), PERMISSIVE).allowed_categories
    )


def test_content_alone_under_a_warrant_is_a_conflict_not_a_refusal() -> None:
    result = decide(facts(InstrumentCode.US_WARRANT, requested_categories=frozenset({CONTENT})))
    assert result.outcome is Outcome.ESCALATE
    assert result.allowed_categories == NONE
    assert result.grounds == (Ground.PRINCIPLE_CONFLICT,)
    assert rule_ids(result) == ["P1"]
    assert result.conflicts == (Conflict("P1", PrincipleKey.DISCLOSABLE_CATEGORIES, frozenset({CONTENT})),)


def test_a_category_the_principles_forbid_that_the_law_does_not_compel_is_only_a_limit() -> None:
    # A 2-year offence: EPOC traffic data is not compellable (Art. 5(4)(a)), so P1 is no conflict.
    result = decide(
        facts(InstrumentCode.EU_EPOC, requested_categories=BASIC | {TRAFFIC}, offence_max_penalty_years=2)
    )
    assert result.outcome is Outcome.PARTIAL
    assert result.conflicts == ()
    assert result.grounds == (Ground.OFFENCE_THRESHOLD_NOT_MET, Ground.PRINCIPLE_LIMITS_DISCLOSURE)


@pytest.mark.parametrize("code", PRESERVATIONS)
def test_preservation_is_not_limited_by_the_disclosure_principles_unless_they_say_so(
    code: InstrumentCode,
) -> None:
    request = facts(code, suspect_confirmed=False, requested_categories=frozenset({CONTENT}))
    preserved = decide(request)
    assert preserved.outcome is Outcome.COMPLY
    assert preserved.allowed_categories == {CONTENT}
    assert preserved.allowed_fields == {}  # preserved whole

    # When the principles limit preservation, a binding preservation order for content conflicts.
    limited = decide(request, with_principles(preservation_limited_by_disclosure=True))
    assert limited.outcome is Outcome.ESCALATE
    assert limited.allowed_categories == NONE
    assert Ground.PRINCIPLE_CONFLICT in limited.grounds
    assert "P7" not in rule_ids(limited)


def test_a_prosecutor_may_preserve_every_category() -> None:
    """e-Evidence Art. 4(3), 6(3): an EPOC-PR from a prosecutor, every category, no offence threshold."""
    result = decide(
        facts(
            InstrumentCode.EU_EPOC_PR,
            issuer_kind=IssuerKind.PROSECUTOR,
            requested_categories=ALL_CATEGORIES,
            offence_max_penalty_years=None,
        )
    )
    assert result.outcome is Outcome.COMPLY
    assert result.allowed_categories == ALL_CATEGORIES


def test_preservation_keeps_the_issuer_checks() -> None:
    result = decide(facts(InstrumentCode.EU_EPOC_PR, issuer_kind=IssuerKind.REGULATOR))
    assert result.outcome is Outcome.REFUSE
    assert Ground.VALIDATION_MISSING in result.grounds


def test_voluntary_disclosure_can_be_switched_off() -> None:
    result = decide(facts(InstrumentCode.US_EMERGENCY), with_principles(voluntary_disclosure_allowed=False))
    assert result.outcome is Outcome.REFUSE
    assert result.grounds == (Ground.PRINCIPLE_LIMITS_DISCLOSURE,)
    assert "V1" not in rule_ids(result)


def test_removals_go_to_a_reviewer_when_the_principles_say_so() -> None:
    result = decide(facts(InstrumentCode.EU_TCO_REMOVAL), with_principles(removals_allowed=False))
    assert result.outcome is Outcome.ESCALATE
    assert result.grounds == (Ground.PRINCIPLE_REQUIRES_REVIEW,)


# -------------------------------------------------------------------------------- missing field


MISSING = [
    (c, name, emergency)
    for c in CODES
    for emergency in (False, True)
    if not emergency or CATALOGUE.get(c).supports_emergency
    for name in sorted(
        CATALOGUE.get(c).required_fields
        | (CATALOGUE.get(c).emergency_required_fields if emergency else frozenset())
    )
]


@pytest.mark.parametrize(("code", "name", "emergency"), MISSING, ids=str)
def test_a_missing_required_field_asks_for_clarification(
    code: InstrumentCode, name: str, emergency: bool
) -> None:
    result = decide(facts(code, emergency=emergency, present_fields=ALL_FIELDS - {name}))

    assert result.outcome is Outcome.CLARIFY
    assert Ground.MISSING_REQUIRED_FIELD in result.grounds
    (sentence,) = sentences(result, "F1")
    assert f"requires '{name}', which the request lacks" in sentence
    assert result.allowed_categories == LAWFUL[code].allowed  # for the reviewer, once clarified


def test_the_emergency_procedure_names_its_own_fields() -> None:
    request = facts(
        InstrumentCode.EU_EPOC, emergency=True, present_fields=ALL_FIELDS - {"emergency_justification"}
    )
    (sentence,) = sentences(decide(request), "F1")
    assert sentence.startswith("The emergency procedure of EU_EPOC requires 'emergency_justification'")
    ordinary = facts(InstrumentCode.EU_EPOC, present_fields=ALL_FIELDS - {"emergency_justification"})
    assert decide(ordinary).outcome is Outcome.COMPLY


def test_no_targets_or_no_categories_count_as_missing() -> None:
    no_targets = decide(facts(InstrumentCode.US_WARRANT, targets_total=0, targets_found=0))
    assert no_targets.outcome is Outcome.CLARIFY
    assert "'targets'" in sentences(no_targets, "F1")[0]
    no_categories = decide(facts(InstrumentCode.US_WARRANT, requested_categories=NONE))
    assert no_categories.outcome is Outcome.CLARIFY
    assert "'data_categories'" in sentences(no_categories, "F1")[0]


# ------------------------------------------------------------------------------- suspect confirmation


@pytest.mark.parametrize("code", CODES)
def test_an_unconfirmed_suspect_asks_for_clarification_where_disclosure_needs_it(
    code: InstrumentCode,
) -> None:
    result = decide(facts(code, suspect_confirmed=False))
    waived = CATALOGUE.get(code).voluntary  # the emergency-only instrument
    if code in DISCLOSING and not waived:
        assert result.outcome is Outcome.CLARIFY
        assert result.grounds == (Ground.SUSPECT_NOT_CONFIRMED,)
        assert result.allowed_categories == LAWFUL[code].allowed
        assert sentences(result, "P4")[0].startswith("P4: The order must confirm that the person")
    else:
        assert result.outcome is Outcome.COMPLY
        assert Ground.SUSPECT_NOT_CONFIRMED not in result.grounds


WITHOUT_EMERGENCY = next(c for c in DISCLOSING if not CATALOGUE.get(c).supports_emergency)


def test_an_emergency_epoc_waives_the_suspect_confirmation_but_an_ordinary_court_order_cannot() -> None:
    epoc = decide(facts(InstrumentCode.EU_EPOC, emergency=True, suspect_confirmed=False))
    assert epoc.outcome is Outcome.COMPLY
    assert rule_ids(epoc)[:2] == ["E1", "P5"]

    national = decide(facts(WITHOUT_EMERGENCY, emergency=True, suspect_confirmed=False))
    assert national.outcome is Outcome.CLARIFY
    assert rule_ids(national)[:2] == ["E2", "P4"]
    assert "no emergency procedure" in sentences(national, "E2")[0]

    strict = with_principles(emergency_waives=frozenset())
    assert decide(facts(InstrumentCode.EU_EPOC, emergency=True, suspect_confirmed=False), strict).outcome is (
        Outcome.CLARIFY
    )


def test_without_the_suspect_principle_nothing_is_asked() -> None:
    lax = with_principles(require_suspect_confirmed=False)
    assert decide(facts(InstrumentCode.US_WARRANT, suspect_confirmed=False), lax).outcome is Outcome.COMPLY


# ----------------------------------------------------------------------------------- targets and data


@pytest.mark.parametrize("code", CODES)
def test_no_target_found_is_refused_and_some_is_partial(code: InstrumentCode) -> None:
    none = decide(facts(code, targets_total=3, targets_found=0))
    assert none.outcome is Outcome.REFUSE
    assert none.allowed_categories == NONE
    assert Ground.TARGET_NOT_FOUND in none.grounds
    assert sentences(none, "T1")[0].startswith(f"None of the 3 targets named in the {code} request was found")

    some = decide(facts(code, targets_total=3, targets_found=1))
    assert some.outcome is Outcome.PARTIAL
    assert some.allowed_categories == LAWFUL[code].allowed
    assert Ground.TARGET_NOT_FOUND in some.grounds
    assert sentences(some, "T2")[0].startswith(f"1 of the 3 targets named in the {code} request was found")


@pytest.mark.parametrize("code", CODES)
def test_data_not_held_is_refused(code: InstrumentCode) -> None:
    result = decide(facts(code, data_held=False))
    if code in REMOVALS:
        assert result.outcome is Outcome.COMPLY  # a removal is about content, not held data
        return
    assert result.outcome is Outcome.REFUSE
    assert result.grounds[-1] is Ground.DATA_NOT_HELD
    assert result.allowed_categories == NONE


# ---------------------------------------------------------------------------------- jurisdictions


@pytest.mark.parametrize("code", CODES)
def test_a_restricted_jurisdiction_is_escalated_with_the_allowed_categories(code: InstrumentCode) -> None:
    country = LAWFUL[code].country
    policy = with_jurisdiction(
        country, status=JurisdictionStatus.RESTRICTED, since=date(2026, 3, 1), reason="an open dispute"
    )
    result = decide(facts(code), policy)
    assert result.outcome is Outcome.ESCALATE
    assert result.grounds[0] is Ground.JURISDICTION_RESTRICTED
    assert result.allowed_categories == LAWFUL[code].allowed
    assert "since 2026-03-01 (reason: an open dispute)" in sentences(result, "J3")[0]


def test_an_unknown_jurisdiction_is_escalated_or_refused_per_the_catalogue() -> None:
    national = decide(facts(InstrumentCode.NATIONAL_COURT_ORDER, agency_country="CH"))
    assert national.outcome is Outcome.ESCALATE
    assert national.grounds == (Ground.JURISDICTION_UNKNOWN,)
    assert national.allowed_categories == BASIC

    epoc = decide(facts(InstrumentCode.EU_EPOC, agency_country="CH"))
    assert epoc.outcome is Outcome.REFUSE
    assert epoc.grounds == (Ground.JURISDICTION_UNKNOWN, Ground.INSTRUMENT_NOT_APPLICABLE)
    assert sentences(epoc, "I1")[0].startswith("Per the instrument catalogue, EU_EPOC")


def test_an_instrument_the_jurisdiction_does_not_recognise_is_refused() -> None:
    foreign = decide(facts(InstrumentCode.US_SUBPOENA, agency_country="FR"))
    assert foreign.outcome is Outcome.REFUSE
    assert foreign.grounds == (Ground.INSTRUMENT_NOT_APPLICABLE,)

    # The catalogue allows a national court order anywhere; the policy does not take it from the US.
    us = decide(facts(InstrumentCode.NATIONAL_COURT_ORDER, agency_country="US"))
    assert us.outcome is Outcome.REFUSE
    assert sentences(us, "I1") == [
        (
            "The platform's policy for United States (US) does not recognise NATIONAL_COURT_ORDER "
            "(National court order), so the request is refused; the authorities of United States (US) may "
            "use US_SUBPOENA (Subpoena for basic subscriber information), US_2703D (Court order for "
            "non-content records), US_WARRANT (Search warrant) or US_EMERGENCY (Emergency disclosure "
            "request) instead."
        )
    ]

    danish = decide(facts(InstrumentCode.EU_EPOC, agency_country="DK"))
    assert danish.outcome is Outcome.REFUSE
    assert danish.grounds == (Ground.INSTRUMENT_NOT_APPLICABLE,)


def test_a_jurisdiction_that_recognises_nothing_more_refuses() -> None:
    policy = with_jurisdiction("FR", instruments=frozenset({InstrumentCode.EU_TCO_REMOVAL}))
    assert decide(facts(InstrumentCode.EU_EPOC), policy).outcome is Outcome.REFUSE
    france: Jurisdiction = policy.jurisdictions["FR"]
    assert not france.recognises(InstrumentCode.EU_EPOC)


# ------------------------------------------------------------------------------------- precedence


def test_refuse_beats_escalate_beats_clarify_beats_partial() -> None:
    restricted = with_jurisdiction(
        "US", status=JurisdictionStatus.RESTRICTED, since=date(2026, 1, 1), reason="a dispute"
    )
    missing = ALL_FIELDS - {"legal_basis"}
    assert decide(facts(InstrumentCode.US_WARRANT, present_fields=missing, targets_found=1)).outcome is (
        Outcome.CLARIFY
    )
    assert decide(facts(InstrumentCode.US_WARRANT, present_fields=missing), restricted).outcome is (
        Outcome.ESCALATE
    )
    wrong_issuer = facts(InstrumentCode.US_WARRANT, present_fields=missing, issuer_kind=IssuerKind.POLICE)
    result = decide(wrong_issuer, restricted)
    assert result.outcome is Outcome.REFUSE
    assert result.grounds == (
        Ground.JURISDICTION_RESTRICTED,
        Ground.ISSUER_NOT_COMPETENT,
        Ground.MISSING_REQUIRED_FIELD,
        Ground.PRINCIPLE_LIMITS_DISCLOSURE,
    )


# --------------------------------------------------------------------------------- values and errors


def test_the_recommendation_is_json_ready() -> None:
    result = decide(facts(InstrumentCode.US_2703D, requested_categories=ALL_CATEGORIES, targets_found=1))
    document = result.as_dict()
    assert json.loads(json.dumps(document)) == document
    assert document["outcome"] == "escalate"  # the 2703(d) order compels traffic data: a P1 conflict
    assert document["allowed_categories"] == ["identification", "subscriber"]
    assert document["allowed_fields"] == {"identification": ["at", "ip", "port"], "subscriber": ["phone"]}
    # Categories are judged in a fixed order (subscriber, identification, traffic, content).
    assert document["grounds"] == [
        "principle_conflict",
        "category_not_compellable",
        "target_not_found",
    ]
    rules = document["rules_fired"]
    assert isinstance(rules, list)
    assert [rule["rule_id"] for rule in rules] == ["P1", "C1", "T2", "P2", "P2"]
    assert rules[1] == {
        "rule_id": "C1",
        "ground": "category_not_compellable",
        "sentence": "US_2703D cannot compel content data (it compels only subscriber, identification and "
        "traffic data), so the content data requested is not disclosed.",
    }
    assert document["policy_version"] == POLICY.version
    assert document["catalogue_version"] == CATALOGUE.version
    assert document["conflicts"] == [
        {"principle_id": "P1", "principle_key": "disclosable_categories", "categories": ["traffic"]}
    ]
    assert document["enforcing_notification"] is False
    assert document["clarification"] is None


def test_the_recommendation_is_immutable_and_hashable() -> None:
    result = decide(facts(InstrumentCode.EU_EPOC))
    with pytest.raises(TypeError):
        result.allowed_fields[SUB] = frozenset()  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcome = Outcome.REFUSE  # type: ignore[misc]
    assert hash(result) == hash(decide(facts(InstrumentCode.EU_EPOC)))
    plain = Recommendation(
        Outcome.COMPLY, BASIC, {SUB: {"phone"}}, (), (RuleFired("X", None, "X."),), "p", "c"
    )  # type: ignore[dict-item]
    assert plain.allowed_fields == {SUB: frozenset({"phone"})}
    assert hash(plain)


def test_facts_for_another_instrument_are_a_bug() -> None:
    with pytest.raises(ValueError, match="the facts are about EU_EPOC, but the instrument is US_WARRANT"):
        recommend(facts(InstrumentCode.EU_EPOC), CATALOGUE.get("US_WARRANT"), POLICY, CATALOGUE.version)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"agency_country": "fr"}, "agency_country"),
        ({"agency_country": "FRA"}, "agency_country"),
        ({"targets_found": 3}, "targets_found"),
        ({"targets_found": -1}, "targets_found"),
        ({"offence_max_penalty_years": -1}, "offence_max_penalty_years"),
        ({"present_fields": frozenset({"signature"})}, "unknown request fields signature"),
    ],
)
def test_impossible_facts_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        facts(InstrumentCode.EU_EPOC, **changes)


# --------------------------------------------------------------------------------------- properties

COUNTRIES = [*sorted(POLICY.jurisdictions), "CH", "JP"]
LISTED = ["terrorism", "child_sexual_abuse", "fraud_non_cash_payment", "tax_evasion"]


@st.composite
def any_facts(draw: st.DrawFn) -> RequestFacts:
    code = draw(st.sampled_from(CODES))
    total = draw(st.integers(0, 4))
    return RequestFacts(
        instrument=code,
        agency_country=draw(st.sampled_from(COUNTRIES)),
        issuer_kind=draw(st.sampled_from(IssuerKind)),
        emergency=draw(st.booleans()),
        requested_categories=draw(st.frozensets(st.sampled_from(DataCategory))),
        offence_max_penalty_years=draw(st.none() | st.integers(0, 20)),
        listed_offence=draw(st.none() | st.sampled_from(LISTED)),
        suspect_confirmed=draw(st.booleans()),
        present_fields=draw(st.just(ALL_FIELDS) | st.frozensets(st.sampled_from(sorted(ALL_FIELDS)))),
        targets_total=total,
        targets_found=draw(st.integers(0, total)),
        data_held=draw(st.booleans()),
    )


POLICIES = st.sampled_from([POLICY, PERMISSIVE, with_principles(emergency_waives=frozenset(EmergencyWaiver))])


@settings(max_examples=300)
@given(request=any_facts(), policy=POLICIES)
def test_the_same_facts_give_the_same_recommendation(request: RequestFacts, policy: PolicySet) -> None:
    first = decide(request, policy)
    again = decide(dataclasses.replace(request), policy)
    assert first == again
    assert first.as_dict() == again.as_dict()


@settings(max_examples=300)
@given(request=any_facts(), policy=POLICIES)
def test_invariants_of_every_recommendation(request: RequestFacts, policy: PolicySet) -> None:
    result = decide(request, policy)
    instrument: Instrument = CATALOGUE.get(request.instrument)

    assert result.allowed_categories <= request.requested_categories
    assert result.allowed_categories <= set(instrument.categories)
    assert set(result.allowed_fields) <= result.allowed_categories
    assert result.grounds == tuple(
        dict.fromkeys(r.ground for r in result.rules_fired if r.ground is not None)
    )
    assert result.rules_fired, "every decision is explained"
    for rule in result.rules_fired:
        assert SENTENCE.fullmatch(rule.sentence), rule.sentence
        assert not re.search(r"\.\s+[A-Z]", rule.sentence[:-1]), rule.sentence  # one sentence
    if result.outcome is Outcome.REFUSE:
        assert result.allowed_categories == NONE
        assert result.allowed_fields == {}
    if result.outcome in {Outcome.COMPLY, Outcome.PARTIAL} and instrument.kind is not InstrumentKind.REMOVAL:
        assert result.allowed_categories
    if result.outcome is Outcome.COMPLY and instrument.kind is not InstrumentKind.REMOVAL:
        assert result.allowed_categories == request.requested_categories
        assert request.targets_found == request.targets_total
    if instrument.kind is InstrumentKind.REMOVAL:
        assert result.allowed_categories == NONE
    disclosing = (
        instrument.kind is not InstrumentKind.PRESERVATION
        or policy.principles.preservation_limited_by_disclosure
    )
    if disclosing and instrument.kind is not InstrumentKind.REMOVAL:
        assert set(result.allowed_fields) == result.allowed_categories
        assert result.allowed_categories <= policy.principles.disclosable_categories
        for category, fields in result.allowed_fields.items():
            assert fields == policy.principles.disclosable_fields[category]
    jurisdiction = policy.jurisdiction(request.agency_country)
    if jurisdiction is None or jurisdiction.status is not JurisdictionStatus.ACTIVE:
        assert result.outcome in {Outcome.ESCALATE, Outcome.REFUSE}


@settings(max_examples=200)
@given(request=any_facts(), country=st.sampled_from(["RU", "IR"]))
def test_nothing_is_ever_allowed_for_an_exited_jurisdiction(request: RequestFacts, country: str) -> None:
    result = decide(dataclasses.replace(request, agency_country=country))
    assert result.outcome is Outcome.REFUSE
    assert result.allowed_categories == NONE
    assert result.grounds == (Ground.JURISDICTION_EXITED,)


@settings(max_examples=300)
@given(request=any_facts())
def test_content_is_never_disclosed_under_the_default_principles(request: RequestFacts) -> None:
    result = decide(request)
    assert CONTENT not in result.allowed_fields
    assert TRAFFIC not in result.allowed_fields
    if CATALOGUE.get(request.instrument).kind is not InstrumentKind.PRESERVATION:
        assert CONTENT not in result.allowed_categories
        assert TRAFFIC not in result.allowed_categories


@settings(max_examples=300)
@given(request=any_facts(), extra=st.sampled_from(DataCategory), policy=POLICIES)
def test_asking_for_more_never_takes_anything_away(
    request: RequestFacts, extra: DataCategory, policy: PolicySet
) -> None:
    smaller = decide(request, policy)
    larger = decide(
        dataclasses.replace(request, requested_categories=request.requested_categories | {extra}), policy
    )
    assert smaller.allowed_categories <= larger.allowed_categories
    for category in smaller.allowed_categories:
        assert larger.allowed_fields.get(category) == smaller.allowed_fields.get(category)


def test_principles_are_checked_when_built_by_hand() -> None:
    with pytest.raises(ValueError, match="disclosable_fields"):
        dataclasses.replace(POLICY.principles, disclosable_categories=ALL_CATEGORIES)
    principles: Principles = POLICY.principles
    assert principles.disclosure_ids == ("P1", "P2", "P3", "P4")
