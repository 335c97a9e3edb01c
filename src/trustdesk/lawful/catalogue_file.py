"""Loading the instrument catalogue: ``instruments.toml`` validated into the frozen values of
:mod:`trustdesk.lawful.catalogue`.

The file's shape is a set of Pydantic models (:class:`~trustdesk.strictfile.FileModel`: unknown keys
refused, no coercion); the rules between the parts of an instrument — which facts of the law's shape
hold together — are validators naming the exact key. Every fault becomes a :class:`CatalogueError` naming
the instrument and the key's dotted path. The catalogue's version is the sha256 of the file's bytes.

Pure but for reading the file: no ORM, no web, no wall clock.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Self

from pydantic import AfterValidator, Field, ValidationError, model_validator

from trustdesk.lawful.catalogue import (
    EU_MEMBER_STATES,
    SCHEMA_VERSION,
    Catalogue,
    CatalogueError,
    CategoryRule,
    ConfidentialityRule,
    DeadlineRule,
    FrozenMap,
    HoldRule,
    Instrument,
    PauseRule,
    RequestField,
    ScrutinyRule,
    UserNoticeRule,
    ValidationRule,
)
from trustdesk.strictfile import (
    Date,
    Duration,
    FileModel,
    Flag,
    Integer,
    Period,
    Text,
    at,
    distinct,
    member,
    problems,
)
from trustdesk.vocabulary import DataCategory, InstrumentCode, InstrumentKind, IssuerKind, TargetType

__all__ = ["load_catalogue"]

_GROUPS: Final[Mapping[str, frozenset[str]]] = {"EU": EU_MEMBER_STATES, "US": frozenset({"US"})}
_ANY: Final = "*"
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_OFFENCE: Final = re.compile(r"[a-z][a-z0-9_]*")

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


def _non_empty(values: list[Any]) -> list[Any]:
    if not values:
        raise ValueError("must not be empty")
    return values


Issuer = Annotated[IssuerKind, member(IssuerKind)]
Issuers = Annotated[list[Issuer], AfterValidator(distinct), AfterValidator(_non_empty)]
Fields = Annotated[list[Annotated[RequestField, member(RequestField)]], AfterValidator(distinct)]
Category = Annotated[DataCategory, member(DataCategory)]
Categories = Annotated[list[Category], AfterValidator(distinct)]
Targets = Annotated[list[Annotated[TargetType, member(TargetType)]], AfterValidator(distinct)]
Strings = Annotated[list[str], AfterValidator(distinct)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be positive, got {value}")
    return value


Positive = Annotated[Duration, AfterValidator(_positive)]


class CategoryFile(FileModel):
    issuers: Issuers
    min_penalty_years: Annotated[Integer, Field(ge=1)] | None = None
    listed_offences: Strings = Field(default_factory=list)

    @model_validator(mode="after")
    def _offences(self) -> Self:
        for offence in self.listed_offences:
            if not _OFFENCE.fullmatch(offence):
                raise at("listed_offences", f"{offence!r} must be a snake_case identifier")
        if self.listed_offences and self.min_penalty_years is None:
            raise at("listed_offences", "qualifying offences need a min_penalty_years threshold")
        return self

    def value(self) -> CategoryRule:
        return CategoryRule(frozenset(self.issuers), self.min_penalty_years, frozenset(self.listed_offences))


class DeadlineFile(FileModel):
    standard: Duration
    emergency: Duration | None = None
    configurable: Flag
    as_ordered: Flag
    pause: Annotated[PauseRule, member(PauseRule)]

    @model_validator(mode="after")
    def _rule(self) -> Self:
        self.value()  # the rule's own invariants (positive, emergency never slower)
        return self

    def value(self) -> DeadlineRule:
        return DeadlineRule(self.standard, self.emergency, self.configurable, self.as_ordered, self.pause)


class HoldFile(FileModel):
    duration: Period
    max_extensions: Annotated[Integer, Field(ge=0)]
    extension: Period | None = None
    until_production_confirmed: Flag = False
    extension_as_required: Flag = False

    @model_validator(mode="after")
    def _rule(self) -> Self:
        if self.extension is None and self.max_extensions > 0:
            raise at("extension", "missing (needed when max_extensions > 0)")
        self.value()
        return self

    def value(self) -> HoldRule:
        return HoldRule(
            self.duration,
            self.extension,
            self.max_extensions,
            self.until_production_confirmed,
            self.extension_as_required,
        )


class ValidationFile(FileModel):
    issuers: Issuers
    validators: Issuers
    emergency_after: Duration

    @model_validator(mode="after")
    def _distinct_roles(self) -> Self:
        both = set(self.issuers) & set(self.validators)
        if both:
            raise at("validators", f"{', '.join(sorted(both))} cannot both need and give a validation")
        return self


class ConfidentialityFile(FileModel):
    max: Duration
    extension: Duration
    max_extensions: Annotated[Integer, Field(ge=0)]


class ScrutinyFile(FileModel):
    request_within: Duration
    decision_within: Duration


class InstrumentFile(FileModel):
    """One ``[instruments.<CODE>]`` table."""

    title: Text
    legal_basis: Text
    kind: Annotated[InstrumentKind, member(InstrumentKind)]
    issuers: Issuers
    jurisdictions: Annotated[Strings, AfterValidator(_non_empty)]
    jurisdictions_except: Strings = Field(default_factory=list)
    applies_from: Date | None = None
    target_types: Annotated[Targets, AfterValidator(_non_empty)]
    categories: dict[Category, CategoryFile] = Field(default_factory=dict)
    required_fields: Fields
    emergency_required_fields: Fields = Field(default_factory=list)
    enforcing_notification: Categories = Field(default_factory=list)
    deadline: DeadlineFile
    hold: HoldFile | None = None
    notice: Annotated[UserNoticeRule, member(UserNoticeRule)]
    callback_verification: Flag = False
    voluntary: Flag = False
    cross_border_only: Flag = False
    preserve_on_receipt: Flag = False
    validation: ValidationFile | None = None
    information_system_offences: Strings = Field(default_factory=list)
    sentence_execution_min_months: Annotated[Integer, Field(ge=1)] | None = None
    territorial_scope_allowed: Flag = True
    confidentiality: ConfidentialityFile | None = None
    cross_border_scrutiny: ScrutinyFile | None = None
    complaint_answer_within: Positive | None = None
    first_order_notice: Positive | None = None
    objection_window: Positive | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        """Rules between the parts of an instrument; each is a fact about the law's shape."""
        self.countries()
        kind = self.kind
        wrong = set(self.target_types) - _TARGETS_BY_KIND[kind]
        if wrong:
            raise at(
                "target_types", f"{', '.join(sorted(wrong))} cannot be the target of a {kind} instrument"
            )
        if _COMPELS_DATA[kind] and not self.categories:
            raise at("categories", f"a {kind} instrument needs a category")
        if not _COMPELS_DATA[kind] and self.categories:
            raise at("categories", f"a {kind} instrument compels no data")
        if _HOLD[kind] is True and self.hold is None:
            raise at("hold", f"a {kind} instrument needs a hold rule")
        if _HOLD[kind] is False and self.hold is not None:
            raise at("hold", f"a {kind} instrument has no hold rule")
        for category, rule in self.categories.items():
            extra = set(rule.issuers) - set(self.issuers)
            if extra:
                raise at(
                    f"categories.{category}.issuers",
                    f"{', '.join(sorted(extra))} may not issue this instrument at all",
                )
        not_compelled = set(self.enforcing_notification) - set(self.categories)
        if not_compelled:
            raise at(
                "enforcing_notification",
                f"{', '.join(sorted(not_compelled))} is not compelled by this instrument",
            )
        fields = set(self.required_fields)
        if RequestField.TARGETS not in fields:
            raise at("required_fields", "must include 'targets'")
        if bool(self.categories) != (RequestField.DATA_CATEGORIES in fields):
            raise at(
                "required_fields", f"{'must' if self.categories else 'must not'} include 'data_categories'"
            )
        if any(r.min_penalty_years is not None for r in self.categories.values()) and (
            RequestField.OFFENCE_MAX_PENALTY_YEARS not in fields
        ):
            raise at("required_fields", "a penalty threshold needs 'offence.max_penalty_years'")
        if self.emergency_required_fields and self.deadline.emergency is None:
            raise at("emergency_required_fields", "the instrument has no emergency track")
        if self.validation is not None:
            outside = set(self.validation.validators) - set(self.issuers)
            if outside:
                raise at(
                    "validation.validators",
                    f"{', '.join(sorted(outside))} may not issue this instrument, so cannot validate it",
                )
        listed = {o for rule in self.categories.values() for o in rule.listed_offences}
        unlisted = set(self.information_system_offences) - listed
        if unlisted:
            raise at(
                "information_system_offences", f"{', '.join(sorted(unlisted))} is not a listed offence here"
            )
        if self.objection_window is not None and self.deadline.emergency is None:
            raise at("objection_window", "follows an emergency delivery: the instrument has none")
        if self.preserve_on_receipt and kind is not InstrumentKind.PRODUCTION:
            raise at("preserve_on_receipt", f"a {kind} instrument produces nothing to preserve")
        removal_only = {
            "territorial_scope_allowed": not self.territorial_scope_allowed,
            "confidentiality": self.confidentiality is not None,
            "cross_border_scrutiny": self.cross_border_scrutiny is not None,
            "complaint_answer_within": self.complaint_answer_within is not None,
            "first_order_notice": self.first_order_notice is not None,
        }
        for key, present in removal_only.items():
            if present and kind is not InstrumentKind.REMOVAL:
                raise at(key, f"applies to removal orders only, not to a {kind} instrument")
        if not self.territorial_scope_allowed and RequestField.TERRITORIAL_SCOPE in fields:
            raise at("required_fields", "'territorial_scope' is refused by territorial_scope_allowed = false")
        return self

    def countries(self) -> tuple[frozenset[str], bool]:
        """The countries whose authorities may use it, or ``(∅, True)`` for any country."""
        entries, excluded = self.jurisdictions, self.jurisdictions_except
        if _ANY in entries:
            if len(entries) != 1:
                raise at("jurisdictions", "'*' (any country) must stand alone")
            if excluded:
                raise at("jurisdictions_except", "cannot be combined with '*'")
            return frozenset(), True
        countries: set[str] = set()
        for entry in entries:
            if entry in _GROUPS:
                countries |= _GROUPS[entry]
            elif _COUNTRY.fullmatch(entry):
                countries.add(entry)
            else:
                groups = ", ".join(repr(g) for g in (*_GROUPS, _ANY))
                raise at(
                    "jurisdictions", f"{entry!r} is neither an ISO 3166-1 alpha-2 code nor one of {groups}"
                )
        for entry in excluded:
            if entry not in countries:
                raise at("jurisdictions_except", f"{entry!r} is not among the jurisdictions")
        countries -= set(excluded)
        if not countries:
            raise at("jurisdictions_except", "excludes every jurisdiction")
        return frozenset(countries), False

    def value(self, code: InstrumentCode) -> Instrument:
        countries, anywhere = self.countries()
        validation = self.validation
        confidentiality = self.confidentiality
        scrutiny = self.cross_border_scrutiny
        return Instrument(
            code=code,
            title=self.title,
            legal_basis=self.legal_basis,
            kind=self.kind,
            jurisdictions=countries,
            any_jurisdiction=anywhere,
            applies_from=self.applies_from,
            target_types=frozenset(self.target_types),
            categories=FrozenMap(
                (c, self.categories[c].value()) for c in DataCategory if c in self.categories
            ),
            required_fields=frozenset(self.required_fields),
            deadline=self.deadline.value(),
            hold=self.hold.value() if self.hold is not None else None,
            notice=self.notice,
            issuers=frozenset(self.issuers),
            emergency_required_fields=frozenset(self.emergency_required_fields),
            enforcing_notification=frozenset(self.enforcing_notification),
            callback_verification=self.callback_verification,
            voluntary=self.voluntary,
            cross_border_only=self.cross_border_only,
            preserve_on_receipt=self.preserve_on_receipt,
            validation=None
            if validation is None
            else ValidationRule(
                frozenset(validation.issuers), frozenset(validation.validators), validation.emergency_after
            ),
            information_system_offences=frozenset(self.information_system_offences),
            sentence_execution_min_months=self.sentence_execution_min_months,
            territorial_scope_allowed=self.territorial_scope_allowed,
            confidentiality=None
            if confidentiality is None
            else ConfidentialityRule(
                confidentiality.max, confidentiality.extension, confidentiality.max_extensions
            ),
            cross_border_scrutiny=None
            if scrutiny is None
            else ScrutinyRule(scrutiny.request_within, scrutiny.decision_within),
            complaint_answer_within=self.complaint_answer_within,
            first_order_notice=self.first_order_notice,
            objection_window=self.objection_window,
        )


def _instrument(code: InstrumentCode, raw: object) -> Instrument:
    try:
        return InstrumentFile.model_validate(raw).value(code)
    except ValidationError as exc:
        path, problem = problems(exc)[0]
        shown = path or "(instrument table)"
        raise CatalogueError(
            f"instrument {code}: key {shown!r}: {problem}", instrument=code, key=shown
        ) from None


def _parse(data: bytes, source: str) -> list[Instrument]:
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"catalogue {source}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"schema_version", "instruments"})
    if unknown:
        raise CatalogueError(f"catalogue {source}: unknown top-level key {unknown[0]!r}", key=unknown[0])
    schema = document.get("schema_version")
    if isinstance(schema, bool) or schema != SCHEMA_VERSION:
        raise CatalogueError(
            f"catalogue {source}: schema_version must be {SCHEMA_VERSION}, got {schema!r}",
            key="schema_version",
        )
    instruments = document.get("instruments")
    if not isinstance(instruments, dict):
        raise CatalogueError(
            f"catalogue {source}: needs an [instruments.<CODE>] table per instrument", key="instruments"
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
        raise CatalogueError(f"instrument {code}: override must be a timedelta, got {standard!r}", **where)
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
    return resources.files("trustdesk.lawful").joinpath("instruments.toml").read_bytes()


def load_catalogue(
    overrides: Mapping[str, timedelta] | None = None, *, path: Path | None = None
) -> Catalogue:
    """Load and validate the catalogue: the packaged ``instruments.toml`` or ``path``.

    ``overrides`` maps instrument codes to this deployment's standard deadline. It is refused for unknown
    codes, non-positive durations and instruments whose deadline the law fixes; a shorter target also
    shortens a longer emergency target. Raises :class:`CatalogueError`, naming the instrument and the key.
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
    return Catalogue(by_code.values(), hashlib.sha256(data).hexdigest(), applied)
