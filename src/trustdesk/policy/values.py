"""The policy engine's values: the facts of a request, the outcomes and grounds, the recommendation.

Frozen, JSON-ready values shared by the rule modules and by the callers of
:func:`trustdesk.policy.engine.recommend`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from trustdesk.lawful.catalogue import FrozenMap, RequestField
from trustdesk.policy.rules import PrincipleKey
from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind

__all__ = [
    "SEVERITY",
    "Clarification",
    "Conflict",
    "Ground",
    "Outcome",
    "PeriodPart",
    "Recommendation",
    "RequestFacts",
    "RuleFired",
]


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
    INSTRUMENT_NOT_APPLICABLE = "instrument_not_applicable"
    """The law does not make the instrument available to that authority (the catalogue's jurisdictions,
    ``applies_from``, or a cross-border-only instrument from the legal representative's own State);
    ``instrument_not_recognised`` is the platform's policy not listing an instrument the law allows."""
    PRINCIPLE_CONFLICT = "principle_conflict"
    """A binding order asks for more than the principles disclose: counsel decides."""
    VALIDATION_MISSING = "validation_missing"
    """An order from a kind of authority that may issue it only with a validation, and none."""
    ENFORCING_AUTHORITY_REFUSED = "enforcing_authority_refused"
    """The notified enforcing authority raised a ground for refusal (recorded by the desk, not the engine)."""


class PeriodPart(StrEnum):
    """How much of the period a request asks about lies after its receipt (e-Evidence Art. 3(8))."""

    NONE = "none"
    PARTLY = "partly"
    WHOLLY = "wholly"


class Clarification(StrEnum):
    """Why a recommendation asks the authority a question, which decides what the question pauses."""

    INCOMPLETE_ORDER = "incomplete_order"
    """The order lacks what the law requires (F1): the legal clock is suspended (e-Evidence Art. 10(5))."""
    DESK_QUESTION = "desk_question"
    """The platform's own question about a complete order (P4): the legal clock keeps running."""


@dataclass(frozen=True)
class Conflict:
    """A principle that withholds categories a binding order legally compels (for the conflict register)."""

    principle_id: str
    principle_key: PrincipleKey
    categories: frozenset[DataCategory]

    def as_dict(self) -> dict[str, object]:
        return {
            "principle_id": self.principle_id,
            "principle_key": self.principle_key.value,
            "categories": [c.value for c in DataCategory if c in self.categories],
        }


SEVERITY: Final[Mapping[Outcome, int]] = {
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
    """False when the platform holds no data in the period for the found targets (from the connector)."""
    validator_kind: IssuerKind | None = None
    """The validating authority's kind when the order was validated (e-Evidence Art. 4(1)(b)-(3)(b))."""
    validation_pending: bool = False
    """An emergency order whose validation is to follow within 48 hours (e-Evidence Art. 4(5))."""
    by_information_system: bool = False
    """The offence was committed wholly or partly by means of an information system (Art. 5(4)(b),(c))."""
    sentence_months: int | None = None
    """The order is for the execution of a custodial sentence or detention order of this many months;
    None for an investigation (Art. 5(3))."""
    offence_in_issuing_state: bool = False
    """The offence was committed in the issuing State (Art. 8(2))."""
    person_resides_in_issuing_state: bool = False
    """The person whose data is sought resides in the issuing State (Art. 8(2))."""
    period_after_receipt: PeriodPart = PeriodPart.NONE
    """How much of the requested period lies after the order's receipt (Art. 3(8))."""
    legal_representative_country: str | None = None
    """Where the platform's contact for the requesting jurisdiction sits (for cross-border-only
    instruments)."""
    received_at: datetime | None = None
    """When the order was received (aware), for the instrument's ``applies_from``; None skips that check."""

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
        if self.sentence_months is not None and self.sentence_months < 0:
            raise ValueError(f"sentence_months must not be negative, got {self.sentence_months}")
        if self.received_at is not None and self.received_at.utcoffset() is None:
            raise ValueError(f"received_at must be aware, got {self.received_at!r}")
        if self.validation_pending and self.validator_kind is not None:
            raise ValueError("an order is either validated (validator_kind) or pending validation, not both")
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
    without an entry is handled whole (preservation, when the disclosure principles do not apply).

    ``enforcing_notification``: delivery waits for the notified enforcing authority (e-Evidence Art. 8,
    10(2)). ``conflicts``: the principles that withhold what a binding order compels (the outcome is then
    escalate, for counsel). ``clarification``: why the authority is asked a question, when it is."""

    outcome: Outcome
    allowed_categories: frozenset[DataCategory]
    allowed_fields: Mapping[DataCategory, frozenset[str]]
    grounds: tuple[Ground, ...]
    rules_fired: tuple[RuleFired, ...]
    policy_version: str
    catalogue_version: str
    enforcing_notification: bool = False
    conflicts: tuple[Conflict, ...] = ()
    clarification: Clarification | None = None

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
            "enforcing_notification": self.enforcing_notification,
            "conflicts": [c.as_dict() for c in self.conflicts],
            "clarification": None if self.clarification is None else self.clarification.value,
        }
