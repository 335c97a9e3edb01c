"""Loading the policy files: ``jurisdictions.toml`` and ``principles.toml`` validated into the frozen
values of :mod:`trustdesk.policy.rules`.

The files' shapes are Pydantic models (:class:`~trustdesk.strictfile.FileModel`: unknown keys refused,
no coercion); what needs the instrument catalogue (which instruments apply in a country) reads it from
the validation context. Every fault becomes a :class:`PolicyError` naming the file, the jurisdiction,
contact or principle, and the key.

Pure but for reading the two files: no ORM, no web, no wall clock, no environment variables.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, model_validator

from trustdesk.lawful.catalogue import Catalogue, FrozenMap
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.policy.rules import (
    DEFAULT_DIRECTORY,
    JURISDICTIONS_FILE,
    PRINCIPLES_FILE,
    Contact,
    ContactKind,
    EmergencyWaiver,
    Jurisdiction,
    JurisdictionStatus,
    PolicyError,
    PolicySet,
    Principle,
    PrincipleKey,
    Principles,
    policy_version,
)
from trustdesk.strictfile import Date, FileModel, Flag, OneLine, at, distinct, member, problems
from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind

__all__ = ["load_policies"]

_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_LANGUAGE: Final = re.compile(r"[a-z]{2}")
_CONTACT_ID: Final = re.compile(r"[a-z][a-z0-9_-]*")
_PRINCIPLE_ID: Final = re.compile(r"P[0-9]+")
_FIELD: Final = re.compile(r"[a-z][a-z0-9_]*")
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_PHONE: Final = re.compile(r"\+[1-9][0-9]{0,2}(?: [0-9]{1,6})+")
_SECOND_SENTENCE: Final = re.compile(r"[.!?]\s+[A-Z]")
_COUNTRY_HINTS: Final[Mapping[str, str]] = {"UK": "GB", "EL": "GR"}
"""Codes people use that ISO 3166-1 does not assign, and the right ones."""

Strings = Annotated[list[str], AfterValidator(distinct)]


def _assigned(code: str) -> bool:
    return bool(_COUNTRY.fullmatch(code)) and pycountry.countries.get(alpha_2=code) is not None


# ------------------------------------------------------------------------------------- jurisdictions


class ContactFile(FileModel):
    kind: Annotated[ContactKind, member(ContactKind)]
    name: OneLine
    address: OneLine
    email: OneLine
    phone: OneLine
    country: OneLine
    timezone: OneLine

    @model_validator(mode="after")
    def _forms(self) -> Self:
        if not _assigned(self.country):
            raise at("country", f"{self.country!r} is not an assigned ISO 3166-1 alpha-2 code (like 'BE')")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise at(
                "timezone", f"{self.timezone!r} is not an IANA time zone (like 'Europe/Brussels')"
            ) from None
        if not _EMAIL.fullmatch(self.email):
            raise at("email", f"{self.email!r} is not an e-mail address like 'legal@example.org'")
        digits = sum(ch.isdigit() for ch in self.phone)
        if not _PHONE.fullmatch(self.phone) or not 7 <= digits <= 15:
            raise at(
                "phone",
                f"{self.phone!r} is not an international number like '+32 2 555 01 00' (+, country code, "
                "groups of digits separated by single spaces, 7 to 15 digits)",
            )
        return self


class JurisdictionFile(FileModel):
    name: OneLine
    status: Annotated[JurisdictionStatus, member(JurisdictionStatus)]
    since: Date | None = None
    reason: OneLine | None = None
    instruments: Strings = Field(default_factory=list)
    languages: Strings = Field(default_factory=list)
    contact: OneLine | None = None

    @model_validator(mode="after")
    def _status(self) -> Self:
        status = self.status
        if status is JurisdictionStatus.ACTIVE:
            for key, value in (("since", self.since), ("reason", self.reason)):
                if value is not None:
                    raise at(key, "only a restricted or exited jurisdiction has one")
        else:
            if self.since is None:
                raise at("since", f"missing: a {status} jurisdiction needs the date it took effect")
            if self.reason is None:
                raise at("reason", f"missing: a {status} jurisdiction needs the reason")
        if status is not JurisdictionStatus.EXITED:
            for key in ("instruments", "languages"):
                if not getattr(self, key):
                    raise at(key, "must not be empty")
            if self.contact is None:
                raise at("contact", f"missing: a {status} jurisdiction needs a contact")
        for language in self.languages:
            if not _LANGUAGE.fullmatch(language) or pycountry.languages.get(alpha_2=language) is None:
                raise at("languages", f"{language!r} is not an ISO 639-1 code (like 'fr')")
        return self


class JurisdictionsDocument(FileModel):
    schema_version: Literal[1]
    contacts: dict[str, ContactFile]
    jurisdictions: dict[str, JurisdictionFile]

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Self:
        catalogue: Catalogue = (info.context or {})["catalogue"]
        if not self.jurisdictions:
            raise at("jurisdictions", "must list at least one jurisdiction")
        for contact_id in self.contacts:
            if not _CONTACT_ID.fullmatch(contact_id):
                raise at(
                    f"contacts.{contact_id}",
                    "a contact id is lower-case letters, digits, '-' and '_', like 'eu'",
                )
        for code, entry in self.jurisdictions.items():
            where = f"jurisdictions.{code}"
            if not _COUNTRY.fullmatch(code):
                raise at(
                    where, f"{code!r} is not an ISO 3166-1 alpha-2 code (two upper-case letters, like 'FR')"
                )
            if code in _COUNTRY_HINTS:
                raise at(where, f"{code!r} is not an ISO 3166-1 alpha-2 code; use {_COUNTRY_HINTS[code]!r}")
            if not _assigned(code):
                raise at(where, f"{code!r} is not an assigned ISO 3166-1 alpha-2 code")
            for name in entry.instruments:
                if name not in catalogue:
                    known = ", ".join(i.code for i in catalogue)
                    raise at(f"{where}.instruments", f"unknown instrument {name!r}; known: {known}")
                instrument = catalogue.get(name)
                if not (instrument.any_jurisdiction or code in instrument.jurisdictions):
                    raise at(
                        f"{where}.instruments",
                        f"{name} ({instrument.title}) does not apply in {code} per the instrument catalogue",
                    )
            if entry.contact is not None and entry.contact not in self.contacts:
                known = ", ".join(repr(c) for c in sorted(self.contacts)) or "none"
                raise at(f"{where}.contact", f"unknown contact {entry.contact!r}; known: {known}")
            contact = self.contacts.get(entry.contact) if entry.contact else None
            if contact is not None and contact.country == code:
                national = sorted(c for c in entry.instruments if catalogue.get(c).cross_border_only)
                if national:
                    raise at(
                        f"{where}.instruments",
                        f"{', '.join(national)} is an order to another State, but the platform's contact for "
                        f"{code} sits in {code}: there such an order is a national order",
                    )
        used = {entry.contact for entry in self.jurisdictions.values()}
        for contact_id in self.contacts:
            if contact_id not in used:
                raise at(
                    f"contacts.{contact_id}",
                    "is not the contact of any jurisdiction (remove it, or refer to it)",
                )
        return self

    def value(self) -> Mapping[str, Jurisdiction]:
        contacts = {
            cid: Contact(cid, c.kind, c.name, c.address, c.email, c.phone, c.country, c.timezone)
            for cid, c in self.contacts.items()
        }
        return FrozenMap(
            sorted(
                (
                    code,
                    Jurisdiction(
                        code,
                        j.name,
                        j.status,
                        frozenset(InstrumentCode(i) for i in j.instruments),
                        tuple(j.languages),
                        contacts[j.contact] if j.contact else None,
                        j.since,
                        j.reason,
                    ),
                )
                for code, j in self.jurisdictions.items()
            )
        )


# ---------------------------------------------------------------------------------------- principles


class PrincipleFile(FileModel):
    id: Annotated[str, Field(strict=True)]
    statement: OneLine

    @model_validator(mode="after")
    def _identity(self) -> Self:
        if not _PRINCIPLE_ID.fullmatch(self.id):
            raise at("id", f"{self.id!r} must be 'P' followed by digits, like 'P1'")
        statement = self.statement.strip()
        if not statement.endswith(".") or _SECOND_SENTENCE.search(statement[:-1]):
            raise at("statement", "must be one sentence, ending with a full stop")
        return self


Category = Annotated[DataCategory, member(DataCategory)]


class CategoriesPrinciple(PrincipleFile):
    categories: Annotated[list[Category], AfterValidator(distinct)]


class FieldsPrinciple(PrincipleFile):
    fields: dict[Category, Strings]

    @model_validator(mode="after")
    def _names(self) -> Self:
        for category, names in self.fields.items():
            if not names:
                raise at(
                    f"fields.{category}",
                    "must not be empty (remove the category from disclosable_categories)",
                )
            for value in names:
                if not _FIELD.fullmatch(value):
                    raise at(f"fields.{category}", f"{value!r} is not an export field name (snake_case)")
        return self


class JudicialPrinciple(PrincipleFile):
    issuer_kinds: Annotated[list[Annotated[IssuerKind, member(IssuerKind)]], AfterValidator(distinct)]

    @model_validator(mode="after")
    def _some(self) -> Self:
        if not self.issuer_kinds:
            raise at("issuer_kinds", "must not be empty (to disclose nothing, empty disclosable_categories)")
        return self


class RequiredPrinciple(PrincipleFile):
    required: Flag


class EmergencyPrinciple(PrincipleFile):
    waives: Annotated[list[Annotated[EmergencyWaiver, member(EmergencyWaiver)]], AfterValidator(distinct)]


class AllowedPrinciple(PrincipleFile):
    allowed: Flag


class PreservationPrinciple(PrincipleFile):
    disclosure_principles_apply: Flag


class PrinciplesTable(FileModel):
    disclosable_categories: CategoriesPrinciple
    disclosable_fields: FieldsPrinciple
    judicial_order: JudicialPrinciple
    suspect_confirmed: RequiredPrinciple
    emergency: EmergencyPrinciple
    voluntary_disclosure: AllowedPrinciple
    preservation: PreservationPrinciple
    removals: AllowedPrinciple

    @model_validator(mode="after")
    def _together(self) -> Self:
        seen: dict[str, PrincipleKey] = {}
        for key in PrincipleKey:
            principle: PrincipleFile = getattr(self, key.value)
            if principle.id in seen:
                raise at(f"{key}.id", f"{principle.id!r} is already the id of {seen[principle.id]}")
            seen[principle.id] = key
        categories = set(self.disclosable_categories.categories)
        for category in self.disclosable_fields.fields:
            if category not in categories:
                raise at(
                    f"disclosable_fields.fields.{category}",
                    f"{category} is not a disclosable category (see disclosable_categories)",
                )
        missing = sorted(categories - set(self.disclosable_fields.fields))
        if missing:
            raise at(
                f"disclosable_fields.fields.{missing[0]}",
                "missing: every disclosable category needs its list of fields",
            )
        return self

    def value(self) -> Principles:
        statements = {
            key: Principle(key, getattr(self, key.value).id, getattr(self, key.value).statement.strip())
            for key in PrincipleKey
        }
        return Principles(
            statements=statements,
            disclosable_categories=frozenset(self.disclosable_categories.categories),
            disclosable_fields={c: frozenset(v) for c, v in self.disclosable_fields.fields.items()},
            judicial_issuer_kinds=frozenset(self.judicial_order.issuer_kinds),
            require_suspect_confirmed=self.suspect_confirmed.required,
            emergency_waives=frozenset(self.emergency.waives),
            voluntary_disclosure_allowed=self.voluntary_disclosure.allowed,
            preservation_limited_by_disclosure=self.preservation.disclosure_principles_apply,
            removals_allowed=self.removals.allowed,
        )


class PrinciplesDocument(FileModel):
    schema_version: Literal[1]
    principles: PrinciplesTable


# --------------------------------------------------------------------------------------------- entry


def _subject(path: str) -> tuple[str, str | None, str]:
    """``jurisdictions.FR.capital`` → (``jurisdiction FR``, ``FR``, ``capital``): who is at fault, and the
    key below it."""
    parts = path.split(".") if path else []
    if len(parts) >= 2 and parts[0] in {"jurisdictions", "contacts", "principles"}:
        noun = {"jurisdictions": "jurisdiction", "contacts": "contact", "principles": "principle"}[parts[0]]
        code = parts[1] if parts[0] == "jurisdictions" else None
        if parts[0] == "principles" and (len(parts) == 2 or parts[1] not in set(PrincipleKey)):
            return "", None, ".".join(parts[1:])  # a whole principle missing, or one the format lacks
        below = parts[2:]
        if parts[0] == "principles" and below[:1] == ["fields"]:
            below = below[1:]  # the fields of disclosable_fields are named by their category
        return f"{noun} {parts[1]}", code, ".".join(below)
    return "", None, path


def _read_document(file: str, data: bytes, model: type[FileModel], context: dict[str, Any]) -> Any:
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{file}: not valid TOML: {exc}", file=file) from None
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        path, problem = problems(exc)[0]
        if path == "schema_version" and problem != "missing":
            problem = f"must be 1, got {raw.get('schema_version')!r}"
        subject, jurisdiction, key = _subject(path)
        where = f"{subject}: " if subject else ""
        shown = f"key {key!r}: " if key else ""
        raise PolicyError(
            f"{file}: {where}{shown}{problem}", file=file, jurisdiction=jurisdiction, key=path or None
        ) from None


def _read(directory: Path, name: str) -> bytes:
    path = directory / name
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PolicyError(
            f"{name}: cannot be read from {directory}: {exc.strerror or exc}", file=name
        ) from None


def load_policies(directory: Path | None = None, catalogue: Catalogue | None = None) -> PolicySet:
    """Load and validate the policy files in ``directory`` (default: the repository's ``policies/``).

    Instruments are checked against ``catalogue`` (default: the packaged instrument catalogue).
    Raises :class:`PolicyError`, naming the file, the jurisdiction or principle, and the key.
    """
    folder = DEFAULT_DIRECTORY if directory is None else directory
    rules = load_catalogue() if catalogue is None else catalogue
    jurisdictions_bytes = _read(folder, JURISDICTIONS_FILE)
    principles_bytes = _read(folder, PRINCIPLES_FILE)
    jurisdictions = _read_document(
        JURISDICTIONS_FILE, jurisdictions_bytes, JurisdictionsDocument, {"catalogue": rules}
    )
    principles = _read_document(PRINCIPLES_FILE, principles_bytes, PrinciplesDocument, {})
    return PolicySet(
        version=policy_version(jurisdictions_bytes, principles_bytes),
        jurisdictions=jurisdictions.value(),
        principles=principles.principles.value(),
    )
