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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Final

from trustdesk.lawful.catalogue import FrozenMap
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
