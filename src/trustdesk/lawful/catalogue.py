"""The instrument catalogue: what each legal instrument may compel, from whom, by when.

The rules are data, in ``instruments.toml`` next to this module. This module loads
that file, validates it strictly (unknown keys and values, missing keys and
inconsistent rules are refused with an error naming the instrument and the key) and
exposes it as frozen values. The catalogue's version is the sha256 of the file's
bytes, so every deadline can record exactly which rules produced it.

Pure: no ORM, no web, no wall clock.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Final, Generic, TypeVar

from trustdesk.legaltime import CalendarPeriod
from trustdesk.tomltable import ErrorFactory, TomlTable, parse_duration
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
    "load_catalogue",
    "parse_duration",
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

_GROUPS: Final[Mapping[str, frozenset[str]]] = {
    "EU": EU_MEMBER_STATES,
    "US": frozenset({"US"}),
}
_ANY: Final = "*"
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_OFFENCE: Final = re.compile(r"[a-z][a-z0-9_]*")


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


_ACCOUNT_TARGETS: Final = frozenset({TargetType.PHONE, TargetType.USERNAME, TargetType.USER_ID})
_TARGETS_BY_KIND: Final[Mapping[InstrumentKind, frozenset[TargetType]]] = {
    InstrumentKind.REMOVAL: frozenset({TargetType.CONTENT_URL}),
    InstrumentKind.PRODUCTION: _ACCOUNT_TARGETS,
    InstrumentKind.PRESERVATION: _ACCOUNT_TARGETS,
    InstrumentKind.INFORMATION: _ACCOUNT_TARGETS,
}
"""Which target types each kind of instrument may designate."""

_COMPELS_DATA: Final[Mapping[InstrumentKind, bool]] = {
    InstrumentKind.REMOVAL: False,
    InstrumentKind.PRODUCTION: True,
    InstrumentKind.PRESERVATION: True,
    InstrumentKind.INFORMATION: True,
}
"""Whether each kind compels data categories (at least one) or none at all."""

_HOLD: Final[Mapping[InstrumentKind, bool | None]] = {
    InstrumentKind.REMOVAL: None,  # optional: the keep-for period of removed content
    InstrumentKind.PRODUCTION: False,
    InstrumentKind.PRESERVATION: True,
    InstrumentKind.INFORMATION: False,
}
"""Whether each kind must (True), may (None) or must not (False) have a hold rule."""


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
    """Every instrument, by code. Immutable; build it with :func:`load_catalogue`."""

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


# ------------------------------------------------------------------------- loading


def _instrument_error(code: str) -> ErrorFactory:
    """Errors of an instrument's tables: they name the instrument and the key's dotted path."""

    def error(_key: str, path: str, problem: str, /) -> CatalogueError:
        shown = path or "(instrument table)"
        return CatalogueError(f"instrument {code}: key {shown!r}: {problem}", instrument=code, key=shown)

    return error


T = TypeVar("T")


def _non_empty(table: TomlTable, key: str, values: frozenset[T]) -> frozenset[T]:
    if not values:
        raise table.error(key, "must not be empty")
    return values


def _checked(table: TomlTable, key: str, build: Callable[[], T]) -> T:
    """Build a rule object, turning its own invariant checks into catalogue errors."""
    try:
        return build()
    except ValueError as exc:
        raise table.error(key, str(exc)) from None


def _jurisdictions(table: TomlTable) -> tuple[frozenset[str], bool]:
    entries = table.strings("jurisdictions")
    excluded = table.strings("jurisdictions_except", required=False)
    if not entries:
        raise table.error("jurisdictions", "must not be empty")
    if _ANY in entries:
        if len(entries) != 1:
            raise table.error("jurisdictions", "'*' (any country) must stand alone")
        if excluded:
            raise table.error("jurisdictions_except", "cannot be combined with '*'")
        return frozenset(), True
    countries: set[str] = set()
    for entry in entries:
        if entry in _GROUPS:
            countries |= _GROUPS[entry]
        elif _COUNTRY.fullmatch(entry):
            countries.add(entry)
        else:
            raise table.error(
                "jurisdictions",
                f"{entry!r} is neither an ISO 3166-1 alpha-2 code nor one of "
                f"{', '.join(repr(g) for g in (*_GROUPS, _ANY))}",
            )
    for entry in excluded:
        if entry not in countries:
            raise table.error("jurisdictions_except", f"{entry!r} is not among the jurisdictions")
    countries -= set(excluded)
    if not countries:
        raise table.error("jurisdictions_except", "excludes every jurisdiction")
    return frozenset(countries), False


def _fields(table: TomlTable, key: str, *, required: bool = True) -> frozenset[str]:
    return frozenset(table.enums(key, RequestField, required=required))


def _category(table: TomlTable) -> CategoryRule:
    issuers = _non_empty(table, "issuers", table.enums("issuers", IssuerKind))
    min_years = table.optional("min_penalty_years", int, "an integer")
    if min_years is not None and min_years < 1:
        raise table.error("min_penalty_years", f"must be at least 1, got {min_years}")
    offences = table.strings("listed_offences", required=False)
    for offence in offences:
        if not _OFFENCE.fullmatch(offence):
            raise table.error("listed_offences", f"{offence!r} must be a snake_case identifier")
    if offences and min_years is None:
        raise table.error("listed_offences", "qualifying offences need a min_penalty_years threshold")
    table.finish()
    return CategoryRule(issuers, min_years, frozenset(offences))


def _deadline(table: TomlTable) -> DeadlineRule:
    standard = table.duration("standard")
    emergency = table.optional_duration("emergency")
    configurable = table.flag("configurable")
    as_ordered = table.flag("as_ordered")
    pause = table.enum("pause", PauseRule)
    table.finish()
    return _checked(
        table,
        "",
        lambda: DeadlineRule(standard, emergency, configurable, as_ordered, pause),
    )


def _period(table: TomlTable, key: str, *, required: bool = True) -> CalendarPeriod | None:
    text = (
        table.required(key, str, "a period like 'P6M'") if required else table.optional(key, str, "a period")
    )
    if text is None:
        return None
    try:
        return CalendarPeriod.parse(text)
    except ValueError as exc:
        raise table.error(key, str(exc)) from None


def _hold(table: TomlTable) -> HoldRule:
    duration = _period(table, "duration")
    assert duration is not None
    max_extensions = table.required("max_extensions", int, "an integer")
    extension = _period(table, "extension", required=False)
    if extension is None and max_extensions > 0:
        raise table.error("extension", "missing (needed when max_extensions > 0)")
    until_confirmed = table.flag("until_production_confirmed", default=False)
    as_required = table.flag("extension_as_required", default=False)
    table.finish()
    return _checked(
        table,
        "",
        lambda: HoldRule(duration, extension, max_extensions, until_confirmed, as_required),
    )


def _validation(table: TomlTable) -> ValidationRule:
    issuers = _non_empty(table, "issuers", table.enums("issuers", IssuerKind))
    validators = _non_empty(table, "validators", table.enums("validators", IssuerKind))
    both = issuers & validators
    if both:
        raise table.error("validators", f"{', '.join(sorted(both))} cannot both need and give a validation")
    emergency_after = table.duration("emergency_after")
    table.finish()
    return ValidationRule(issuers, validators, emergency_after)


def _confidentiality(table: TomlTable) -> ConfidentialityRule:
    rule = ConfidentialityRule(
        table.duration("max"),
        table.duration("extension"),
        table.required("max_extensions", int, "an integer"),
    )
    if isinstance(rule.max_extensions, bool) or rule.max_extensions < 0:
        raise table.error("max_extensions", f"must be a non-negative integer, got {rule.max_extensions!r}")
    table.finish()
    return rule


def _scrutiny(table: TomlTable) -> ScrutinyRule:
    rule = ScrutinyRule(table.duration("request_within"), table.duration("decision_within"))
    table.finish()
    return rule


def _positive(table: TomlTable, key: str) -> timedelta | None:
    value = table.optional_duration(key)
    if value is not None and value <= timedelta(0):
        raise table.error(key, f"must be positive, got {value}")
    return value


T2 = TypeVar("T2")


def _sub(table: TomlTable, key: str, build: Callable[[TomlTable], T2]) -> T2 | None:
    sub = table.optional_table(key)
    return None if sub is None else build(sub)


def _categories(table: TomlTable | None) -> Mapping[DataCategory, CategoryRule]:
    if table is None:
        return FrozenMap()
    rules: dict[DataCategory, CategoryRule] = {}
    for name in list(table.raw):
        category = table.member(name, DataCategory, name)
        rules[category] = _category(table.table(name))
    table.finish()
    return FrozenMap((c, rules[c]) for c in DataCategory if c in rules)


def _instrument(code: InstrumentCode, raw: object) -> Instrument:
    table = TomlTable(raw, _instrument_error(code))
    kind = table.enum("kind", InstrumentKind)
    issuers = _non_empty(table, "issuers", table.enums("issuers", IssuerKind))
    jurisdictions, any_jurisdiction = _jurisdictions(table)
    targets = table.enums("target_types", TargetType)
    required_fields = _fields(table, "required_fields")
    emergency_fields = _fields(table, "emergency_required_fields", required=False)
    enforcing = table.enums("enforcing_notification", DataCategory, required=False)
    deadline = _deadline(table.table("deadline"))
    hold_table = table.optional_table("hold")
    hold = None if hold_table is None else _hold(hold_table)
    categories = _categories(table.optional_table("categories"))
    min_months = table.optional("sentence_execution_min_months", int, "an integer")
    if min_months is not None and (isinstance(min_months, bool) or min_months < 1):
        raise table.error("sentence_execution_min_months", f"must be at least 1, got {min_months!r}")
    is_offences = table.strings("information_system_offences", required=False)
    instrument = Instrument(
        code=code,
        title=table.text("title"),
        legal_basis=table.text("legal_basis"),
        kind=kind,
        jurisdictions=jurisdictions,
        any_jurisdiction=any_jurisdiction,
        applies_from=table.optional("applies_from", date, "a date like 2026-08-18"),
        target_types=_non_empty(table, "target_types", targets),
        categories=categories,
        required_fields=required_fields,
        deadline=deadline,
        hold=hold,
        notice=table.enum("notice", UserNoticeRule),
        issuers=issuers,
        emergency_required_fields=emergency_fields,
        enforcing_notification=enforcing,
        callback_verification=table.flag("callback_verification", default=False),
        voluntary=table.flag("voluntary", default=False),
        cross_border_only=table.flag("cross_border_only", default=False),
        preserve_on_receipt=table.flag("preserve_on_receipt", default=False),
        validation=_sub(table, "validation", _validation),
        information_system_offences=frozenset(is_offences),
        sentence_execution_min_months=min_months,
        territorial_scope_allowed=table.flag("territorial_scope_allowed", default=True),
        confidentiality=_sub(table, "confidentiality", _confidentiality),
        cross_border_scrutiny=_sub(table, "cross_border_scrutiny", _scrutiny),
        complaint_answer_within=_positive(table, "complaint_answer_within"),
        first_order_notice=_positive(table, "first_order_notice"),
        objection_window=_positive(table, "objection_window"),
    )
    table.finish()
    _check_consistency(table, instrument)
    return instrument


def _check_consistency(table: TomlTable, ins: Instrument) -> None:
    """Rules between the parts of an instrument; each is a fact about the law's shape."""
    wrong_targets = ins.target_types - _TARGETS_BY_KIND[ins.kind]
    if wrong_targets:
        raise table.error(
            "target_types",
            f"{', '.join(sorted(wrong_targets))} cannot be the target of a {ins.kind} instrument",
        )
    if _COMPELS_DATA[ins.kind] and not ins.categories:
        raise table.error("categories", f"a {ins.kind} instrument needs a category")
    if not _COMPELS_DATA[ins.kind] and ins.categories:
        raise table.error("categories", f"a {ins.kind} instrument compels no data")
    hold_needed = _HOLD[ins.kind]
    if hold_needed is True and ins.hold is None:
        raise table.error("hold", f"a {ins.kind} instrument needs a hold rule")
    if hold_needed is False and ins.hold is not None:
        raise table.error("hold", f"a {ins.kind} instrument has no hold rule")
    for category, rule in ins.categories.items():
        extra = rule.issuers - ins.issuers
        if extra:
            raise table.error(
                f"categories.{category}.issuers",
                f"{', '.join(sorted(extra))} may not issue this instrument at all",
            )
    not_compelled = ins.enforcing_notification - set(ins.categories)
    if not_compelled:
        raise table.error(
            "enforcing_notification",
            f"{', '.join(sorted(not_compelled))} is not compelled by this instrument",
        )
    if RequestField.TARGETS not in ins.required_fields:
        raise table.error("required_fields", "must include 'targets'")
    if bool(ins.categories) != (RequestField.DATA_CATEGORIES in ins.required_fields):
        need = "must" if ins.categories else "must not"
        raise table.error("required_fields", f"{need} include 'data_categories'")
    has_threshold = any(rule.min_penalty_years is not None for rule in ins.categories.values())
    if has_threshold and (RequestField.OFFENCE_MAX_PENALTY_YEARS not in ins.required_fields):
        raise table.error(
            "required_fields",
            "a penalty threshold needs 'offence.max_penalty_years'",
        )
    if ins.emergency_required_fields and not ins.supports_emergency:
        raise table.error("emergency_required_fields", "the instrument has no emergency track")
    if ins.validation is not None:
        outside = ins.validation.validators - ins.issuers
        if outside:
            raise table.error(
                "validation.validators",
                f"{', '.join(sorted(outside))} may not issue this instrument, so cannot validate it",
            )
    listed = frozenset().union(*(rule.listed_offences for rule in ins.categories.values()))
    unlisted = ins.information_system_offences - listed
    if unlisted:
        raise table.error(
            "information_system_offences", f"{', '.join(sorted(unlisted))} is not a listed offence here"
        )
    if ins.objection_window is not None and not ins.supports_emergency:
        raise table.error("objection_window", "follows an emergency delivery: the instrument has none")
    if ins.preserve_on_receipt and ins.kind is not InstrumentKind.PRODUCTION:
        raise table.error("preserve_on_receipt", f"a {ins.kind} instrument produces nothing to preserve")
    removal_only = {
        "territorial_scope_allowed": not ins.territorial_scope_allowed,
        "confidentiality": ins.confidentiality is not None,
        "cross_border_scrutiny": ins.cross_border_scrutiny is not None,
        "complaint_answer_within": ins.complaint_answer_within is not None,
        "first_order_notice": ins.first_order_notice is not None,
    }
    for key, present in removal_only.items():
        if present and ins.kind is not InstrumentKind.REMOVAL:
            raise table.error(key, f"applies to removal orders only, not to a {ins.kind} instrument")
    if not ins.territorial_scope_allowed and RequestField.TERRITORIAL_SCOPE in ins.required_fields:
        raise table.error(
            "required_fields", "'territorial_scope' is refused by territorial_scope_allowed = false"
        )


def _parse(data: bytes, source: str) -> list[Instrument]:
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"catalogue {source}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"schema_version", "instruments"})
    if unknown:
        raise CatalogueError(
            f"catalogue {source}: unknown top-level key {unknown[0]!r}",
            key=unknown[0],
        )
    schema = document.get("schema_version")
    if isinstance(schema, bool) or schema != SCHEMA_VERSION:
        raise CatalogueError(
            f"catalogue {source}: schema_version must be {SCHEMA_VERSION}, got {schema!r}",
            key="schema_version",
        )
    instruments = document.get("instruments")
    if not isinstance(instruments, dict):
        raise CatalogueError(
            f"catalogue {source}: needs an [instruments.<CODE>] table per instrument",
            key="instruments",
        )
    parsed: list[Instrument] = []
    for name, raw in instruments.items():
        try:
            code = InstrumentCode(name)
        except ValueError:
            raise CatalogueError(
                f"instrument {name}: unknown instrument code; known: {', '.join(InstrumentCode)}",
                instrument=name,
            ) from None
        parsed.append(_instrument(code, raw))
    return parsed


def _override(instrument: Instrument, standard: object) -> Instrument:
    code = instrument.code
    where = {"instrument": str(code), "key": "deadline.standard"}
    if not isinstance(standard, timedelta):
        raise CatalogueError(
            f"instrument {code}: override must be a timedelta, got {standard!r}",
            **where,
        )
    if standard <= timedelta(0):
        raise CatalogueError(f"instrument {code}: override must be positive, got {standard}", **where)
    old = instrument.deadline
    if not old.configurable:
        raise CatalogueError(
            f"instrument {code}: cannot override the deadline of {old.standard}: the law fixes this deadline",
            **where,
        )
    # The emergency track is never slower than the standard one.
    emergency = None if old.emergency is None else min(old.emergency, standard)
    return replace(instrument, deadline=replace(old, standard=standard, emergency=emergency))


def _default_bytes() -> bytes:
    return resources.files(__package__ or "trustdesk.lawful").joinpath("instruments.toml").read_bytes()


def load_catalogue(
    overrides: Mapping[str, timedelta] | None = None, *, path: Path | None = None
) -> Catalogue:
    """Load and validate the catalogue: the packaged ``instruments.toml`` or ``path``.

    ``overrides`` maps instrument codes to this deployment's standard deadline. It is
    refused for unknown codes, non-positive durations and instruments whose deadline
    the law fixes; a shorter target also shortens a longer emergency target.
    Raises :class:`CatalogueError`, naming the instrument and the key.
    """
    source = "instruments.toml" if path is None else str(path)
    try:
        data = _default_bytes() if path is None else path.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"catalogue {source}: cannot be read: {exc}") from None
    instruments = Catalogue(_parse(data, source), "")  # complete before overriding
    by_code = {instrument.code: instrument for instrument in instruments}
    applied: dict[InstrumentCode, timedelta] = {}
    for name, standard in (overrides or {}).items():
        try:
            code = InstrumentCode(name)
        except ValueError:
            raise CatalogueError(
                f"override for unknown instrument {name!r}; known: {', '.join(InstrumentCode)}",
                instrument=str(name),
            ) from None
        by_code[code] = _override(by_code[code], standard)
        applied[code] = standard
    version = hashlib.sha256(data).hexdigest()
    return Catalogue(by_code.values(), version, applied)
