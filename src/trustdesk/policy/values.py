"""The policy engine's values: the facts of a request, the outcomes and grounds, the recommendation.

Frozen, JSON-ready values shared by the rule modules and by the callers of
:func:`trustdesk.policy.engine.recommend`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from trustdesk.lawful.catalogue import FrozenMap, RequestField
from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind

__all__ = ["SEVERITY", "Ground", "Outcome", "Recommendation", "RequestFacts", "RuleFired"]


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
