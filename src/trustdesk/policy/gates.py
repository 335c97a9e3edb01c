"""The gates of a request: jurisdiction (J), instrument (I), emergency (E), fields (F), voluntary
disclosure (V) and the principles on who may obtain a disclosure, and removals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Final

from trustdesk.lawful.catalogue import Instrument, RequestField
from trustdesk.policy.admissibility import assess
from trustdesk.policy.decision import Decision
from trustdesk.policy.rules import EmergencyWaiver, Jurisdiction, JurisdictionStatus, PolicySet
from trustdesk.policy.rules import PrincipleKey as Key
from trustdesk.policy.values import Ground, Outcome, RequestFacts
from trustdesk.policy.wording import ISSUER, category_list, cite, issuers, join
from trustdesk.vocabulary import DataCategory, IssuerKind

__all__ = [
    "COUNSEL",
    "Competence",
    "Gate",
    "disclosure_gate",
    "emergency_rules",
    "field_rules",
    "instrument_rules",
    "is_emergency",
    "jurisdiction_rules",
    "removal_rules",
]


def jurisdiction_rules(d: Decision, country: str, jurisdiction: Jurisdiction | None) -> bool:
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


@dataclass(frozen=True)
class Competence:
    """Who the order is from, as the issuer checks see it."""

    kinds: frozenset[IssuerKind]
    """The kinds the category issuer checks (C2) accept, any one sufficing: the issuer's, the validator's
    for a validated order, every possible validator's for an emergency order awaiting validation; empty
    when the order cannot be issued at all (I2 or I3 refused it)."""
    judicial_kind: IssuerKind
    """The kind the judicial-order principle looks at (a validated order is the validator's order)."""
    authority: str
    """Who issued (and validated) it, to follow "this order" in a sentence."""


def is_emergency(facts: RequestFacts, instrument: Instrument) -> bool:
    """Whether the request counts as an emergency (see :func:`emergency_rules`)."""
    always = RequestField.EMERGENCY_JUSTIFICATION in instrument.required_fields
    return instrument.supports_emergency and (facts.emergency or always)


def _hours(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def instrument_rules(
    d: Decision,
    facts: RequestFacts,
    instrument: Instrument,
    jurisdiction: Jurisdiction | None,
    instruments: Iterable[Instrument] | None,
) -> Competence:
    """I1 (admissibility), I2 (issuer kind) and I3 (validation). Returns who the order counts as from.

    ``instruments`` (the catalogue) lets I1 name the instruments that would be valid instead.
    """
    code = instrument.code
    issuer = ISSUER[facts.issuer_kind]
    inadmissible = assess(
        instrument,
        facts.agency_country,
        facts.received_at,
        jurisdiction,
        facts.legal_representative_country,
        instruments,
    )
    if inadmissible is not None:
        d.fire("I1", inadmissible.ground, inadmissible.sentence, Outcome.REFUSE)
    own = Competence(frozenset({facts.issuer_kind}), facts.issuer_kind, f"comes from {issuer}")
    refused = Competence(frozenset(), facts.issuer_kind, f"comes from {issuer}")
    rule = instrument.validation
    validator = facts.validator_kind
    if (
        rule is not None
        and validator is not None
        and validator in rule.validators
        and (facts.issuer_kind in instrument.issuers or facts.issuer_kind in rule.issuers)
    ):
        by = ISSUER[validator]
        d.fire(
            "I3",
            None,
            f"This {code} was issued by {issuer} and validated by {by} (Regulation (EU) 2023/1543 "
            f"Art. 4(1)(b), 4(2)(b), 4(3)(b)), so it is competent as an order of {by} would be.",
        )
        return Competence(frozenset({validator}), validator, f"was issued by {issuer} and validated by {by}")
    if facts.issuer_kind in instrument.issuers:
        return own
    if rule is None or facts.issuer_kind not in rule.issuers:
        d.fire(
            "I2",
            Ground.ISSUER_NOT_COMPETENT,
            f"{code} may be issued only by {issuers(instrument.issuers)}, and this order comes from "
            f"{issuer}, so the request is refused.",
            Outcome.REFUSE,
        )
        return refused
    needs = (
        f"{code} from {issuer} is valid only once validated by {issuers(rule.validators)} "
        "(Regulation (EU) 2023/1543 Art. 4(1)(b), 4(2)(b), 4(3)(b))"
    )
    if validator is not None:
        d.fire(
            "I3",
            Ground.VALIDATION_MISSING,
            f"{needs}, and this order was validated by {ISSUER[validator]}, who cannot validate it, so the "
            "request is refused.",
            Outcome.REFUSE,
        )
        return refused
    if facts.validation_pending and is_emergency(facts, instrument):
        d.fire(
            "I3",
            None,
            f"{needs}; in an emergency the validation may follow within {_hours(rule.emergency_after)} "
            "(Art. 4(5)), so this order is considered now as if validated, the validation is tracked, and "
            "if it is refused the data must not be used and the authority is told.",
        )
        return Competence(rule.validators, facts.issuer_kind, f"was issued by {issuer} and awaits validation")
    d.fire(
        "I3",
        Ground.VALIDATION_MISSING,
        f"{needs}, and this order names no validation and is no emergency whose validation may follow, so "
        "the request is refused.",
        Outcome.REFUSE,
    )
    return refused


def emergency_rules(d: Decision, facts: RequestFacts, instrument: Instrument) -> bool:
    """E1, E2. Returns whether the request counts as an emergency.

    It does when the instrument has an emergency procedure and the request invokes it, or when the
    instrument exists only for emergencies (it always requires an emergency justification).
    """
    code = instrument.code
    if is_emergency(facts, instrument):
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


def field_rules(d: Decision, facts: RequestFacts, instrument: Instrument, emergency: bool) -> None:
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
    names = join(f"'{name}'" for name in missing)
    d.fire(
        "F1",
        Ground.MISSING_REQUIRED_FIELD,
        f"{procedure[0].upper()}{procedure[1:]} requires {names}, which the "
        f"request lacks, so the authority must be asked to supply {pronoun} before a decision.",
        Outcome.CLARIFY,
    )


class Gate(Enum):
    """What the principles on who may obtain a disclosure leave of a request."""

    OPEN = "open"
    CLOSED = "closed"
    """Nothing may be disclosed: the request is refused."""
    CONFLICT = "conflict"
    """The judicial-order principle withholds what a binding order lawfully compels: counsel decides."""


COUNSEL: Final = (
    "counsel chooses whether to comply, to refuse on a ground the law lists (for an EPOC, through "
    "Annex III) or to challenge the order"
)


def disclosure_gate(
    d: Decision,
    facts: RequestFacts,
    instrument: Instrument,
    policy: PolicySet,
    *,
    emergency: bool,
    compelled: frozenset[DataCategory],
    judicial_kind: IssuerKind,
    authority: str,
) -> Gate:
    """V1 and the principles on who may obtain a disclosure (P3, P4, their emergency waiver P5).

    ``compelled`` are the requested categories the law lets this authority compel (C1-C3 pass, issuer
    competent); ``judicial_kind`` is the kind the judicial-order principle looks at (the validator's
    for a validated order); ``authority`` says who issued (and validated) the order, after "this order".
    """
    p = policy.principles
    code = instrument.code
    if instrument.voluntary:
        voluntary = p.principle(Key.VOLUNTARY_DISCLOSURE)
        if not p.voluntary_disclosure_allowed:
            d.fire(
                voluntary.id,
                Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                f"{cite(voluntary)}; {code} only permits a disclosure without compelling it, so nothing "
                "is disclosed.",
                Outcome.REFUSE,
            )
            return Gate.CLOSED
        d.fire(
            "V1",
            Ground.VOLUNTARY_DISCLOSURE,
            f"{code} ({instrument.legal_basis}) permits a disclosure without compelling it, so anything "
            f"disclosed is the platform's voluntary choice under principle {voluntary.id}.",
        )
    gate = Gate.OPEN
    waiver = p.principle(Key.EMERGENCY)
    if judicial_kind not in p.judicial_issuer_kinds:
        judicial = p.principle(Key.JUDICIAL_ORDER)
        if emergency and EmergencyWaiver.JUDICIAL_ORDER in p.emergency_waives:
            d.fire(
                waiver.id,
                None,
                f"{cite(waiver)}; this is an emergency, so the request from {ISSUER[facts.issuer_kind]} is "
                f"considered although principle {judicial.id} asks for a judicial authority.",
            )
        elif not instrument.voluntary and compelled:
            d.fire(
                judicial.id,
                Ground.PRINCIPLE_CONFLICT,
                f"{cite(judicial)}; this order {authority}, but {code} is binding and lets "
                f"that authority compel the {category_list(compelled)} data requested, so the conflict goes "
                f"to a senior reviewer and {COUNSEL}.",
                Outcome.ESCALATE,
            )
            gate = Gate.CONFLICT
        else:
            d.fire(
                judicial.id,
                Ground.PRINCIPLE_LIMITS_DISCLOSURE,
                f"{cite(judicial)}; this order {authority}, so nothing is disclosed.",
                Outcome.REFUSE,
            )
            return Gate.CLOSED
    if p.require_suspect_confirmed and not facts.suspect_confirmed:
        suspect = p.principle(Key.SUSPECT_CONFIRMED)
        if emergency and EmergencyWaiver.SUSPECT_CONFIRMATION in p.emergency_waives:
            d.fire(
                waiver.id,
                None,
                f"{cite(waiver)}; this is an emergency, so the order need not confirm a suspect as "
                f"principle {suspect.id} otherwise requires.",
            )
        else:
            d.fire(
                suspect.id,
                Ground.SUSPECT_NOT_CONFIRMED,
                f"{cite(suspect)}; this order does not confirm it, so the desk asks the authority, as its "
                "own question about a complete order that does not stop the legal deadline, to confirm "
                "that the person is a suspect in a criminal case.",
                Outcome.CLARIFY,
            )
    return gate


def removal_rules(d: Decision, instrument: Instrument, policy: PolicySet) -> None:
    """R1 / the removals principle."""
    p = policy.principles
    principle = p.principle(Key.REMOVALS)
    if p.removals_allowed:
        d.fire(
            principle.id,
            None,
            f"{cite(principle)}; {instrument.code} orders the removal of content, discloses no data, and is "
            "not limited by the disclosure principles.",
        )
    else:
        d.fire(
            principle.id,
            Ground.PRINCIPLE_REQUIRES_REVIEW,
            f"{cite(principle)}; the removal ordered under {instrument.code} therefore goes to a reviewer.",
            Outcome.ESCALATE,
        )
