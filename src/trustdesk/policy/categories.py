"""Per-category rules (C1-C4 and the category principle), the targets (T1, T2, D1) and the conditions on
what is given (field minimisation, N1, K1)."""

from __future__ import annotations

from collections.abc import Mapping

from trustdesk.lawful.catalogue import CategoryRule, Instrument
from trustdesk.policy.decision import Decision
from trustdesk.policy.rules import PolicySet
from trustdesk.policy.rules import PrincipleKey as Key
from trustdesk.policy.values import Ground, Outcome, RequestFacts
from trustdesk.policy.wording import ISSUER, category_list, cite, issuers, join, years
from trustdesk.vocabulary import DataCategory, InstrumentKind

__all__ = ["category_rules", "conditions", "target_rules"]


def _threshold(
    d: Decision,
    facts: RequestFacts,
    instrument: Instrument,
    category: DataCategory,
    rule: CategoryRule,
    verb: str,
) -> bool:
    """C3 (not met) or C4 (met) for a category with an offence threshold."""
    minimum = rule.min_penalty_years
    assert minimum is not None
    penalty = facts.offence_max_penalty_years
    listed = facts.listed_offence
    by_penalty = penalty is not None and penalty >= minimum
    by_list = listed is not None and listed in rule.listed_offences
    need = f"an offence punishable by at least {years(minimum)}"
    if rule.listed_offences:
        need += f" or one of the listed offences ({join(sorted(rule.listed_offences), 'or')})"
    if by_penalty or by_list:
        how = (
            f"this offence is punishable by up to {years(penalty)}"
            if by_penalty and penalty is not None
            else f"the order invokes the listed offence {listed}"
        )
        d.fire(
            "C4",
            None,
            f"Under {instrument.code}, {category} data needs {need}, and {how}, so the threshold is met.",
        )
        return True
    facts_said = (
        "the request states no maximum penalty"
        if penalty is None
        else f"this offence is punishable by at most {years(penalty)}"
    )
    if listed is not None:
        facts_said += f" and {listed} is not a listed offence"
    d.fire(
        "C3",
        Ground.OFFENCE_THRESHOLD_NOT_MET,
        f"Under {instrument.code}, {category} data may be ordered only for {need}, and {facts_said}, so it "
        f"is not {verb}.",
    )
    return False


def category_rules(
    d: Decision,
    facts: RequestFacts,
    instrument: Instrument,
    policy: PolicySet,
    *,
    issuer_competent: bool,
    disclosing: bool,
) -> frozenset[DataCategory]:
    """C1-C4 and the category principle, per requested category in a fixed order."""
    p = policy.principles
    code = instrument.code
    verb = "preserved" if instrument.kind is InstrumentKind.PRESERVATION else "disclosed"
    allowed: set[DataCategory] = set()
    for category in DataCategory:
        if category not in facts.requested_categories:
            continue
        rule = instrument.categories.get(category)
        if rule is None:
            compels = (
                f"it compels only {category_list(instrument.categories)} data"
                if instrument.categories
                else f"it orders a {instrument.kind} and compels no data"
            )
            d.fire(
                "C1",
                Ground.CATEGORY_NOT_COMPELLABLE,
                f"{code} cannot compel {category} data ({compels}), so the {category} data requested is not "
                f"{verb}.",
            )
            continue
        ok = True
        if issuer_competent and facts.issuer_kind not in rule.issuers:
            d.fire(
                "C2",
                Ground.ISSUER_NOT_COMPETENT,
                f"Under {code}, {category} data may be ordered only by {issuers(rule.issuers)}, and this "
                f"order comes from {ISSUER[facts.issuer_kind]}, so it is not {verb}.",
            )
            ok = False
        if rule.min_penalty_years is not None:
            ok = _threshold(d, facts, instrument, category, rule, verb) and ok
        if disclosing and category not in p.disclosable_categories:
            principle = p.principle(Key.DISCLOSABLE_CATEGORIES)
            d.fire(
                principle.id,
                Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                f"{cite(principle)}; the {category} data requested under {code} is therefore not {verb}.",
            )
            ok = False
        if ok:
            allowed.add(category)
    return frozenset(allowed)


def target_rules(d: Decision, facts: RequestFacts, instrument: Instrument) -> None:
    """T1, T2 and D1."""
    total, found = facts.targets_total, facts.targets_found
    if total == 0:
        return  # F1 asks for the targets
    act = {
        InstrumentKind.REMOVAL: "remove",
        InstrumentKind.PRESERVATION: "preserve",
    }.get(instrument.kind, "disclose")
    if found == 0:
        d.fire(
            "T1",
            Ground.TARGET_NOT_FOUND,
            f"None of the {total} target{'s' if total != 1 else ''} named in the {instrument.code} request "
            f"was found on the platform, so there is nothing to {act}.",
            Outcome.REFUSE,
        )
        return
    if found < total:
        d.fire(
            "T2",
            Ground.TARGET_NOT_FOUND,
            f"{found} of the {total} targets named in the {instrument.code} request "
            f"{'was' if found == 1 else 'were'} found, so the answer covers those found and tells the "
            "authority that the others were not.",
            Outcome.PARTIAL,
        )
    if not facts.data_held and instrument.kind is not InstrumentKind.REMOVAL:
        d.fire(
            "D1",
            Ground.DATA_NOT_HELD,
            f"The platform holds no {category_list(facts.requested_categories)} data for the targets found "
            f"in the period of the {instrument.code} request, so there is nothing to {act}.",
            Outcome.REFUSE,
        )


def conditions(
    d: Decision,
    instrument: Instrument,
    policy: PolicySet,
    allowed: frozenset[DataCategory],
    *,
    disclosing: bool,
) -> Mapping[DataCategory, frozenset[str]]:
    """P2, N1 and K1: how what is allowed is given. Returns the allowed fields."""
    p = policy.principles
    code = instrument.code
    fields: dict[DataCategory, frozenset[str]] = {}
    if disclosing:
        principle = p.principle(Key.DISCLOSABLE_FIELDS)
        for category in DataCategory:
            if category not in allowed:
                continue
            fields[category] = p.disclosable_fields[category]
            names = sorted(fields[category])
            noun = "field" if len(names) == 1 else "fields"
            verb = "is" if len(names) == 1 else "are"
            d.fire(
                principle.id,
                None,
                f"{cite(principle)}; of the {category} data only the {noun} {join(names)} {verb} given.",
            )
    if instrument.kind is not InstrumentKind.PRESERVATION:
        for category in DataCategory:
            if category in allowed and category in instrument.enforcing_notification:
                d.fire(
                    "N1",
                    None,
                    f"Under {code}, {category} data may be delivered only after notifying the enforcing "
                    "authority, unless the offence was committed, and the person resides, in the issuing "
                    "State.",
                )
    if instrument.callback_verification:
        d.fire(
            "K1",
            Ground.CALLBACK_REQUIRED,
            f"{code} requires verifying the requester before anything is disclosed: call back the "
            "supervisor named in the request on a number the platform finds independently, and disclose "
            "only once the call confirms the request.",
        )
    return fields
