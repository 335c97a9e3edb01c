"""The policy engine against the law as it is (issue 9): each test names the article it encodes."""

from __future__ import annotations

import dataclasses

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
    PRESERVATIONS,
    TRAFFIC,
    WITH_DATA,
    any_facts,
    decide,
    facts,
    rule_ids,
    sentences,
)
from trustdesk.policy.engine import Clarification, Ground, Outcome, PeriodPart, RequestFacts
from trustdesk.policy.rules import PolicySet
from trustdesk.vocabulary import InstrumentCode, InstrumentKind, IssuerKind

EPOC = InstrumentCode.EU_EPOC

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


@settings(max_examples=300)
@given(request=any_facts(), policy=POLICIES)
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
@given(request=any_facts(), part=st.sampled_from(PeriodPart))
def test_a_future_period_never_adds_anything(request: RequestFacts, part: PeriodPart) -> None:
    before = decide(request)
    after = decide(dataclasses.replace(request, period_after_receipt=part))
    assert after.allowed_categories <= before.allowed_categories
