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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from trustdesk.lawful.catalogue import CategoryRule, FrozenMap, Instrument, RequestField
from trustdesk.policy.rules import EmergencyWaiver, Jurisdiction, JurisdictionStatus, PolicySet, Principle
from trustdesk.policy.rules import PrincipleKey as Key
from trustdesk.vocabulary import DataCategory, InstrumentCode, InstrumentKind, IssuerKind

__all__ = ["Ground", "Outcome", "Recommendation", "RequestFacts", "RuleFired", "recommend"]


class Outcome(StrEnum):
    """What the engine recommends the desk do with a request."""

    COMPLY = "comply"
    PARTIAL = "partial"
    REFUSE = "refuse"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


class Ground(StrEnum):
    """Why a request is not (fully) complied with, or what conditions the compliance."""

    JURISDICTION_EXITED = "jurisdiction_exited"
    JURISDICTION_RESTRICTED = "jurisdiction_restricted"
    JURISDICTION_UNKNOWN = "jurisdiction_unknown"
    INSTRUMENT_NOT_RECOGNISED = "instrument_not_recognised"
    ISSUER_NOT_COMPETENT = "issuer_not_competent"
    CATEGORY_NOT_COMPELLABLE = "category_not_compellable"
    OFFENCE_THRESHOLD_NOT_MET = "offence_threshold_not_met"
    PRINCIPLE_LIMITS_DISCLOSURE = "principle_limits_disclosure"
    PRINCIPLE_REQUIRES_REVIEW = "principle_requires_review"
    """The principles send this kind of order to a reviewer (removals when ``removals.allowed`` is false)."""
    MISSING_REQUIRED_FIELD = "missing_required_field"
    TARGET_NOT_FOUND = "target_not_found"
    DATA_NOT_HELD = "data_not_held"
    SUSPECT_NOT_CONFIRMED = "suspect_not_confirmed"
    CALLBACK_REQUIRED = "callback_required"
    VOLUNTARY_DISCLOSURE = "voluntary_disclosure"


_SEVERITY: Final[Mapping[Outcome, int]] = {
    Outcome.COMPLY: 0,
    Outcome.PARTIAL: 1,
    Outcome.CLARIFY: 2,
    Outcome.ESCALATE: 3,
    Outcome.REFUSE: 4,
}
_FIELD_NAMES: Final = frozenset(name.value for name in RequestField)


@dataclass(frozen=True)
class RequestFacts:
    """Everything the engine needs to know about one request; the caller gathers it."""

    instrument: InstrumentCode
    agency_country: str
    """Where the requesting authority sits (ISO 3166-1 alpha-2, upper case)."""
    issuer_kind: IssuerKind
    """Kind of the issuing authority named in the order."""
    emergency: bool
    requested_categories: frozenset[DataCategory]
    offence_max_penalty_years: int | None
    listed_offence: str | None
    """One of the instrument's ``listed_offences`` ids when the order invokes one, else None."""
    suspect_confirmed: bool
    """The order confirms the target is a suspect in a criminal case."""
    present_fields: frozenset[str]
    """RequestField values present on the request (incl. ``order_document`` when a signed document is
    attached)."""
    targets_total: int
    targets_found: int
    """How many targets the platform connector found (looked up before, outside the engine)."""
    data_held: bool = True
    """False when the platform holds no data in the period for the found targets."""

    def __post_init__(self) -> None:
        country = self.agency_country
        if len(country) != 2 or not (country.isascii() and country.isalpha() and country.isupper()):
            raise ValueError(f"agency_country must be an upper-case ISO 3166-1 alpha-2 code, got {country!r}")
        if not 0 <= self.targets_found <= self.targets_total:
            raise ValueError(
                f"targets_found must be between 0 and targets_total ({self.targets_total}), "
                f"got {self.targets_found}"
            )
        if self.offence_max_penalty_years is not None and self.offence_max_penalty_years < 0:
            raise ValueError(
                f"offence_max_penalty_years must not be negative, got {self.offence_max_penalty_years}"
            )
        unknown = sorted(self.present_fields - _FIELD_NAMES)
        if unknown:
            raise ValueError(f"present_fields: unknown request fields {', '.join(unknown)}")


@dataclass(frozen=True)
class RuleFired:
    """One rule that fired: its id (J1, I2, C3, P1, ...), the ground it sets (if any) and one plain-English
    sentence naming the instrument, category and figures concerned."""

    rule_id: str
    ground: Ground | None
    sentence: str


@dataclass(frozen=True)
class Recommendation:
    """The engine's answer. ``allowed_categories`` may be acted on only when the outcome is comply or
    partial; on clarify and escalate they show the reviewer what would be allowed; a refusal allows
    nothing. ``allowed_fields`` limits each allowed category to the principles' fields; a category
    without an entry is handled whole (preservation, when the disclosure principles do not apply)."""

    outcome: Outcome
    allowed_categories: frozenset[DataCategory]
    allowed_fields: Mapping[DataCategory, frozenset[str]]
    grounds: tuple[Ground, ...]
    rules_fired: tuple[RuleFired, ...]
    policy_version: str
    catalogue_version: str

    def __post_init__(self) -> None:
        if not isinstance(self.allowed_fields, FrozenMap):
            fields = self.allowed_fields
            object.__setattr__(
                self,
                "allowed_fields",
                FrozenMap((c, frozenset(fields[c])) for c in DataCategory if c in fields),
            )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: enum values, sets as sorted lists, rules and grounds in firing order."""
        return {
            "outcome": self.outcome.value,
            "allowed_categories": sorted(c.value for c in self.allowed_categories),
            "allowed_fields": {
                c.value: sorted(self.allowed_fields[c]) for c in sorted(self.allowed_fields, key=str)
            },
            "grounds": [g.value for g in self.grounds],
            "rules_fired": [
                {
                    "rule_id": r.rule_id,
                    "ground": None if r.ground is None else r.ground.value,
                    "sentence": r.sentence,
                }
                for r in self.rules_fired
            ],
            "policy_version": self.policy_version,
            "catalogue_version": self.catalogue_version,
        }


# ------------------------------------------------------------------------------------------ wording

_ISSUER: Final[Mapping[IssuerKind, str]] = {
    IssuerKind.POLICE: "a police authority",
    IssuerKind.PROSECUTOR: "a public prosecutor",
    IssuerKind.INVESTIGATING_JUDGE: "an investigating judge",
    IssuerKind.COURT: "a court",
    IssuerKind.REGULATOR: "a regulator",
    IssuerKind.OTHER: "an authority of another kind",
}


def _join(items: Iterable[str], conjunction: str = "and") -> str:
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _issuers(kinds: frozenset[IssuerKind]) -> str:
    return _join((_ISSUER[k] for k in IssuerKind if k in kinds), "or")


def _categories(categories: Iterable[DataCategory]) -> str:
    chosen = set(categories)
    return _join(c.value for c in DataCategory if c in chosen)


def _years(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


def _cite(principle: Principle) -> str:
    """``P3: <statement without its full stop>``, to be continued with ``; <consequence>.``"""
    return f"{principle.id}: {principle.statement.rstrip('.')}"


# ------------------------------------------------------------------------------------------- engine


@dataclass
class _Decision:
    """The rules fired so far and the outcomes they ask for (internal, mutable while deciding)."""

    rules: list[RuleFired] = field(default_factory=list)
    votes: list[Outcome] = field(default_factory=list)

    def fire(
        self, rule_id: str, ground: Ground | None, sentence: str, outcome: Outcome | None = None
    ) -> None:
        self.rules.append(RuleFired(rule_id, ground, sentence))
        if outcome is not None:
            self.votes.append(outcome)

    def outcome(self) -> Outcome:
        return max(self.votes, key=_SEVERITY.__getitem__, default=Outcome.COMPLY)

    def grounds(self) -> tuple[Ground, ...]:
        return tuple(dict.fromkeys(r.ground for r in self.rules if r.ground is not None))


def _jurisdiction_rules(d: _Decision, country: str, jurisdiction: Jurisdiction | None) -> bool:
    """J1-J3. Returns False when the jurisdiction is exited: nothing else is considered."""
    if jurisdiction is None:
        d.fire(
            "J1",
            Ground.JURISDICTION_UNKNOWN,
            f"The platform's policy has no entry for {country}, so a senior reviewer must decide whether "
            f"to answer authorities of {country} at all.",
            Outcome.ESCALATE,
        )
        return True
    where = f"{jurisdiction.name} ({jurisdiction.code})"
    reason = (jurisdiction.reason or "").rstrip(".")
    since = "" if jurisdiction.since is None else jurisdiction.since.isoformat()
    if jurisdiction.status is JurisdictionStatus.EXITED:
        d.fire(
            "J2",
            Ground.JURISDICTION_EXITED,
            f"The platform left {where} on {since} and answers no request from its authorities "
            f"(reason: {reason}).",
            Outcome.REFUSE,
        )
        return False
    if jurisdiction.status is JurisdictionStatus.RESTRICTED:
        d.fire(
            "J3",
            Ground.JURISDICTION_RESTRICTED,
            f"The platform's operations in {where} are restricted since {since} (reason: {reason}), so a "
            "senior reviewer decides every request from its authorities, with the allowed categories "
            "below as a starting point.",
            Outcome.ESCALATE,
        )
    return True


def _instrument_rules(
    d: _Decision, facts: RequestFacts, instrument: Instrument, jurisdiction: Jurisdiction | None
) -> bool:
    """I1, I2. Returns whether the issuer kind may issue the instrument at all."""
    code = instrument.code
    country = facts.agency_country
    if not (instrument.any_jurisdiction or country in instrument.jurisdictions):
        d.fire(
            "I1",
            Ground.INSTRUMENT_NOT_RECOGNISED,
            f"Per the instrument catalogue, {code} ({instrument.title}) cannot be used by an authority of "
            f"{country}, so the request is refused.",
            Outcome.REFUSE,
        )
    elif jurisdiction is not None and not jurisdiction.recognises(code):
        d.fire(
            "I1",
            Ground.INSTRUMENT_NOT_RECOGNISED,
            f"The platform's policy for {jurisdiction.name} ({jurisdiction.code}) does not recognise {code} "
            f"({instrument.title}), so the request is refused.",
            Outcome.REFUSE,
        )
    if facts.issuer_kind not in instrument.issuers:
        d.fire(
            "I2",
            Ground.ISSUER_NOT_COMPETENT,
            f"{code} may be issued only by {_issuers(instrument.issuers)}, and this order comes from "
            f"{_ISSUER[facts.issuer_kind]}, so the request is refused.",
            Outcome.REFUSE,
        )
        return False
    return True


def _emergency_rules(d: _Decision, facts: RequestFacts, instrument: Instrument) -> bool:
    """E1, E2. Returns whether the request counts as an emergency.

    It does when the instrument has an emergency procedure and the request invokes it, or when the
    instrument exists only for emergencies (it always requires an emergency justification).
    """
    code = instrument.code
    always = RequestField.EMERGENCY_JUSTIFICATION in instrument.required_fields
    if instrument.supports_emergency and (facts.emergency or always):
        d.fire(
            "E1",
            None,
            f"The request invokes the emergency procedure of {code}: an imminent threat to life or of "
            "serious physical injury, which shortens the deadline and may waive principles as stated below.",
        )
        return True
    if facts.emergency:
        d.fire(
            "E2",
            None,
            f"The request claims an emergency, but {code} has no emergency procedure, so it is handled "
            "as an ordinary request and no principle is waived.",
        )
    return False


def _field_rules(d: _Decision, facts: RequestFacts, instrument: Instrument, emergency: bool) -> None:
    """F1: every required field present (an empty target list or category set counts as missing)."""
    required = set(instrument.required_fields)
    if emergency:
        required |= instrument.emergency_required_fields
    present = set(facts.present_fields)
    if facts.targets_total == 0:
        present.discard(RequestField.TARGETS)
    if not facts.requested_categories:
        present.discard(RequestField.DATA_CATEGORIES)
    missing = sorted(required - present)
    if not missing:
        return
    by_emergency = emergency and any(name in instrument.emergency_required_fields for name in missing)
    procedure = f"the emergency procedure of {instrument.code}" if by_emergency else str(instrument.code)
    pronoun = "it" if len(missing) == 1 else "them"
    names = _join(f"'{name}'" for name in missing)
    d.fire(
        "F1",
        Ground.MISSING_REQUIRED_FIELD,
        f"{procedure[0].upper()}{procedure[1:]} requires {names}, which the "
        f"request lacks, so the authority must be asked to supply {pronoun} before a decision.",
        Outcome.CLARIFY,
    )


def _disclosure_gate(
    d: _Decision, facts: RequestFacts, instrument: Instrument, policy: PolicySet, emergency: bool
) -> bool:
    """V1 and the principles on who may obtain a disclosure. Returns False when nothing may be disclosed."""
    p = policy.principles
    code = instrument.code
    if instrument.voluntary:
        voluntary = p.principle(Key.VOLUNTARY_DISCLOSURE)
        if not p.voluntary_disclosure_allowed:
            d.fire(
                voluntary.id,
                Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                f"{_cite(voluntary)}; {code} only permits a disclosure without compelling it, so nothing "
                "is disclosed.",
                Outcome.REFUSE,
            )
            return False
        d.fire(
            "V1",
            Ground.VOLUNTARY_DISCLOSURE,
            f"{code} ({instrument.legal_basis}) permits a disclosure without compelling it, so anything "
            f"disclosed is the platform's voluntary choice under principle {voluntary.id}.",
        )
    waiver = p.principle(Key.EMERGENCY)
    if facts.issuer_kind not in p.judicial_issuer_kinds:
        judicial = p.principle(Key.JUDICIAL_ORDER)
        if emergency and EmergencyWaiver.JUDICIAL_ORDER in p.emergency_waives:
            d.fire(
                waiver.id,
                None,
                f"{_cite(waiver)}; this is an emergency, so the request from {_ISSUER[facts.issuer_kind]} is "
                f"considered although principle {judicial.id} asks for a judicial authority.",
            )
        else:
            d.fire(
                judicial.id,
                Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                f"{_cite(judicial)}; this order comes from {_ISSUER[facts.issuer_kind]}, so nothing is "
                "disclosed.",
                Outcome.REFUSE,
            )
            return False
    if p.require_suspect_confirmed and not facts.suspect_confirmed:
        suspect = p.principle(Key.SUSPECT_CONFIRMED)
        if emergency and EmergencyWaiver.SUSPECT_CONFIRMATION in p.emergency_waives:
            d.fire(
                waiver.id,
                None,
                f"{_cite(waiver)}; this is an emergency, so the order need not confirm a suspect as "
                f"principle {suspect.id} otherwise requires.",
            )
        else:
            d.fire(
                suspect.id,
                Ground.SUSPECT_NOT_CONFIRMED,
                f"{_cite(suspect)}; this order does not confirm it, so the authority must be asked to "
                "confirm that the person is a suspect in a criminal case.",
                Outcome.CLARIFY,
            )
    return True


def _threshold(
    d: _Decision,
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
    need = f"an offence punishable by at least {_years(minimum)}"
    if rule.listed_offences:
        need += f" or one of the listed offences ({_join(sorted(rule.listed_offences), 'or')})"
    if by_penalty or by_list:
        how = (
            f"this offence is punishable by up to {_years(penalty)}"
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
        else f"this offence is punishable by at most {_years(penalty)}"
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


def _category_rules(
    d: _Decision,
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
                f"it compels only {_categories(instrument.categories)} data"
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
                f"Under {code}, {category} data may be ordered only by {_issuers(rule.issuers)}, and this "
                f"order comes from {_ISSUER[facts.issuer_kind]}, so it is not {verb}.",
            )
            ok = False
        if rule.min_penalty_years is not None:
            ok = _threshold(d, facts, instrument, category, rule, verb) and ok
        if disclosing and category not in p.disclosable_categories:
            principle = p.principle(Key.DISCLOSABLE_CATEGORIES)
            d.fire(
                principle.id,
                Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                f"{_cite(principle)}; the {category} data requested under {code} is therefore not {verb}.",
            )
            ok = False
        if ok:
            allowed.add(category)
    return frozenset(allowed)


def _target_rules(d: _Decision, facts: RequestFacts, instrument: Instrument) -> None:
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
            f"The platform holds no {_categories(facts.requested_categories)} data for the targets found in "
            f"the period of the {instrument.code} request, so there is nothing to {act}.",
            Outcome.REFUSE,
        )


def _conditions(
    d: _Decision,
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
                f"{_cite(principle)}; of the {category} data only the {noun} {_join(names)} {verb} given.",
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


def _removal_rules(d: _Decision, instrument: Instrument, policy: PolicySet) -> None:
    """R1 / the removals principle."""
    p = policy.principles
    principle = p.principle(Key.REMOVALS)
    if p.removals_allowed:
        d.fire(
            principle.id,
            None,
            f"{_cite(principle)}; {instrument.code} orders the removal of content, discloses no data, and is "
            "not limited by the disclosure principles.",
        )
    else:
        d.fire(
            principle.id,
            Ground.PRINCIPLE_REQUIRES_REVIEW,
            f"{_cite(principle)}; the removal ordered under {instrument.code} therefore goes to a reviewer.",
            Outcome.ESCALATE,
        )


def recommend(
    facts: RequestFacts, instrument: Instrument, policy: PolicySet, catalogue_version: str
) -> Recommendation:
    """Recommend what to do with a request, naming every rule that fired (see the module docstring)."""
    if facts.instrument is not instrument.code:
        raise ValueError(f"the facts are about {facts.instrument}, but the instrument is {instrument.code}")
    d = _Decision()
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
    if not _jurisdiction_rules(d, facts.agency_country, jurisdiction):
        return result(frozenset(), {})
    issuer_competent = _instrument_rules(d, facts, instrument, jurisdiction)
    emergency = _emergency_rules(d, facts, instrument)
    _field_rules(d, facts, instrument, emergency)

    if instrument.kind is InstrumentKind.REMOVAL:
        _removal_rules(d, instrument, policy)
        _category_rules(d, facts, instrument, policy, issuer_competent=issuer_competent, disclosing=False)
        _target_rules(d, facts, instrument)
        return result(frozenset(), {})

    preservation = instrument.kind is InstrumentKind.PRESERVATION
    disclosing = not preservation or p.preservation_limited_by_disclosure
    if disclosing:
        gate_open = _disclosure_gate(d, facts, instrument, policy, emergency)
    else:
        gate_open = True
        principle = p.principle(Key.PRESERVATION)
        d.fire(
            principle.id,
            None,
            f"{_cite(principle)}; {instrument.code} orders preservation only, so principles "
            f"{_join(p.disclosure_ids)} do not limit it.",
        )
    allowed = _category_rules(
        d, facts, instrument, policy, issuer_competent=issuer_competent, disclosing=disclosing
    )
    if facts.requested_categories:
        if not allowed:
            verb = "preserved" if preservation else "disclosed"
            d.fire(
                "O1",
                None,
                f"None of the requested categories ({_categories(facts.requested_categories)}) can be "
                f"{verb} under {instrument.code} by the rules above, so the request is refused.",
                Outcome.REFUSE,
            )
        elif allowed != facts.requested_categories:
            d.votes.append(Outcome.PARTIAL)
    _target_rules(d, facts, instrument)
    if not gate_open or d.outcome() is Outcome.REFUSE:
        return result(frozenset(), {})
    fields = _conditions(d, instrument, policy, allowed, disclosing=disclosing)
    return result(allowed, fields)
