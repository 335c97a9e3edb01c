"""What the policy engine tells the reviewer when it refuses or escalates, sentence for sentence (written to
kill the mutants of ``recommend`` in policy/engine.py).

The sentences of the rules fired are the recommendation's reasons: the reviewer reads them, and they are
kept with the decision. They must name the country asked about, and say whether the data could not be
preserved or could not be disclosed.
"""

from __future__ import annotations

from tests.unit.test_policy_engine import CONTENT, NONE, TRAFFIC, decide, facts, rule_ids, sentences
from trustdesk.policy.engine import Ground, Outcome
from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind


def test_an_unknown_jurisdiction_is_named_in_the_question_to_the_senior_reviewer() -> None:
    result = decide(facts(InstrumentCode.NATIONAL_COURT_ORDER, agency_country="CH"))
    assert result.outcome is Outcome.ESCALATE
    assert sentences(result, "J1") == [
        (
            "The platform's policy has no entry for CH, so a senior reviewer must decide whether to answer "
            "authorities of CH at all."
        )
    ]


def test_a_production_order_for_nothing_disclosable_is_refused_by_o1_saying_disclosed() -> None:
    # A 2-year offence: EPOC traffic data is not compellable (C3), and P1 would not disclose it anyway.
    result = decide(
        facts(InstrumentCode.EU_EPOC, requested_categories=frozenset({TRAFFIC}), offence_max_penalty_years=2)
    )
    assert result.outcome is Outcome.REFUSE
    assert result.allowed_categories == NONE
    assert rule_ids(result)[-1] == "O1"  # no other rule refuses: O1 does
    assert sentences(result, "O1") == [
        (
            "None of the requested categories (traffic) can be disclosed under EU_EPOC by the rules above, "
            "so the request is refused."
        )
    ]


def test_a_preservation_order_for_nothing_preservable_is_refused_by_o1_saying_preserved() -> None:
    # A police EPOC-PR needs a prosecutor's, judge's or court's validation (I3); without it no category
    # can be preserved.
    requested = frozenset(DataCategory)
    result = decide(
        facts(InstrumentCode.EU_EPOC_PR, issuer_kind=IssuerKind.POLICE, requested_categories=requested)
    )
    assert result.outcome is Outcome.REFUSE
    assert Ground.VALIDATION_MISSING in result.grounds
    assert sentences(result, "O1") == [
        (
            "None of the requested categories (subscriber, identification, traffic and content) can be "
            "preserved under EU_EPOC_PR by the rules above, so the request is refused."
        )
    ]


def test_o1_does_not_refuse_what_the_law_compels_and_a_principle_withholds() -> None:
    # EPOC content data for a 5-year offence: compelled by law, withheld by P1: counsel decides, no O1.
    result = decide(facts(InstrumentCode.EU_EPOC, requested_categories=frozenset({CONTENT})))
    assert result.outcome is Outcome.ESCALATE
    assert result.allowed_categories == NONE
    assert [conflict.categories for conflict in result.conflicts] == [{CONTENT}]
    assert "O1" not in rule_ids(result)
