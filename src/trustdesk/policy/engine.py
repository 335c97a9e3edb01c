"""The policy engine: what the platform should do with one lawful request, and why.

:func:`recommend` is a pure function of the request's facts, its instrument (from the catalogue), the
policy (jurisdictions and principles) and the catalogue's version: no ORM, no web, no wall clock.
Lookups of the targets happen before, outside the engine; their results arrive as facts. The same input
always gives the same output, and the rules fire in a fixed order:

======  ==========================================================================================
J1-J3   the jurisdiction: unknown (escalate), exited (refuse, nothing else is considered),
        restricted (escalate; the rest is still computed for the reviewer)
I1, I2  the instrument: recognised for that country (else refuse); issuer kind among its issuers
E1, E2  the emergency procedure: invoked (E1), or claimed on an instrument that has none (E2)
F1      required fields (plus the emergency ones) present, else clarify
V1      the instrument only permits disclosure (voluntary)
P<n>    principles, by the ids in principles.toml: judicial order, suspect confirmation and their
        emergency waiver, voluntary disclosure, preservation, removals (executed, or escalated),
        categories, fields
C1-C4   per requested category: compellable (C1), issuer competent for it (C2), offence threshold
        not met (C3) or met (C4)
T1, T2  targets: none found (refuse), some not found (partial); D1: data not held (refuse)
O1      nothing requested can be given: refuse
N1, K1  conditions on a disclosure: enforcing-authority notification (N1), callback (K1)
======  ==========================================================================================

The outcome is the most severe one any rule asks for, in the order refuse > escalate > clarify >
partial > comply; a refusal empties the allowed categories. For a production, information or
preservation order: every requested category allowed is comply, some is partial, none is refuse.
"""

from __future__ import annotations

from collections.abc import Mapping

from trustdesk.lawful.catalogue import Instrument
from trustdesk.policy.categories import category_rules, conditions, target_rules
from trustdesk.policy.decision import Decision
from trustdesk.policy.gates import (
    disclosure_gate,
    emergency_rules,
    field_rules,
    instrument_rules,
    jurisdiction_rules,
    removal_rules,
)
from trustdesk.policy.rules import PolicySet
from trustdesk.policy.rules import PrincipleKey as Key
from trustdesk.policy.values import Ground, Outcome, Recommendation, RequestFacts, RuleFired
from trustdesk.policy.wording import category_list, cite, join
from trustdesk.vocabulary import DataCategory, InstrumentKind

__all__ = ["Ground", "Outcome", "Recommendation", "RequestFacts", "RuleFired", "recommend"]


def recommend(
    facts: RequestFacts, instrument: Instrument, policy: PolicySet, catalogue_version: str
) -> Recommendation:
    """Recommend what to do with a request, naming every rule that fired (see the module docstring)."""
    if facts.instrument is not instrument.code:
        raise ValueError(f"the facts are about {facts.instrument}, but the instrument is {instrument.code}")
    d = Decision()
    p = policy.principles

    def result(
        allowed: frozenset[DataCategory], fields: Mapping[DataCategory, frozenset[str]]
    ) -> Recommendation:
        return Recommendation(
            outcome=d.outcome(),
            allowed_categories=allowed,
            allowed_fields=fields,
            grounds=d.grounds(),
            rules_fired=tuple(d.rules),
            policy_version=policy.version,
            catalogue_version=catalogue_version,
        )

    jurisdiction = policy.jurisdiction(facts.agency_country)
    if not jurisdiction_rules(d, facts.agency_country, jurisdiction):
        return result(frozenset(), {})
    issuer_competent = instrument_rules(d, facts, instrument, jurisdiction)
    emergency = emergency_rules(d, facts, instrument)
    field_rules(d, facts, instrument, emergency)

    if instrument.kind is InstrumentKind.REMOVAL:
        removal_rules(d, instrument, policy)
        category_rules(d, facts, instrument, policy, issuer_competent=issuer_competent, disclosing=False)
        target_rules(d, facts, instrument)
        return result(frozenset(), {})

    preservation = instrument.kind is InstrumentKind.PRESERVATION
    disclosing = not preservation or p.preservation_limited_by_disclosure
    if disclosing:
        gate_open = disclosure_gate(d, facts, instrument, policy, emergency)
    else:
        gate_open = True
        principle = p.principle(Key.PRESERVATION)
        d.fire(
            principle.id,
            None,
            f"{cite(principle)}; {instrument.code} orders preservation only, so principles "
            f"{join(p.disclosure_ids)} do not limit it.",
        )
    allowed = category_rules(
        d, facts, instrument, policy, issuer_competent=issuer_competent, disclosing=disclosing
    )
    if facts.requested_categories:
        if not allowed:
            verb = "preserved" if preservation else "disclosed"
            d.fire(
                "O1",
                None,
                f"None of the requested categories ({category_list(facts.requested_categories)}) can be "
                f"{verb} under {instrument.code} by the rules above, so the request is refused.",
                Outcome.REFUSE,
            )
        elif allowed != facts.requested_categories:
            d.votes.append(Outcome.PARTIAL)
    target_rules(d, facts, instrument)
    if not gate_open or d.outcome() is Outcome.REFUSE:
        return result(frozenset(), {})
    fields = conditions(d, instrument, policy, allowed, disclosing=disclosing)
    return result(allowed, fields)
