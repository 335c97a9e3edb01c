"""The policy files, loaded and validated into frozen values.

``policies/jurisdictions.toml`` says where the platform answers authorities, which instruments it
recognises there, in which languages and through which contact; ``policies/principles.toml`` holds the
platform's own rules on top of the law. Both are validated strictly on load: unknown keys and values,
instruments the catalogue does not apply in the country, bad ISO codes, malformed contacts and
incomplete principles are refused with a :class:`PolicyError` naming the file, the jurisdiction (or
principle) and the key. The policy version is the sha256 over both files' bytes in a fixed order (see
:func:`policy_version`), so every recommendation records exactly which policy produced it.

Pure: no ORM, no web, no wall clock, no environment variables (the caller picks the directory).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry

from trustdesk.lawful.catalogue import Catalogue, FrozenMap
from trustdesk.lawful.catalogue_file import load_catalogue
from trustdesk.tomltable import TomlTable
from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind

__all__ = [
    "DEFAULT_DIRECTORY",
    "JURISDICTIONS_FILE",
    "POLICY_FILES",
    "PRINCIPLES_FILE",
    "SCHEMA_VERSION",
    "Contact",
    "ContactKind",
    "EmergencyWaiver",
    "Jurisdiction",
    "JurisdictionStatus",
    "PolicyError",
    "PolicySet",
    "Principle",
    "PrincipleKey",
    "Principles",
    "load_policies",
    "policy_version",
]

SCHEMA_VERSION: Final = 1
"""The policy file format this module reads (``schema_version`` in both files)."""

JURISDICTIONS_FILE: Final = "jurisdictions.toml"
PRINCIPLES_FILE: Final = "principles.toml"
POLICY_FILES: Final = (JURISDICTIONS_FILE, PRINCIPLES_FILE)
"""The policy files, in the order in which they enter the version hash."""

DEFAULT_DIRECTORY: Final = Path(__file__).resolve().parents[3] / "policies"
"""The repository's ``policies/`` folder (src layout: src/trustdesk/policy/rules.py -> repo root)."""

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


class PolicyError(ValueError):
    """A policy file is invalid. The message names the file, the jurisdiction (or principle) and the key;
    they are also attributes (``key`` is the dotted path inside the file)."""

    def __init__(
        self, message: str, *, file: str, jurisdiction: str | None = None, key: str | None = None
    ) -> None:
        super().__init__(message)
        self.file = file
        self.jurisdiction = jurisdiction
        self.key = key


class JurisdictionStatus(StrEnum):
    """Whether the platform answers a country's authorities."""

    ACTIVE = "active"
    """The platform operates there and answers requests under the recognised instruments."""
    RESTRICTED = "restricted"
    """The platform still operates there, but every request goes to a senior reviewer."""
    EXITED = "exited"
    """The platform left the market: every request from its authorities is refused."""


class ContactKind(StrEnum):
    """The role of the platform's contact for a jurisdiction."""

    LEGAL_REPRESENTATIVE = "legal_representative"
    """Legally designated to receive and answer orders (DSA Art. 13, Directive (EU) 2023/1544)."""
    POINT_OF_CONTACT = "point_of_contact"
    """A published single point of contact for authorities (DSA Art. 11 and national equivalents)."""


class PrincipleKey(StrEnum):
    """The principles every policy must state (tables under ``[principles]``)."""

    DISCLOSABLE_CATEGORIES = "disclosable_categories"
    DISCLOSABLE_FIELDS = "disclosable_fields"
    JUDICIAL_ORDER = "judicial_order"
    SUSPECT_CONFIRMED = "suspect_confirmed"
    EMERGENCY = "emergency"
    VOLUNTARY_DISCLOSURE = "voluntary_disclosure"
    PRESERVATION = "preservation"
    REMOVALS = "removals"


class EmergencyWaiver(StrEnum):
    """Requirements an emergency (a threat to life or physical safety) may waive."""

    SUSPECT_CONFIRMATION = "suspect_confirmation"
    JUDICIAL_ORDER = "judicial_order"


@dataclass(frozen=True)
class Contact:
    """The platform's legal representative or point of contact for one or more jurisdictions."""

    id: str
    kind: ContactKind
    name: str
    address: str
    email: str
    phone: str
    country: str = ""
    """ISO 3166-1 alpha-2 code of the country where the contact sits."""
    timezone: str = "UTC"
    """IANA time zone of the contact (the local days of protective periods, Reg. 1182/71)."""


@dataclass(frozen=True)
class Jurisdiction:
    """One country as the platform's policy sees it."""

    code: str
    """ISO 3166-1 alpha-2."""
    name: str
    status: JurisdictionStatus
    instruments: frozenset[InstrumentCode]
    """Instruments the platform recognises from this country's authorities."""
    languages: tuple[str, ...]
    """ISO 639-1 codes of the languages requests are accepted in, in the file's order."""
    contact: Contact | None
    since: date | None = None
    """When the status took effect (restricted and exited only)."""
    reason: str | None = None
    """Why the platform restricted its operations or left (restricted and exited only)."""

    def recognises(self, code: InstrumentCode) -> bool:
        """Whether the platform accepts ``code`` from this country's authorities (status aside)."""
        return code in self.instruments


@dataclass(frozen=True)
class Principle:
    """One principle's identity: the id cited in explanations and its one-sentence statement."""

    key: PrincipleKey
    id: str
    statement: str


@dataclass(frozen=True)
class Principles:
    """The platform's own rules, on top of what the law allows authorities to compel."""

    statements: Mapping[PrincipleKey, Principle]
    disclosable_categories: frozenset[DataCategory]
    """Categories the platform ever discloses."""
    disclosable_fields: Mapping[DataCategory, frozenset[str]]
    """For each disclosable category, the export fields that may be disclosed."""
    judicial_issuer_kinds: frozenset[IssuerKind]
    """Issuer kinds whose orders count as judicial."""
    require_suspect_confirmed: bool
    """The order must confirm the person is a suspect in a criminal case."""
    emergency_waives: frozenset[EmergencyWaiver]
    """What an emergency waives."""
    voluntary_disclosure_allowed: bool
    """Whether the platform discloses where the law permits but does not compel."""
    preservation_limited_by_disclosure: bool
    """Whether the disclosure principles also limit preservation orders."""
    removals_allowed: bool
    """Whether removal orders are executed without a reviewer (else: escalated)."""

    def __post_init__(self) -> None:
        missing = [key for key in PrincipleKey if key not in self.statements]
        if missing:
            raise ValueError(f"missing principles: {', '.join(missing)}")
        if set(self.disclosable_fields) != set(self.disclosable_categories):
            raise ValueError("disclosable_fields must list fields for exactly the disclosable categories")
        object.__setattr__(self, "statements", FrozenMap((k, self.statements[k]) for k in PrincipleKey))
        object.__setattr__(
            self,
            "disclosable_fields",
            FrozenMap(
                (c, frozenset(self.disclosable_fields[c]))
                for c in DataCategory
                if c in self.disclosable_fields
            ),
        )

    def principle(self, key: PrincipleKey) -> Principle:
        """The id and statement of one principle."""
        return self.statements[key]

    @property
    def disclosure_ids(self) -> tuple[str, ...]:
        """Ids of the principles that limit disclosure (those preservation may be exempt from)."""
        keys = (
            PrincipleKey.DISCLOSABLE_CATEGORIES,
            PrincipleKey.DISCLOSABLE_FIELDS,
            PrincipleKey.JUDICIAL_ORDER,
            PrincipleKey.SUSPECT_CONFIRMED,
        )
        return tuple(self.statements[key].id for key in keys)


@dataclass(frozen=True)
class PolicySet:
    """Jurisdictions and principles, with the version that identifies them."""

    version: str
    """sha256 hex digest over the policy files (see :func:`policy_version`)."""
    jurisdictions: Mapping[str, Jurisdiction]
    principles: Principles

    def __post_init__(self) -> None:
        if not isinstance(self.jurisdictions, FrozenMap):
            object.__setattr__(self, "jurisdictions", FrozenMap(sorted(self.jurisdictions.items())))

    def jurisdiction(self, code: str) -> Jurisdiction | None:
        """The jurisdiction with ISO code ``code`` (any case), or None when the policy has none."""
        return self.jurisdictions.get(code.upper())


def policy_version(jurisdictions: bytes, principles: bytes) -> str:
    """The policy version: sha256 over each file's name, length and bytes, in :data:`POLICY_FILES` order.

    For each file: its name, a NUL byte, its length in bytes as decimal digits, a NUL byte, its bytes.
    Names and lengths make the boundary between the files unambiguous.
    """
    digest = hashlib.sha256()
    for name, data in zip(POLICY_FILES, (jurisdictions, principles), strict=True):
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Where:
    """Where a table is: its errors name the file, the subject (a jurisdiction, contact or principle)
    and the jurisdiction."""

    file: str
    subject: str = ""
    jurisdiction: str | None = None

    def __call__(self, key: str, path: str, problem: str, /) -> PolicyError:
        where = f"{self.subject}: " if self.subject else ""
        shown = f"key {key!r}: " if key else ""
        return PolicyError(
            f"{self.file}: {where}{shown}{problem}",
            file=self.file,
            jurisdiction=self.jurisdiction,
            key=path or None,
        )


def _document(file: str, data: bytes, sections: Iterable[str]) -> TomlTable:
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{file}: not valid TOML: {exc}", file=file) from None
    document = TomlTable(raw, _Where(file))
    schema = document.optional("schema_version", int, "an integer")
    if schema != SCHEMA_VERSION:
        raise document.error("schema_version", f"must be {SCHEMA_VERSION}, got {schema!r}")
    document.used.update(sections)
    document.finish()
    return document


# ------------------------------------------------------------------------------------- jurisdictions


def _country(table: TomlTable, code: str) -> str:
    """``table`` is the jurisdiction's own table: its errors name the code."""
    if not _COUNTRY.fullmatch(code):
        raise table.error(
            "", f"{code!r} is not an ISO 3166-1 alpha-2 code (two upper-case letters, like 'FR')"
        )
    if code in _COUNTRY_HINTS:
        raise table.error("", f"{code!r} is not an ISO 3166-1 alpha-2 code; use {_COUNTRY_HINTS[code]!r}")
    if pycountry.countries.get(alpha_2=code) is None:
        raise table.error("", f"{code!r} is not an assigned ISO 3166-1 alpha-2 code")
    return code


def _contact(table: TomlTable, contact_id: str) -> Contact:
    if not _CONTACT_ID.fullmatch(contact_id):
        raise table.error("", "a contact id is lower-case letters, digits, '-' and '_', like 'eu'")
    kind = table.enum("kind", ContactKind)
    name = table.text("name", one_line=True)
    address = table.text("address", one_line=True)
    email = table.text("email", one_line=True)
    phone = table.text("phone", one_line=True)
    country = table.text("country", one_line=True)
    if not _COUNTRY.fullmatch(country) or pycountry.countries.get(alpha_2=country) is None:
        raise table.error("country", f"{country!r} is not an assigned ISO 3166-1 alpha-2 code (like 'BE')")
    zone = table.text("timezone", one_line=True)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.error("timezone", f"{zone!r} is not an IANA time zone (like 'Europe/Brussels')") from None
    if not _EMAIL.fullmatch(email):
        raise table.error("email", f"{email!r} is not an e-mail address like 'legal@example.org'")
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE.fullmatch(phone) or not 7 <= digits <= 15:
        raise table.error(
            "phone",
            f"{phone!r} is not an international number like '+32 2 555 01 00' (+, country code, "
            "groups of digits separated by single spaces, 7 to 15 digits)",
        )
    table.finish()
    return Contact(contact_id, kind, name, address, email, phone, country, zone)


def _instruments(
    table: TomlTable, code: str, catalogue: Catalogue, *, required: bool
) -> frozenset[InstrumentCode]:
    codes = table.strings("instruments", required=required)
    if required and not codes:
        raise table.error("instruments", "must not be empty")
    recognised: set[InstrumentCode] = set()
    for name in codes:
        if name not in catalogue:
            raise table.error(
                "instruments",
                f"unknown instrument {name!r}; known: {', '.join(i.code for i in catalogue)}",
            )
        instrument = catalogue.get(name)
        if not (instrument.any_jurisdiction or code in instrument.jurisdictions):
            raise table.error(
                "instruments",
                f"{name} ({instrument.title}) does not apply in {code} per the instrument catalogue",
            )
        recognised.add(instrument.code)
    return frozenset(recognised)


def _languages(table: TomlTable, *, required: bool) -> tuple[str, ...]:
    languages = table.strings("languages", required=required)
    if required and not languages:
        raise table.error("languages", "must not be empty")
    for language in languages:
        if not _LANGUAGE.fullmatch(language) or pycountry.languages.get(alpha_2=language) is None:
            raise table.error("languages", f"{language!r} is not an ISO 639-1 code (like 'fr')")
    return languages


def _jurisdiction(
    table: TomlTable, code: str, catalogue: Catalogue, contacts: Mapping[str, Contact]
) -> Jurisdiction:
    name = table.text("name", one_line=True)
    status = table.enum("status", JurisdictionStatus)
    since = table.optional("since", date, "a date like 2022-03-15")
    reason = table.optional_text("reason", one_line=True)
    if status is JurisdictionStatus.ACTIVE:
        for key, value in (("since", since), ("reason", reason)):
            if value is not None:
                raise table.error(key, "only a restricted or exited jurisdiction has one")
    else:
        if since is None:
            raise table.error("since", f"missing: a {status} jurisdiction needs the date it took effect")
        if reason is None:
            raise table.error("reason", f"missing: a {status} jurisdiction needs the reason")
    operating = status is not JurisdictionStatus.EXITED
    instruments = _instruments(table, code, catalogue, required=operating)
    languages = _languages(table, required=operating)
    contact_id = table.optional("contact", str, "a contact id")
    contact: Contact | None = None
    if contact_id is None:
        if operating:
            raise table.error("contact", f"missing: a {status} jurisdiction needs a contact")
    elif contact_id not in contacts:
        known = ", ".join(repr(c) for c in sorted(contacts)) or "none"
        raise table.error("contact", f"unknown contact {contact_id!r}; known: {known}")
    else:
        contact = contacts[contact_id]
    if contact is not None and contact.country == code:
        national = sorted(c for c in instruments if catalogue.get(c).cross_border_only)
        if national:
            raise table.error(
                "instruments",
                f"{', '.join(national)} is an order to another State, but the platform's contact for {code} "
                f"sits in {code}: there such an order is a national order",
            )
    table.finish()
    return Jurisdiction(code, name, status, instruments, languages, contact, since, reason)


def _jurisdictions(data: bytes, catalogue: Catalogue) -> Mapping[str, Jurisdiction]:
    file = JURISDICTIONS_FILE
    document = _document(file, data, ("contacts", "jurisdictions"))
    contacts_table = document.table("contacts")
    contacts = {
        contact_id: _contact(
            contacts_table.table(contact_id, _Where(file, f"contact {contact_id}")),
            contact_id,
        )
        for contact_id in list(contacts_table.raw)
    }
    contacts_table.finish()
    entries = document.table("jurisdictions")
    if not entries.raw:
        raise entries.error("", "must list at least one jurisdiction")
    jurisdictions: dict[str, Jurisdiction] = {}
    for code in list(entries.raw):
        table = entries.table(code, _Where(file, f"jurisdiction {code}", code))
        _country(table, code)  # first: the other checks assume a real country
        jurisdictions[code] = _jurisdiction(table, code, catalogue, contacts)
    entries.finish()
    used = {j.contact.id for j in jurisdictions.values() if j.contact is not None}
    for contact_id in contacts:
        if contact_id not in used:
            raise contacts_table.table(contact_id, _Where(file, f"contact {contact_id}")).error(
                "", "is not the contact of any jurisdiction (remove it, or refer to it)"
            )
    return FrozenMap(sorted(jurisdictions.items()))


# ---------------------------------------------------------------------------------------- principles


def _principle(table: TomlTable, key: PrincipleKey) -> Principle:
    principle_id = table.required("id", str, "a string like 'P1'")
    if not _PRINCIPLE_ID.fullmatch(principle_id):
        raise table.error("id", f"{principle_id!r} must be 'P' followed by digits, like 'P1'")
    statement = table.text("statement", one_line=True).strip()
    if not statement.endswith(".") or _SECOND_SENTENCE.search(statement[:-1]):
        raise table.error("statement", "must be one sentence, ending with a full stop")
    return Principle(key, principle_id, statement)


def _fields(table: TomlTable, categories: frozenset[DataCategory]) -> Mapping[DataCategory, frozenset[str]]:
    fields: dict[DataCategory, frozenset[str]] = {}
    for name in list(table.raw):
        category = table.member(name, DataCategory, name)
        if category not in categories:
            raise table.error(name, f"{category} is not a disclosable category (see disclosable_categories)")
        values = table.strings(name)
        if not values:
            raise table.error(name, "must not be empty (remove the category from disclosable_categories)")
        for value in values:
            if not _FIELD.fullmatch(value):
                raise table.error(name, f"{value!r} is not an export field name (snake_case)")
        fields[category] = frozenset(values)
    missing = sorted(categories - set(fields))
    if missing:
        raise table.error(missing[0], "missing: every disclosable category needs its list of fields")
    table.finish()
    return fields


def _principles(data: bytes) -> Principles:
    file = PRINCIPLES_FILE
    document = _document(file, data, ("principles",))
    section = document.table("principles")
    tables = {key: section.table(key, _Where(file, f"principle {key}")) for key in PrincipleKey}
    section.finish()
    statements = {key: _principle(tables[key], key) for key in PrincipleKey}
    seen: dict[str, PrincipleKey] = {}
    for key, principle in statements.items():
        if principle.id in seen:
            raise tables[key].error("id", f"{principle.id!r} is already the id of {seen[principle.id]}")
        seen[principle.id] = key

    t = tables[PrincipleKey.DISCLOSABLE_CATEGORIES]
    categories = t.enums("categories", DataCategory)
    t.finish()
    t = tables[PrincipleKey.DISCLOSABLE_FIELDS]
    fields = _fields(t.table("fields"), categories)
    t.finish()
    t = tables[PrincipleKey.JUDICIAL_ORDER]
    judicial = t.enums("issuer_kinds", IssuerKind)
    if not judicial:
        raise t.error("issuer_kinds", "must not be empty (to disclose nothing, empty disclosable_categories)")
    t.finish()
    t = tables[PrincipleKey.SUSPECT_CONFIRMED]
    suspect = t.flag("required")
    t.finish()
    t = tables[PrincipleKey.EMERGENCY]
    waives = t.enums("waives", EmergencyWaiver)
    t.finish()
    t = tables[PrincipleKey.VOLUNTARY_DISCLOSURE]
    voluntary = t.flag("allowed")
    t.finish()
    t = tables[PrincipleKey.PRESERVATION]
    preservation = t.flag("disclosure_principles_apply")
    t.finish()
    t = tables[PrincipleKey.REMOVALS]
    removals = t.flag("allowed")
    t.finish()
    return Principles(
        statements=statements,
        disclosable_categories=categories,
        disclosable_fields=fields,
        judicial_issuer_kinds=judicial,
        require_suspect_confirmed=suspect,
        emergency_waives=waives,
        voluntary_disclosure_allowed=voluntary,
        preservation_limited_by_disclosure=preservation,
        removals_allowed=removals,
    )


# --------------------------------------------------------------------------------------------- entry


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
    return PolicySet(
        version=policy_version(jurisdictions_bytes, principles_bytes),
        jurisdictions=_jurisdictions(jurisdictions_bytes, rules),
        principles=_principles(principles_bytes),
    )
