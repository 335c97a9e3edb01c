"""Per-category rules (C1-C5 and the category principle), the targets (T1, T2, D1) and the conditions on
what is given (field minimisation, N1, K1)."""

from __future__ import annotations

from collections.abc import Mapping

from trustdesk.lawful.catalogue import CategoryRule, Instrument
from trustdesk.policy.decision import Decision
from trustdesk.policy.gates import COUNSEL
from trustdesk.policy.rules import PolicySet
from trustdesk.policy.rules import PrincipleKey as Key
from trustdesk.policy.values import Ground, Outcome, PeriodPart, RequestFacts
from trustdesk.policy.wording import category_list, cite, issuers, join, years
from trustdesk.vocabulary import DataCategory, InstrumentKind, IssuerKind

__all__ = ["category_rules", "compelled", "conditions", "target_rules"]


def _by_list(facts: RequestFacts, instrument: Instrument, rule: CategoryRule) -> bool:
    """The order invokes one of the category's listed offences, by an information system where the
    offence qualifies only so (e-Evidence Art. 5(4)(b), (c))."""
    listed = facts.listed_offence
    if listed is None or listed not in rule.listed_offences:
        return False
    return listed not in instrument.information_system_offences or facts.by_information_system


def _threshold_met(facts: RequestFacts, instrument: Instrument, rule: CategoryRule) -> bool:
    """Whether the offence meets the category's threshold (a penalty or a listed offence)."""
    minimum = rule.min_penalty_years
    if minimum is None:
        return True
    penalty = facts.offence_max_penalty_years
    return (penalty is not None and penalty >= minimum) or _by_list(facts, instrument, rule)


def _sentence_met(facts: RequestFacts, instrument: Instrument) -> bool:
    """An order to execute a sentence needs the instrument's minimum sentence (e-Evidence Art. 5(3))."""
    minimum = instrument.sentence_execution_min_months
    return facts.sentence_months is None or minimum is None or facts.sentence_months >= minimum


def compelled(
    facts: RequestFacts, instrument: Instrument, kinds: frozenset[IssuerKind]
) -> frozenset[DataCategory]:
    """The requested categories the law lets an authority of one of ``kinds`` compel under ``instrument``
    (C1-C3 and C5 pass); none when ``kinds`` is empty (the order cannot be issued at all)."""
    if not _sentence_met(facts, instrument):
        return frozenset()
    return frozenset(
        category
        for category, rule in instrument.categories.items()
        if category in facts.requested_categories
        and kinds & rule.issuers
        and _threshold_met(facts, instrument, rule)
    )


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
    execution = (
        " (an order to execute a sentence must be for such an offence, Art. 5(4)(d))"
        if facts.sentence_months is not None
        else ""
    )
    need = f"an offence punishable by at least {years(minimum)}"
    if rule.listed_offences:
        need += f" or one of the listed offences ({join(sorted(rule.listed_offences), 'or')})"
    if _threshold_met(facts, instrument, rule):
        how = (
            f"this offence is punishable by up to {years(penalty)}"
            if by_penalty and penalty is not None
            else f"the order invokes the listed offence {listed}"
        )
        d.fire(
            "C4",
            None,
            f"Under {instrument.code}, {category} data needs {need}{execution}, and {how}, so the threshold "
            "is met.",
        )
        return True
    facts_said = (
        "the request states no maximum penalty"
        if penalty is None
        else f"this offence is punishable by at most {years(penalty)}"
    )
    if listed is not None and listed in rule.listed_offences:
        facts_said += (
            f" and {listed} counts as a listed offence only when committed wholly or partly by means of an "
            "information system (Art. 5(4)(b), (c)), which the order does not state"
        )
    elif listed is not None:
        facts_said += f" and {listed} is not a listed offence"
    d.fire(
        "C3",
        Ground.OFFENCE_THRESHOLD_NOT_MET,
        f"Under {instrument.code}, {category} data may be ordered only for {need}{execution}, and "
        f"{facts_said}, so it is not {verb}.",
    )
    return False


def category_rules(
    d: Decision,
    facts: RequestFacts,
    instrument: Instrument,
    policy: PolicySet,
    *,
    kinds: frozenset[IssuerKind],
    authority: str,
    disclosing: bool,
    conflict: bool,
) -> tuple[frozenset[DataCategory], frozenset[DataCategory]]:
    """C1-C4 and the category principle, per requested category in a fixed order.

    ``kinds`` are the kinds the category issuer checks accept (the validator's for a validated order;
    empty when the order cannot be issued at all, then C2 is not repeated); ``authority`` names it in the
    sentences. ``conflict``: the instrument binds, so a principle withholding a compelled category is a
    conflict for counsel (escalate), not a limit. Returns the categories the principles allow and those
    a principle withholds although the law compels them.
    """
    p = policy.principles
    code = instrument.code
    verb = "preserved" if instrument.kind is InstrumentKind.PRESERVATION else "disclosed"
    allowed: set[DataCategory] = set()
    withheld: set[DataCategory] = set()
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
        ok = bool(kinds)
        if kinds and not kinds & rule.issuers:
            d.fire(
                "C2",
                Ground.ISSUER_NOT_COMPETENT,
                f"Under {code}, {category} data may be ordered only by {issuers(rule.issuers)}, and this "
                f"order {authority}, so it is not {verb}.",
            )
            ok = False
        minimum = instrument.sentence_execution_min_months
        if facts.sentence_months is not None and minimum is not None and facts.sentence_months < minimum:
            d.fire(
                "C5",
                Ground.OFFENCE_THRESHOLD_NOT_MET,
                f"Under {code}, an order to execute a custodial sentence or detention order needs a sentence "
                f"of at least {minimum} months (Art. 5(3)), and this one is of {facts.sentence_months}, so "
                f"the {category} data is not {verb}.",
            )
            ok = False
        if rule.min_penalty_years is not None:
            ok = _threshold(d, facts, instrument, category, rule, verb) and ok
        if disclosing and category not in p.disclosable_categories:
            principle = p.principle(Key.DISCLOSABLE_CATEGORIES)
            if ok and conflict:
                d.fire(
                    principle.id,
                    Ground.PRINCIPLE_CONFLICT,
                    f"{cite(principle)}; but {code} is binding and lawfully compels the {category} data "
                    f"requested, so the conflict goes to a senior reviewer and {COUNSEL}.",
                    Outcome.ESCALATE,
                )
                withheld.add(category)
            else:
                d.fire(
                    principle.id,
                    Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                    f"{cite(principle)}; the {category} data requested under {code} is therefore not {verb}.",
                )
            ok = False
        if ok:
            allowed.add(category)
    return frozenset(allowed), frozenset(withheld)


def target_rules(d: Decision, facts: RequestFacts, instrument: Instrument) -> None:
    """T1, T2, D1 (no data held) and D2 (a period after receipt)."""
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
    if instrument.kind is InstrumentKind.REMOVAL:
        return
    if not facts.data_held:
        d.fire(
            "D1",
            Ground.DATA_NOT_HELD,
            f"The platform holds no {category_list(facts.requested_categories)} data for the targets found "
            f"in the period of the {instrument.code} request, so there is nothing to {act}.",
            Outcome.REFUSE,
        )
        return
    stored = (
        "only data stored when the order is received is evidence that can be "
        f"{'preserved' if act == 'preserve' else 'produced'}"
    )
    if facts.period_after_receipt is PeriodPart.WHOLLY:
        d.fire(
            "D2",
            Ground.DATA_NOT_HELD,
            f"The period of the {instrument.code} request lies wholly after its receipt, and {stored} "
            "(Regulation (EU) 2023/1543 Art. 3(8)): a future period asks for interception, which the order "
            f"cannot compel, so there is nothing to {act}.",
            Outcome.REFUSE,
        )
    elif facts.period_after_receipt is PeriodPart.PARTLY:
        d.fire(
            "D2",
            Ground.DATA_NOT_HELD,
            f"The period of the {instrument.code} request lies partly after its receipt, and {stored} "
            "(Regulation (EU) 2023/1543 Art. 3(8)), so the answer covers only the part of the period up to "
            "receipt and tells the authority that the platform holds no data for the rest.",
            Outcome.PARTIAL,
        )


def conditions(
    d: Decision,
    facts: RequestFacts,
    instrument: Instrument,
    policy: PolicySet,
    allowed: frozenset[DataCategory],
    *,
    deliverable: frozenset[DataCategory],
    disclosing: bool,
    emergency: bool,
) -> tuple[Mapping[DataCategory, frozenset[str]], bool]:
    """P2, N1 (or its exception N2) and K1: how what is allowed is given.

    ``deliverable`` are the categories that may be delivered: those allowed, and those in conflict that
    counsel may decide to deliver. Returns the allowed fields and whether delivery waits for the
    enforcing authority.
    """
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
    notify = False
    if instrument.kind is not InstrumentKind.PRESERVATION:
        notified = [c for c in DataCategory if c in deliverable and c in instrument.enforcing_notification]
        if notified and facts.offence_in_issuing_state and facts.person_resides_in_issuing_state:
            d.fire(
                "N2",
                None,
                f"Under {code}, {category_list(notified)} data needs no notification of the enforcing "
                "authority, because the offence was committed, and the person resides, in the issuing State "
                "(Regulation (EU) 2023/1543 Art. 8(2)), so delivery does not wait.",
            )
        elif notified:
            notify = True
            when = (
                "in this emergency the data is delivered within the emergency deadline and the enforcing "
                "authority may object within 96 hours of the notification (Art. 10(4))"
                if emergency
                else "the data is delivered at the end of the deadline unless the enforcing authority has "
                "raised a ground for refusal, or as soon as possible once it says it raises none "
                "(Art. 10(2))"
            )
            for category in notified:
                d.fire(
                    "N1",
                    None,
                    f"Under {code}, {category} data may be delivered only after notifying the enforcing "
                    "authority (Regulation (EU) 2023/1543 Art. 8(1)), because the order does not state that "
                    f"the offence was committed, and the person resides, in the issuing State, and {when}.",
                )
    if instrument.callback_verification:
        d.fire(
            "K1",
            Ground.CALLBACK_REQUIRED,
            f"{code} requires verifying the requester before anything is disclosed: call back the "
            "supervisor named in the request on a number the platform finds independently, and disclose "
            "only once the call confirms the request.",
        )
    return fields, notify
