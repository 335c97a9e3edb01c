"""The instrument catalogue: what each legal instrument may compel, from whom, by when.

The rules are data, in ``instruments.toml`` next to this module. This module loads
that file, validates it strictly (unknown keys and values, missing keys and
inconsistent rules are refused with an error naming the instrument and the key) and
exposes it as frozen values. The catalogue's version is the sha256 of the file's
bytes, so every deadline can record exactly which rules produced it.

Pure: no ORM, no web, no wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final, Generic, TypeVar

from trustdesk.legaltime import CalendarPeriod
from trustdesk.vocabulary import (
    DataCategory,
    InstrumentCode,
    InstrumentKind,
    IssuerKind,
    TargetType,
)

__all__ = [
    "EU_MEMBER_STATES",
    "SCHEMA_VERSION",
    "CalendarPeriod",
    "Catalogue",
    "CatalogueError",
    "CategoryRule",
    "ConfidentialityRule",
    "DeadlineRule",
    "FrozenMap",
    "HoldRule",
    "Instrument",
    "PauseRule",
    "RequestField",
    "ScrutinyRule",
    "UnknownInstrument",
    "UserNoticeRule",
    "ValidationRule",
]

SCHEMA_VERSION: Final = 1
"""The catalogue file format this module reads (``schema_version`` in the TOML)."""

EU_MEMBER_STATES: Final[frozenset[str]] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES",
        "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
        "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
"""The 27 EU member states, ISO 3166-1 alpha-2 (Greece is ``GR``, not ``EL``)."""


class PauseRule(StrEnum):
    """What a pause (a clarification, an impediment) does to the deadline clock."""

    NONE = "none"
    """Pauses do not exist for this instrument: the deadline stands regardless."""
    SUSPEND = "suspend"
    """The clock stops during the pause and resumes after it: the deadline shifts by
    the pause's length (EPOC, EPOC-PR: a clarification stops the clock until the
    authority answers)."""
    RESTART = "restart"
    """When the pause ends, the full period starts again from its end (TCO: the hour
    runs again once the reason for non-execution is gone)."""


class UserNoticeRule(StrEnum):
    """Who tells the person whose data or content is concerned, and when."""

    ISSUING_AUTHORITY_INFORMS = "issuing_authority_informs"
    """The issuing authority informs the person; the provider must not, unless the
    authority says so (e-Evidence Art. 13)."""
    BEFORE_DISCLOSURE_UNLESS_BARRED = "before_disclosure_unless_barred"
    """Notify the user before disclosing, unless a non-disclosure order
    (18 U.S.C. § 2705(b)) or another legal bar applies; then when it lapses."""
    AFTER_DISCLOSURE_UNLESS_BARRED = "after_disclosure_unless_barred"
    """Notify the user after disclosing (an emergency leaves no time before), unless
    a non-disclosure order applies; then when it lapses."""
    INFORM_CONTENT_PROVIDER_UNLESS_CONFIDENTIAL = "inform_content_provider_unless_confidential"
    """Inform the content provider of the removal and its reasons, unless the
    authority requires confidentiality for a limited time (TCO Art. 11, DSA Art. 9)."""
    INFORM_RECIPIENT_UNLESS_DEFERRED = "inform_recipient_unless_deferred"
    """Inform the recipient of the service of the order and the effect given, when
    effect is given or at the later time the issuing authority sets (DSA Art. 10)."""
    NONE_REQUIRED = "none_required"
    """No notice is due (nothing is disclosed or removed, e.g. a preservation hold)."""
    PER_ORDER = "per_order"
    """The order itself says whether, when and by whom the user is told."""


class RequestField(StrEnum):
    """Fields a request may have to carry; ``required_fields`` use these names."""

    ISSUING_AUTHORITY = "issuing_authority"
    LEGAL_BASIS = "legal_basis"
    STATEMENT_OF_REASONS = "statement_of_reasons"
    REDRESS_INFORMATION = "redress_information"
    TERRITORIAL_SCOPE = "territorial_scope"
    TARGETS = "targets"
    DATA_CATEGORIES = "data_categories"
    OFFENCE = "offence"
    OFFENCE_MAX_PENALTY_YEARS = "offence.max_penalty_years"
    EMERGENCY_JUSTIFICATION = "emergency_justification"
    SUPERVISOR_CONTACT = "supervisor_contact"
    ORDER_DOCUMENT = "order_document"


K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping backed by a tuple of pairs, in the given order."""

    __slots__ = ("_index", "_pairs")

    def __init__(self, pairs: Iterable[tuple[K, V]] = ()) -> None:
        items = tuple(pairs)
        index = dict(items)
        if len(index) != len(items):
            raise ValueError("FrozenMap: duplicate keys")
        self._pairs = items
        self._index = index

    def __getitem__(self, key: K) -> V:
        return self._index[key]

    def __iter__(self) -> Iterator[K]:
        return (key for key, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return hash(frozenset(self._pairs))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._index == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._index!r})"


class CatalogueError(ValueError):
    """The catalogue, or an override of it, is invalid.

    The message names the instrument and the key; both are also attributes.
    """

    def __init__(self, message: str, *, instrument: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.instrument = instrument
        self.key = key


class UnknownInstrument(KeyError):
    """An instrument code the catalogue does not know."""

    def __init__(self, code: object) -> None:
        self.code = code
        self.message = f"unknown instrument {code!r}; known instruments: {', '.join(InstrumentCode)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CategoryRule:
    """Who may compel one data category with an instrument, and for which offences."""

    issuers: frozenset[IssuerKind]
    min_penalty_years: int | None = None
    """The offence's maximum custodial sentence must be at least this (None: any)."""
    listed_offences: frozenset[str] = frozenset()
    """Offences that qualify regardless of the penalty threshold."""


@dataclass(frozen=True)
class DeadlineRule:
    """How long the platform has to act on an instrument."""

    standard: timedelta
    emergency: timedelta | None
    """The emergency track's period; None when the instrument has none."""
    configurable: bool
    """The law says "without undue delay" or leaves the date to the order, so
    ``standard`` is the platform's own default target and may be overridden."""
    as_ordered: bool
    """The order itself may set the due date, which then replaces ``standard``."""
    pause: PauseRule

    def __post_init__(self) -> None:
        if self.standard <= timedelta(0):
            raise ValueError(f"standard must be positive, got {self.standard}")
        if self.emergency is not None:
            if self.emergency <= timedelta(0):
                raise ValueError(f"emergency must be positive, got {self.emergency}")
            if self.emergency > self.standard:
                raise ValueError(f"emergency {self.emergency} is longer than standard {self.standard}")


@dataclass(frozen=True)
class HoldRule:
    """How long preserved (or removed-and-kept) data is held, and how far it extends.

    Periods are :class:`CalendarPeriod` (TCO Art. 6(2) keeps content six *calendar* months);
    ``placed_at + rule.duration`` works and means ``rule.duration.after(placed_at)``.
    """

    duration: CalendarPeriod
    extension: CalendarPeriod | None
    """One extension's length; None when the rule allows no fixed extension."""
    max_extensions: int
    until_production_confirmed: bool = False
    """Once the authority confirms that a production request was issued (e-Evidence Annex V),
    the data is kept as long as needed to produce it (Art. 11(1)): the hold no longer lapses."""
    extension_as_required: bool = False
    """Kept longer when, and as long as, a competent authority or court requires (TCO Art. 6(2)):
    no fixed cap."""

    def __post_init__(self) -> None:
        if self.duration.is_zero:
            raise ValueError(f"duration must be positive, got {self.duration}")
        if isinstance(self.max_extensions, bool) or self.max_extensions < 0:
            raise ValueError(f"max_extensions must be a non-negative integer, got {self.max_extensions!r}")
        if self.max_extensions > 0 and (self.extension is None or self.extension.is_zero):
            raise ValueError("extension must be positive when extensions are allowed")
        if self.max_extensions == 0 and self.extension is not None:
            raise ValueError("an extension needs max_extensions > 0")


@dataclass(frozen=True)
class ValidationRule:
    """Orders some authorities may issue only with a validation (e-Evidence Art. 4(1)(b), 4(2)(b),
    4(3)(b)); a validated order is competent as its validator would be."""

    issuers: frozenset[IssuerKind]
    """Kinds that may issue only with a validation (police, regulator, other)."""
    validators: frozenset[IssuerKind]
    """Kinds that may validate (prosecutor, investigating judge, court)."""
    emergency_after: timedelta
    """An emergency order may be validated afterwards, within this period (Art. 4(5): 48 hours)."""


@dataclass(frozen=True)
class ConfidentialityRule:
    """How long the issuing authority may keep a removal confidential (TCO Art. 11(3))."""

    max: timedelta
    extension: timedelta
    max_extensions: int


@dataclass(frozen=True)
class ScrutinyRule:
    """Cross-border scrutiny of a removal order (TCO Art. 4(2), (4))."""

    request_within: timedelta
    """The provider or content provider may request scrutiny within this period of receipt."""
    decision_within: timedelta
    """The competent authority of the host State decides within this period of the request."""


@dataclass(frozen=True)
class Instrument:
    """One legal instrument and everything the desk needs to know to handle it."""

    code: InstrumentCode
    title: str
    legal_basis: str
    kind: InstrumentKind
    jurisdictions: frozenset[str]
    """ISO 3166-1 alpha-2 codes of the countries whose authorities may use it;
    empty when ``any_jurisdiction``."""
    any_jurisdiction: bool
    applies_from: date | None
    target_types: frozenset[TargetType]
    categories: Mapping[DataCategory, CategoryRule]
    required_fields: frozenset[str]
    deadline: DeadlineRule
    hold: HoldRule | None
    notice: UserNoticeRule
    issuers: frozenset[IssuerKind] = frozenset()
    """Kinds of authority that may issue the instrument at all (a superset of
    every category's issuers)."""
    emergency_required_fields: frozenset[str] = frozenset()
    """Fields required on top of ``required_fields`` on the emergency track."""
    enforcing_notification: frozenset[DataCategory] = frozenset()
    """Categories for which the enforcing authority must be notified (e-Evidence
    Art. 8; the request decides whether an exception applies)."""
    callback_verification: bool = False
    """The requester must be verified by calling back before anything is disclosed."""
    voluntary: bool = False
    """The law permits compliance but does not compel it."""
    cross_border_only: bool = False
    """An order to an addressee in ANOTHER State (e-Evidence Art. 1(1), 3): from the State where the
    platform's contact for that jurisdiction sits it is a national order, not this instrument."""
    preserve_on_receipt: bool = False
    """Preserve the data sought as soon as the order is received (e-Evidence Art. 10(1))."""
    validation: ValidationRule | None = None
    """Who issues only with a validation, and who validates (e-Evidence Art. 4)."""
    information_system_offences: frozenset[str] = frozenset()
    """Listed offences that qualify only when committed wholly or partly by means of an
    information system (e-Evidence Art. 5(4)(b), (c))."""
    sentence_execution_min_months: int | None = None
    """An order for the execution of a custodial sentence or detention order needs one of at
    least this many months (e-Evidence Art. 5(3); Art. 5(4)(d) for traffic and content)."""
    territorial_scope_allowed: bool = True
    """Whether an order may limit its territorial scope (TCO Art. 3(3): no, all Member States)."""
    confidentiality: ConfidentialityRule | None = None
    """How long the authority may keep the measure confidential (TCO Art. 11(3))."""
    cross_border_scrutiny: ScrutinyRule | None = None
    """Scrutiny of an order from another Member State (TCO Art. 4)."""
    complaint_answer_within: timedelta | None = None
    """The content provider's complaint is answered within this period (TCO Art. 10(2))."""
    first_order_notice: timedelta | None = None
    """A first order to a provider is announced this long before (TCO Art. 3(2); not in emergencies)."""
    objection_window: timedelta | None = None
    """After an emergency delivery, the notified enforcing authority may object within this period
    (e-Evidence Art. 10(4): 96 hours)."""

    def applies_in(self, country: str, at: datetime) -> bool:
        """Whether an authority of ``country`` can use this instrument at ``at``.

        ``at`` must be aware; ``applies_from`` is compared with its UTC date.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"applies_in needs an aware datetime, got {at!r}")
        if not (self.any_jurisdiction or country.upper() in self.jurisdictions):
            return False
        return self.applies_from is None or at.astimezone(UTC).date() >= self.applies_from

    @property
    def supports_emergency(self) -> bool:
        """Whether the instrument has an emergency track (a shorter deadline)."""
        return self.deadline.emergency is not None


class Catalogue:
    """Every instrument, by code. Immutable; built by ``catalogue_file.load_catalogue``."""

    __slots__ = ("_by_code", "overrides", "version")

    def __init__(
        self,
        instruments: Iterable[Instrument],
        version: str,
        overrides: Mapping[InstrumentCode, timedelta] | None = None,
    ) -> None:
        by_code: dict[InstrumentCode, Instrument] = {}
        for instrument in instruments:
            if instrument.code in by_code:
                raise CatalogueError(
                    f"instrument {instrument.code}: listed twice",
                    instrument=instrument.code,
                )
            by_code[instrument.code] = instrument
        missing = [code for code in InstrumentCode if code not in by_code]
        if missing:
            raise CatalogueError(
                f"instrument {missing[0]}: missing from the catalogue (missing: {', '.join(missing)})",
                instrument=missing[0],
            )
        self._by_code: Mapping[InstrumentCode, Instrument] = FrozenMap(
            (code, by_code[code]) for code in InstrumentCode
        )
        self.version: str = version
        """sha256 hex digest of the catalogue file's bytes."""
        self.overrides: Mapping[InstrumentCode, timedelta] = FrozenMap((overrides or {}).items())
        """Standard deadlines this deployment overrode (configurable ones only)."""

    def get(self, code: InstrumentCode | str) -> Instrument:
        """The instrument with this code; :class:`UnknownInstrument` if none."""
        try:
            key = InstrumentCode(code)
        except ValueError:
            raise UnknownInstrument(code) from None
        return self._by_code[key]

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def __repr__(self) -> str:
        return f"Catalogue(version={self.version[:12]!r}, instruments={len(self)})"
