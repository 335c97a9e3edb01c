"""The policy engine against the law as it is (issue 9): each test names the article it encodes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_policy_engine import (
    ALL_CATEGORIES,
    ALL_FIELDS,
    BASIC,
    CATALOGUE,
    CONTENT,
    NONE,
    PERMISSIVE,
    POLICIES,
    POLICY,
    PRESERVATIONS,
    TRAFFIC,
    WITH_DATA,
    any_facts,
    decide,
    facts,
    rule_ids,
    sentences,
    with_principles,
)
from trustdesk.policy.admissibility import Admissibility, admissibility
from trustdesk.policy.engine import Clarification, Ground, Outcome, PeriodPart, RequestFacts
from trustdesk.policy.rules import EmergencyWaiver, PolicySet
from trustdesk.vocabulary import InstrumentCode, InstrumentKind, IssuerKind

EPOC = InstrumentCode.EU_EPOC
AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)

# ------------------------------------------------------------------------ data not held, future periods


@pytest.mark.parametrize("code", WITH_DATA)
def test_data_not_held_is_refused_as_a_de_facto_impossibility(code: InstrumentCode) -> None:
    """e-Evidence Annex III (de facto impossibility: data not held); D1 fires on the connector's fact."""
    result = decide(facts(code, data_held=False))
    assert result.outcome is Outcome.REFUSE
    assert result.grounds[-1] is Ground.DATA_NOT_HELD
    assert rule_ids(result)[-1] == "D1"
    assert result.allowed_categories == NONE


@pytest.mark.parametrize("code", WITH_DATA)
def test_a_period_wholly_after_receipt_is_refused(code: InstrumentCode) -> None:
    """e-Evidence Art. 3(8): only data stored at receipt is evidence; a future period is interception."""
    result = decide(facts(code, period_after_receipt=PeriodPart.WHOLLY))
    assert result.outcome is Outcome.REFUSE
    assert result.grounds[-1] is Ground.DATA_NOT_HELD
    (sentence,) = sentences(result, "D2")
    assert "lies wholly after its receipt" in sentence
    assert "Art. 3(8)" in sentence
    assert "interception" in sentence
    assert result.allowed_categories == NONE


@pytest.mark.parametrize("code", WITH_DATA)
def test_a_period_partly_after_receipt_is_answered_up_to_receipt(code: InstrumentCode) -> None:
    """e-Evidence Art. 3(8): the part of the period up to receipt is answered, the rest is not held."""
    lawful = decide(facts(code))
    result = decide(facts(code, period_after_receipt=PeriodPart.PARTLY))
    assert result.outcome is Outcome.PARTIAL
    assert Ground.DATA_NOT_HELD in result.grounds
    assert result.allowed_categories == lawful.allowed_categories
    (sentence,) = sentences(result, "D2")
    assert "covers only the part of the period up to receipt" in sentence


@pytest.mark.parametrize("code", PRESERVATIONS)
def test_a_preservation_of_a_future_period_says_preserved(code: InstrumentCode) -> None:
    (sentence,) = sentences(decide(facts(code, period_after_receipt=PeriodPart.WHOLLY)), "D2")
    assert "evidence that can be preserved" in sentence
    assert sentence.endswith("so there is nothing to preserve.")


def test_removals_ignore_the_data_facts() -> None:
    result = decide(
        facts(InstrumentCode.EU_TCO_REMOVAL, data_held=False, period_after_receipt=PeriodPart.WHOLLY)
    )
    assert result.outcome is Outcome.COMPLY
    assert not {"D1", "D2"} & set(rule_ids(result))


# ------------------------------------------------------------------------------- enforcing authority


def traffic_epoc(**changes: object) -> RequestFacts:
    return facts(EPOC, requested_categories=BASIC | {TRAFFIC}, **changes)  # type: ignore[arg-type]


def test_traffic_data_waits_for_the_enforcing_authority() -> None:
    """e-Evidence Art. 8(1), 10(2): traffic and content data are delivered after notification."""
    result = decide(traffic_epoc(), PERMISSIVE)
    assert result.outcome is Outcome.COMPLY
    assert result.enforcing_notification is True
    assert result.as_dict()["enforcing_notification"] is True
    (sentence,) = sentences(result, "N1")
    assert "Art. 8(1)" in sentence
    assert (
        "at the end of the deadline unless the enforcing authority has raised a ground for refusal"
        in sentence
    )


def test_an_emergency_delivery_is_open_to_objection_for_96_hours() -> None:
    """e-Evidence Art. 10(4): after an emergency delivery the enforcing authority may object within 96 h."""
    result = decide(traffic_epoc(emergency=True), PERMISSIVE)
    assert result.enforcing_notification is True
    assert "may object within 96 hours" in sentences(result, "N1")[0]


def test_no_notification_when_offence_and_person_are_in_the_issuing_state() -> None:
    """e-Evidence Art. 8(2): no notification when the offence was committed, and the person resides, in
    the issuing State."""
    result = decide(
        traffic_epoc(offence_in_issuing_state=True, person_resides_in_issuing_state=True), PERMISSIVE
    )
    assert "N1" not in rule_ids(result)
    assert result.enforcing_notification is False
    (sentence,) = sentences(result, "N2")
    assert "Art. 8(2)" in sentence
    assert "delivery does not wait" in sentence


@pytest.mark.parametrize(("offence", "resides"), [(True, False), (False, True)])
def test_half_the_exception_still_needs_a_notification(offence: bool, resides: bool) -> None:
    """e-Evidence Art. 8(2): both conditions are needed."""
    result = decide(
        traffic_epoc(offence_in_issuing_state=offence, person_resides_in_issuing_state=resides), PERMISSIVE
    )
    assert result.enforcing_notification is True
    assert "N2" not in rule_ids(result)


def test_subscriber_and_identification_data_need_no_notification() -> None:
    """e-Evidence Art. 8(1) lists traffic (other than identification) and content data only."""
    result = decide(facts(EPOC), PERMISSIVE)
    assert result.enforcing_notification is False
    assert not {"N1", "N2"} & set(rule_ids(result))


def test_a_conflicting_category_counts_for_the_notification() -> None:
    """If counsel decides to deliver the conflicting content, the enforcing authority must be notified."""
    result = decide(facts(EPOC, requested_categories=BASIC | {CONTENT}))
    assert result.outcome is Outcome.ESCALATE
    assert result.enforcing_notification is True


# ------------------------------------------------------------------------------- clarification kinds


def test_an_incomplete_order_suspends_the_legal_clock() -> None:
    """e-Evidence Art. 10(5): only an incomplete or erroneous order suspends the deadline."""
    result = decide(facts(EPOC, present_fields=ALL_FIELDS - {"legal_basis"}))
    assert result.outcome is Outcome.CLARIFY
    assert result.clarification is Clarification.INCOMPLETE_ORDER
    assert result.as_dict()["clarification"] == "incomplete_order"


def test_the_desks_own_question_keeps_the_legal_clock_running() -> None:
    """e-Evidence Art. 10(5): the provider's question about a complete order does not suspend the deadline."""
    result = decide(facts(EPOC, suspect_confirmed=False))
    assert result.outcome is Outcome.CLARIFY
    assert result.clarification is Clarification.DESK_QUESTION
    assert "does not stop the legal deadline" in sentences(result, "P4")[0]


def test_an_incomplete_order_wins_over_the_desks_question() -> None:
    result = decide(facts(EPOC, suspect_confirmed=False, present_fields=ALL_FIELDS - {"legal_basis"}))
    assert result.clarification is Clarification.INCOMPLETE_ORDER


def test_no_question_no_clarification() -> None:
    assert decide(facts(EPOC)).clarification is None


# ------------------------------------------------------------------------------------ conflicts


def test_a_voluntary_instrument_is_only_limited_by_the_principles() -> None:
    """18 U.S.C. 2702(b)(8), (c)(4) permit but do not compel: nothing to conflict with."""
    request = facts(InstrumentCode.US_EMERGENCY, requested_categories=ALL_CATEGORIES)
    result = decide(request)
    assert result.outcome is Outcome.PARTIAL
    assert result.conflicts == ()
    police = decide(dataclasses.replace(request, issuer_kind=IssuerKind.POLICE))
    assert police.outcome is Outcome.REFUSE
    assert Ground.PRINCIPLE_CONFLICT not in police.grounds


def test_a_conflict_yields_to_a_refusal_on_a_ground_of_law() -> None:
    result = decide(facts(EPOC, requested_categories=BASIC | {CONTENT}, targets_found=0))
    assert result.outcome is Outcome.REFUSE
    assert result.conflicts == ()


@st.composite
def lawful_facts(draw: st.DrawFn) -> RequestFacts:
    """Any facts, with the facts issue 9 added drawn too."""
    request = draw(any_facts())
    pending = draw(st.booleans())
    return dataclasses.replace(
        request,
        validator_kind=None if pending else draw(st.none() | st.sampled_from(IssuerKind)),
        validation_pending=pending,
        by_information_system=draw(st.booleans()),
        sentence_months=draw(st.none() | st.integers(0, 24)),
        offence_in_issuing_state=draw(st.booleans()),
        person_resides_in_issuing_state=draw(st.booleans()),
        period_after_receipt=draw(st.sampled_from(PeriodPart)),
        legal_representative_country=draw(st.none() | st.sampled_from(["BE", "FR", "US"])),
        received_at=draw(st.none() | st.sampled_from([datetime(2026, 8, 1, tzinfo=UTC), AT])),
    )


@settings(max_examples=300)
@given(request=lawful_facts(), policy=POLICIES)
def test_properties_of_refusals_conflicts_and_clarifications(
    request: RequestFacts, policy: PolicySet
) -> None:
    result = decide(request, policy)
    instrument = CATALOGUE.get(request.instrument)
    if result.outcome is Outcome.REFUSE:
        assert result.allowed_categories == NONE
        assert result.conflicts == ()
        assert result.enforcing_notification is False
        assert result.clarification is None
    if instrument.voluntary or instrument.kind is InstrumentKind.REMOVAL:
        assert result.conflicts == ()
        assert Ground.PRINCIPLE_CONFLICT not in result.grounds
    if result.conflicts:
        assert result.outcome is Outcome.ESCALATE
        for conflict in result.conflicts:
            assert conflict.categories
            assert conflict.categories <= request.requested_categories
            assert not conflict.categories & result.allowed_categories
    if result.outcome is Outcome.CLARIFY:
        assert result.clarification is not None
    if result.enforcing_notification:
        assert instrument.enforcing_notification


@settings(max_examples=200)
@given(request=lawful_facts(), part=st.sampled_from(PeriodPart))
def test_a_future_period_never_adds_anything(request: RequestFacts, part: PeriodPart) -> None:
    """Art. 3(8): a period wholly or partly after receipt only takes away, compared with none."""
    before = decide(dataclasses.replace(request, period_after_receipt=PeriodPart.NONE))
    after = decide(dataclasses.replace(request, period_after_receipt=part))
    assert after.allowed_categories <= before.allowed_categories


# ------------------------------------------------------------------------------------- admissibility


def admit(country: str, code: InstrumentCode, at: datetime = AT) -> Admissibility | None:
    return admissibility(country, code, at, POLICY, CATALOGUE)


def test_a_french_police_unit_cannot_send_a_us_subpoena() -> None:
    """18 U.S.C. 2703(c)(2) is a US instrument: the law does not make it available in France."""
    answer = admit("FR", InstrumentCode.US_SUBPOENA)
    assert answer is not None
    assert answer.ground is Ground.INSTRUMENT_NOT_APPLICABLE
    assert answer.alternatives == (
        InstrumentCode.EU_EPOC,
        InstrumentCode.EU_DSA_ART10,
        InstrumentCode.NATIONAL_COURT_ORDER,
    )
    assert answer.sentence.startswith(
        "Per the instrument catalogue, US_SUBPOENA (Subpoena for basic subscriber information) cannot be "
        "used by an authority of France (FR)"
    )
    assert "may use EU_EPOC (European Production Order Certificate (EPOC)), EU_DSA_ART10" in answer.sentence

    result = decide(facts(InstrumentCode.US_SUBPOENA, agency_country="FR"))
    assert result.outcome is Outcome.REFUSE
    assert result.grounds == (Ground.INSTRUMENT_NOT_APPLICABLE,)
    assert sentences(result, "I1") == [answer.sentence]


def test_denmark_takes_no_part_in_the_e_evidence_regulation() -> None:
    """Regulation (EU) 2023/1543, recital 96: Denmark is not bound by it."""
    answer = admit("DK", InstrumentCode.EU_EPOC)
    assert answer is not None
    assert answer.ground is Ground.INSTRUMENT_NOT_APPLICABLE
    assert answer.alternatives == (InstrumentCode.EU_DSA_ART10, InstrumentCode.NATIONAL_COURT_ORDER)


def test_a_uk_authority_cannot_send_a_tco_removal_order() -> None:
    """Regulation (EU) 2021/784 binds Member State authorities only; the UK left the EU."""
    answer = admit("GB", InstrumentCode.EU_TCO_REMOVAL)
    assert answer is not None
    assert answer.ground is Ground.INSTRUMENT_NOT_APPLICABLE
    assert answer.alternatives == ()
    assert "recognises no other instrument of this kind" in answer.sentence


def test_an_epoc_from_the_legal_representatives_own_state_is_a_national_order() -> None:
    """e-Evidence Art. 1(1), 3: an EPOC goes to an addressee in another Member State."""
    result = decide(facts(InstrumentCode.EU_EPOC, agency_country="BE", legal_representative_country="BE"))
    assert result.outcome is Outcome.REFUSE
    assert result.grounds[0] is Ground.INSTRUMENT_NOT_APPLICABLE
    (sentence,) = sentences(result, "I1")
    assert "goes only to an addressee in another Member State" in sentence
    assert "EU_EPOC (" not in sentence.split("instead")[0].split("may use")[-1]
    elsewhere = decide(facts(InstrumentCode.EU_EPOC, agency_country="FR", legal_representative_country="BE"))
    assert elsewhere.outcome is Outcome.COMPLY


def test_admissibility_reads_where_the_legal_representative_sits() -> None:
    """The EU legal representative sits in BE (policies/jurisdictions.toml)."""
    answer = admit("BE", InstrumentCode.EU_EPOC)
    assert answer is not None
    assert answer.ground is Ground.INSTRUMENT_NOT_APPLICABLE
    assert answer.alternatives == (InstrumentCode.EU_DSA_ART10, InstrumentCode.NATIONAL_COURT_ORDER)
    assert "the platform's legal representative sits in BE" in answer.sentence


def test_an_instrument_before_it_applies_is_not_applicable() -> None:
    """e-Evidence Art. 34: the Regulation applies from 18 August 2026."""
    before = datetime(2026, 8, 17, 23, 0, tzinfo=UTC)
    answer = admit("FR", InstrumentCode.EU_EPOC, before)
    assert answer is not None
    assert answer.ground is Ground.INSTRUMENT_NOT_APPLICABLE
    assert "applies only from 2026-08-18, and this order was received on 2026-08-17" in answer.sentence
    assert answer.alternatives == (InstrumentCode.EU_DSA_ART10, InstrumentCode.NATIONAL_COURT_ORDER)
    assert admit("FR", InstrumentCode.EU_EPOC, datetime(2026, 8, 18, tzinfo=UTC)) is None

    result = decide(facts(InstrumentCode.EU_EPOC, received_at=before))
    assert result.grounds == (Ground.INSTRUMENT_NOT_APPLICABLE,)
    assert decide(facts(InstrumentCode.EU_EPOC, received_at=AT)).outcome is Outcome.COMPLY


def test_the_policy_not_listing_an_instrument_is_not_recognised() -> None:
    answer = admit("US", InstrumentCode.NATIONAL_COURT_ORDER)
    assert answer is not None
    assert answer.ground is Ground.INSTRUMENT_NOT_RECOGNISED
    assert InstrumentCode.US_WARRANT in answer.alternatives
    assert InstrumentCode.US_PRESERVATION not in answer.alternatives  # another family


def test_an_exited_jurisdiction_is_exited_and_nothing_else() -> None:
    answer = admit("RU", InstrumentCode.EU_EPOC)
    assert answer is not None
    assert answer.ground is Ground.JURISDICTION_EXITED
    assert answer.alternatives == ()


@pytest.mark.parametrize("code", list(InstrumentCode))
def test_every_lawful_variant_is_admissible(code: InstrumentCode) -> None:
    request = facts(code)
    assert admit(request.agency_country, code) is None


def test_admissibility_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        admit("FR", InstrumentCode.EU_EPOC, datetime(2026, 12, 2))  # noqa: DTZ001


# ---------------------------------------------------------------------------------- validated orders


def police_epoc(**changes: object) -> RequestFacts:
    base = facts(EPOC, issuer_kind=IssuerKind.POLICE, requested_categories=ALL_CATEGORIES)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_police_order_validated_by_a_prosecutor_is_a_prosecutors_order() -> None:
    """e-Evidence Art. 4(1)(b), 4(2)(b): competent as the validator, so subscriber and identification only
    (a prosecutor cannot order traffic or content data)."""
    result = decide(police_epoc(validator_kind=IssuerKind.PROSECUTOR), PERMISSIVE)
    assert result.outcome is Outcome.PARTIAL
    assert result.allowed_categories == BASIC
    assert result.grounds == (Ground.ISSUER_NOT_COMPETENT,)
    assert "validated by a public prosecutor" in sentences(result, "I3")[0]
    for sentence in sentences(result, "C2"):
        assert "this order was issued by a police authority and validated by a public prosecutor" in sentence
    # P3 looks at the validator: a validated order is a judicial authority's order.
    default = decide(police_epoc(validator_kind=IssuerKind.PROSECUTOR, requested_categories=BASIC))
    assert default.outcome is Outcome.COMPLY
    assert "P3" not in rule_ids(default)


def test_a_police_order_validated_by_a_judge_may_reach_content() -> None:
    """e-Evidence Art. 4(2)(b): traffic and content orders validated by a judge, court or investigating
    judge."""
    result = decide(police_epoc(validator_kind=IssuerKind.INVESTIGATING_JUDGE), PERMISSIVE)
    assert result.outcome is Outcome.COMPLY
    assert result.allowed_categories == ALL_CATEGORIES


@pytest.mark.parametrize("validator", [None, IssuerKind.POLICE, IssuerKind.REGULATOR])
def test_an_order_that_needs_validation_and_has_none_is_refused(validator: IssuerKind | None) -> None:
    """e-Evidence Art. 4(1)(b)-(3)(b): without a validation by a competent authority the order is invalid."""
    result = decide(police_epoc(validator_kind=validator))
    assert result.outcome is Outcome.REFUSE
    assert Ground.VALIDATION_MISSING in result.grounds
    assert Ground.ISSUER_NOT_COMPETENT not in result.grounds
    assert (
        "is valid only once validated by a public prosecutor, an investigating judge or a court"
        in (sentences(result, "I3")[0])
    )


def test_an_emergency_order_may_be_validated_within_48_hours() -> None:
    """e-Evidence Art. 4(5): validation within 48 hours; if refused the data must not be used."""
    request = police_epoc(emergency=True, validation_pending=True, requested_categories=BASIC)
    waiving = with_principles(emergency_waives=frozenset(EmergencyWaiver))
    result = decide(request, waiving)
    assert result.outcome is Outcome.COMPLY
    assert result.allowed_categories == BASIC
    (sentence,) = sentences(result, "I3")
    assert "within 48 hours (Art. 4(5))" in sentence
    assert "the data must not be used" in sentence
    # Without the emergency, a pending validation is a missing one.
    ordinary = decide(dataclasses.replace(request, emergency=False), waiving)
    assert ordinary.outcome is Outcome.REFUSE
    assert Ground.VALIDATION_MISSING in ordinary.grounds


def test_an_emergency_awaiting_validation_still_meets_the_judicial_order_principle() -> None:
    """Default P5 does not waive P3: the police order awaiting validation is a conflict for counsel."""
    result = decide(police_epoc(emergency=True, validation_pending=True, requested_categories=BASIC))
    assert result.outcome is Outcome.ESCALATE
    assert Ground.PRINCIPLE_CONFLICT in result.grounds


def test_validated_and_pending_at_once_is_impossible() -> None:
    with pytest.raises(ValueError, match="validated"):
        police_epoc(validator_kind=IssuerKind.COURT, validation_pending=True)


# ----------------------------------------------------------------------------------- listed offences


def content_epoc(**changes: object) -> RequestFacts:
    base = facts(EPOC, requested_categories=frozenset({CONTENT}), offence_max_penalty_years=1)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "offence", ["fraud_non_cash_payment", "child_sexual_abuse", "attacks_information_systems"]
)
def test_listed_offences_need_an_information_system(offence: str) -> None:
    """e-Evidence Art. 5(4)(b), (c): wholly or partly by means of an information system."""
    without = decide(content_epoc(listed_offence=offence), PERMISSIVE)
    assert CONTENT not in without.allowed_categories
    (sentence,) = sentences(without, "C3")
    assert (
        f"{offence} counts as a listed offence only when committed wholly or partly by means of an "
        in sentence
    )
    assert "which the order does not state" in sentence
    with_system = decide(content_epoc(listed_offence=offence, by_information_system=True), PERMISSIVE)
    assert with_system.allowed_categories == {CONTENT}


def test_terrorism_needs_no_information_system() -> None:
    """e-Evidence Art. 5(4)(c): terrorist offences (Directive 2017/541) qualify whatever the means."""
    assert decide(content_epoc(listed_offence="terrorism"), PERMISSIVE).allowed_categories == {CONTENT}


def test_an_order_to_execute_a_short_sentence_is_refused_for_every_category() -> None:
    """e-Evidence Art. 5(3): a custodial sentence or detention order of at least 4 months."""
    result = decide(facts(EPOC, sentence_months=3))
    assert result.outcome is Outcome.REFUSE
    assert len(sentences(result, "C5")) == len(BASIC)
    assert "at least 4 months (Art. 5(3)), and this one is of 3" in sentences(result, "C5")[0]
    assert decide(facts(EPOC, sentence_months=4)).outcome is Outcome.COMPLY


def test_a_sentence_for_traffic_or_content_needs_a_qualifying_offence() -> None:
    """e-Evidence Art. 5(4)(d): the sentence must be for an offence meeting the category's threshold."""
    short = decide(content_epoc(sentence_months=12, offence_max_penalty_years=2), PERMISSIVE)
    assert CONTENT not in short.allowed_categories
    assert "Art. 5(4)(d)" in sentences(short, "C3")[0]
    serious = decide(content_epoc(sentence_months=12, offence_max_penalty_years=5), PERMISSIVE)
    assert serious.allowed_categories == {CONTENT}
