"""The policy engine: what the platform should do with one lawful request, and why.

:func:`recommend` is a pure function of the request's facts, its instrument (from the catalogue), the
policy (jurisdictions and principles) and the catalogue's version: no ORM, no web, no wall clock.
Lookups of the targets happen before, outside the engine; their results arrive as facts. The same input
always gives the same output, and the rules fire in a fixed order:

======  ==========================================================================================
J1-J3   the jurisdiction: unknown (escalate), exited (refuse, nothing else is considered),
        restricted (escalate; the rest is still computed for the reviewer)
I1, I2  the instrument: available in law to that authority (catalogue jurisdictions, applies_from,
        a cross-border-only instrument from the legal representative's own State; else refuse,
        instrument_not_applicable) and recognised by the policy for that country (else refuse,
        instrument_not_recognised), naming the instruments valid instead (see admissibility);
        issuer kind among its issuers (I2)
E1, E2  the emergency procedure: invoked (E1), or claimed on an instrument that has none (E2)
F1      required fields (plus the emergency ones) present, else clarify: an incomplete order, which
        suspends the legal clock (e-Evidence Art. 10(5))
V1      the instrument only permits disclosure (voluntary)
P<n>    principles, by the ids in principles.toml: judicial order (on a validated order, the
        validator's kind), suspect confirmation (clarify: the desk's own question, the legal clock
        keeps running) and their emergency waiver, voluntary disclosure, preservation, removals
        (executed, or escalated), categories, fields. Against a binding order, a principle that
        withholds what the law compels (categories, judicial order) is a conflict: escalate with
        principle_conflict, for counsel to comply, refuse through Annex III on a ground the law
        lists, or challenge; against a voluntary instrument the principles simply limit
I3      a validated order (Art. 4(1)(b), 4(2)(b), 4(3)(b)): competent as its validator; an order from a
        kind that needs validation without one refuses (validation_missing), unless an emergency's
        validation is pending (Art. 4(5): within 48 hours; if refused the data must not be used)
C1-C5   per requested category: compellable (C1), issuer (or validator) competent for it (C2),
        offence threshold not met (C3) or met (C4: a penalty, or a listed offence, by an information
        system where the list says so, Art. 5(4)); an order to execute a sentence shorter than the
        instrument's minimum (C5, Art. 5(3))
T1, T2  targets: none found (refuse), some not found (partial)
D1, D2  data not held for the period (refuse); the period lies after receipt (e-Evidence Art. 3(8):
        wholly refuse, partly partial), both data_not_held
O1      nothing requested can be given and nothing is in conflict: refuse
N1, N2  enforcing-authority notification (N1, Art. 8(1), 10(2), 10(4)) or its exception when the
        offence was committed and the person resides in the issuing State (N2, Art. 8(2))
K1      a callback verifies the requester
======  ==========================================================================================

The outcome is the most severe one any rule asks for, in the order refuse > escalate > clarify >
partial > comply; a refusal empties the allowed categories and the conflicts. For a production,
information or preservation order: every requested category allowed is comply, some is partial, none is
refuse. ``allowed_categories`` always shows what the law AND the principles allow; ``conflicts`` what the
law compels and a principle withholds.

Field minimisation (P2) is never a conflict: an order designates categories of data, not export fields,
so giving only the fields the principles name within an allowed category answers the order in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from trustdesk.lawful.catalogue import Instrument
from trustdesk.policy.admissibility import Admissibility, admissibility
from trustdesk.policy.categories import category_rules, compelled, conditions, target_rules
from trustdesk.policy.decision import Decision
from trustdesk.policy.gates import (
    Gate,
    disclosure_gate,
    emergency_rules,
    field_rules,
    instrument_rules,
    jurisdiction_rules,
    removal_rules,
)
from trustdesk.policy.rules import PolicySet
from trustdesk.policy.rules import PrincipleKey as Key
from trustdesk.policy.values import (
    Clarification,
    Conflict,
    Ground,
    Outcome,
    PeriodPart,
    Recommendation,
    RequestFacts,
    RuleFired,
)
from trustdesk.policy.wording import category_list, cite, join
from trustdesk.vocabulary import DataCategory, InstrumentKind

__all__ = [
    "Admissibility",
    "Clarification",
    "Conflict",
    "Ground",
    "Outcome",
    "PeriodPart",
    "Recommendation",
    "RequestFacts",
    "RuleFired",
    "admissibility",
    "recommend",
]


def recommend(
    facts: RequestFacts,
    instrument: Instrument,
    policy: PolicySet,
    catalogue_version: str,
    *,
    catalogue: Iterable[Instrument] | None = None,
) -> Recommendation:
    """Recommend what to do with a request, naming every rule that fired (see the module docstring).

    ``catalogue`` (every instrument) lets rule I1 name the instruments that would be valid instead.
    """
    if facts.instrument is not instrument.code:
        raise ValueError(f"the facts are about {facts.instrument}, but the instrument is {instrument.code}")
    d = Decision()
    p = policy.principles
    conflicts: list[Conflict] = []

    def result(
        allowed: frozenset[DataCategory] = frozenset(),
        fields: Mapping[DataCategory, frozenset[str]] | None = None,
        *,
        notify: bool = False,
    ) -> Recommendation:
        outcome = d.outcome()
        refused = outcome is Outcome.REFUSE
        return Recommendation(
            outcome=outcome,
            allowed_categories=frozenset() if refused else allowed,
            allowed_fields={} if refused or fields is None else fields,
            grounds=d.grounds(),
            rules_fired=tuple(d.rules),
            policy_version=policy.version,
            catalogue_version=catalogue_version,
            enforcing_notification=notify and not refused,
            conflicts=() if refused else tuple(conflicts),
            clarification=None if refused else _clarification(d),
        )

    jurisdiction = policy.jurisdiction(facts.agency_country)
    if not jurisdiction_rules(d, facts.agency_country, jurisdiction):
        return result()
    competence = instrument_rules(d, facts, instrument, jurisdiction, catalogue)
    emergency = emergency_rules(d, facts, instrument)
    field_rules(d, facts, instrument, emergency)

    if instrument.kind is InstrumentKind.REMOVAL:
        removal_rules(d, instrument, policy)
        category_rules(
            d,
            facts,
            instrument,
            policy,
            kinds=competence.kinds,
            authority=competence.authority,
            disclosing=False,
            conflict=False,
        )
        target_rules(d, facts, instrument)
        return result()

    preservation = instrument.kind is InstrumentKind.PRESERVATION
    disclosing = not preservation or p.preservation_limited_by_disclosure
    binding = not instrument.voluntary
    lawful = compelled(facts, instrument, competence.kinds)
    gate = Gate.OPEN
    if disclosing:
        gate = disclosure_gate(
            d,
            facts,
            instrument,
            policy,
            emergency=emergency,
            compelled=lawful,
            judicial_kind=competence.judicial_kind,
            authority=competence.authority,
        )
        if gate is Gate.CONFLICT:
            judicial = p.principle(Key.JUDICIAL_ORDER)
            conflicts.append(Conflict(judicial.id, judicial.key, lawful))
    else:
        principle = p.principle(Key.PRESERVATION)
        d.fire(
            principle.id,
            None,
            f"{cite(principle)}; {instrument.code} orders preservation only, so principles "
            f"{join(p.disclosure_ids)} do not limit it.",
        )
    allowed, withheld = category_rules(
        d,
        facts,
        instrument,
        policy,
        kinds=competence.kinds,
        authority=competence.authority,
        disclosing=disclosing,
        conflict=binding,
    )
    if withheld:
        principle = p.principle(Key.DISCLOSABLE_CATEGORIES)
        conflicts.append(Conflict(principle.id, principle.key, withheld))
    if gate is Gate.CONFLICT:
        allowed = frozenset()  # the judicial-order principle allows nothing; counsel decides
    if facts.requested_categories:
        if not allowed and not conflicts:
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
    if gate is Gate.CLOSED or d.outcome() is Outcome.REFUSE:
        return result()
    deliverable = allowed | frozenset().union(*(c.categories for c in conflicts))
    fields, notify = conditions(
        d,
        facts,
        instrument,
        policy,
        allowed,
        deliverable=deliverable,
        disclosing=disclosing,
        emergency=emergency,
    )
    return result(allowed, fields, notify=notify)


def _clarification(d: Decision) -> Clarification | None:
    """Why the authority is asked a question: an incomplete order (F1) suspends the legal clock; the
    desk's own question about a complete order (P4) does not."""
    grounds = d.grounds()
    if Ground.MISSING_REQUIRED_FIELD in grounds:
        return Clarification.INCOMPLETE_ORDER
    if Ground.SUSPECT_NOT_CONFIRMED in grounds:
        return Clarification.DESK_QUESTION
    return None
