"""The channel directory: every address on which the platform accepts requests from authorities, in one file.

The portal, the REST API, the desk's e-mail addresses, the legal representative's postal address and the
emergency line are configured once, in a TOML file (``TRUSTDESK_CHANNELS_FILE``; unset: the packaged example
``channels.toml`` beside this module), and read from there by everything that names them: ``/contact``
publishes them, the SMTP listener (``trustdesk mail listen``) accepts mail for exactly the e-mail addresses,
the console's mailroom shows them, and :meth:`Directory.lines` words them for a reply telling a sender how
to reach the desk. docs/channels.md describes every key.

The file is validated strictly on load (:class:`~trustdesk.strictfile.FileModel`: unknown keys refused, no
coercion): invalid or duplicate e-mail addresses, a missing channel, an emergency address that is not one
of the ``emergency`` addresses, bad language, country and telephone codes are a :class:`ChannelError` naming
the file and the key. The composition root loads it at start (``Container.channels``), so a bad file stops
``trustdesk serve`` and every command before they take work.

Pure but for reading the file: no ORM, no web, no wall clock, no environment variables.
"""

from __future__ import annotations

import re
import tomllib
from email.utils import parseaddr
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal, Self

import pycountry
from pydantic import AfterValidator, ValidationError, model_validator

from trustdesk.strictfile import Fault, FileModel, OneLine, at, distinct, faults, member

__all__ = [
    "PACKAGED_FILE",
    "Api",
    "ChannelError",
    "Directory",
    "EmailAddress",
    "EmailPurpose",
    "EmergencyLine",
    "Portal",
    "Postal",
    "language_name",
    "load_directory",
    "parse_directory",
]

PACKAGED_FILE: Final = "channels.toml"
"""The packaged example directory, in this package (``trustdesk/intake/channels.toml``)."""

_EMAIL: Final = re.compile(
    r"(?=.{3,254}$)(?=[^@]{1,64}@)"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
"""An address as SMTP's RCPT carries it (RFC 5321 dot-atom local part, a domain of two labels or more)."""
_PHONE: Final = re.compile(r"\+[1-9][0-9]{0,2}(?: [0-9]{1,6})+")
"""International format, as in the policy files: ``+32 2 555 01 00``."""
_PATH: Final = re.compile(r"/(?:[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*)?")
_LANGUAGE: Final = re.compile(r"[a-z]{2}")
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_PARENTHESES: Final = re.compile(r"\s*\([^)]*\)")
_CHANNELS: Final = {
    "portal": "[portal] table (the authority portal)",
    "api": "[api] table (the REST API)",
    "email": "[[email]] tables (the desk's e-mail addresses)",
    "postal": "[postal] table (the legal representative's postal address)",
    "emergency": "[emergency] table (the emergency line)",
}
"""The channels every directory lists (its tables), and what each is."""


class ChannelError(ValueError):
    """The channel directory is invalid. The message names the file and the key; both are attributes too
    (``key``: the dotted path inside the file, ``[[email]]`` tables counted from 1: ``email.2.address``)."""

    def __init__(self, message: str, *, file: str, key: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.key = key


class EmailPurpose(StrEnum):
    """What an e-mail address of the desk is for."""

    REQUESTS = "requests"
    """Requests of every kind: orders, preservation requests, removal orders, answers to the desk."""
    EMERGENCY = "emergency"
    """Emergency requests only: an imminent threat to life, physical integrity or safety."""


# ------------------------------------------------------------------------------------------ field types


def _address(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise at(
            "",
            f"{value!r} is not an e-mail address like 'lawful@trustdesk.example' (the address alone: no "
            "name, no <>, no spaces)",
        )
    return value


def _phone(value: str) -> str:
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.fullmatch(value) or not 7 <= digits <= 15:
        raise at(
            "",
            f"{value!r} is not an international number like '+32 2 555 01 00' (+, country code, groups of "
            "digits separated by single spaces, 7 to 15 digits)",
        )
    return value


def _path(value: str) -> str:
    if not _PATH.fullmatch(value):
        raise at(
            "",
            f"{value!r} is not a path like '/portal' (it starts with '/', has no trailing '/', no '//', no "
            "query and no spaces)",
        )
    return value


def _country(value: str) -> str:
    if not _COUNTRY.fullmatch(value) or pycountry.countries.get(alpha_2=value) is None:
        raise at("", f"{value!r} is not an assigned ISO 3166-1 alpha-2 code (like 'BE')")
    return value


def _languages(values: list[str]) -> list[str]:
    if not values:
        raise at("", "must list at least one language (ISO 639-1, like 'fr')")
    for value in values:
        if not _LANGUAGE.fullmatch(value) or pycountry.languages.get(alpha_2=value) is None:
            raise at("", f"{value!r} is not an ISO 639-1 code (like 'fr')")
    return values


def _not_empty(values: list[str]) -> list[str]:
    if not values:
        raise at("", "must not be empty")
    return values


Address = Annotated[str, AfterValidator(_address)]
Phone = Annotated[str, AfterValidator(_phone)]
WebPath = Annotated[str, AfterValidator(_path)]
Country = Annotated[str, AfterValidator(_country)]
Languages = Annotated[list[str], AfterValidator(distinct), AfterValidator(_languages)]


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code ("fr" -> "French"), or the code."""
    found = pycountry.languages.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None)
    return _PARENTHESES.sub("", name) if isinstance(name, str) else code


# ------------------------------------------------------------------------------------------ the channels


class Portal(FileModel):
    """The authority portal: officers log in, submit, follow their requests and download the answers."""

    path: WebPath


class Api(FileModel):
    """The REST API for case-management systems, authenticated with an officer's API key."""

    path: WebPath
    """Where the API is: ``/api/v1``; requests are submitted to ``{path}/requests``."""
    docs: WebPath
    """Its documentation (OpenAPI): ``/docs``."""

    @property
    def submit(self) -> str:
        """Where a request is submitted: ``POST /api/v1/requests``."""
        return f"{self.path.rstrip('/')}/requests"


class EmailAddress(FileModel):
    """One of the desk's e-mail addresses: the SMTP listener accepts mail for it (and for no other)."""

    address: Address
    purpose: Annotated[EmailPurpose, member(EmailPurpose)]
    languages: Languages
    description: OneLine


class Postal(FileModel):
    """The legal representative's postal address. Letters (and faxes) are scanned into the triage queue by
    the mailroom; the postmark is the date of receipt."""

    name: OneLine
    lines: Annotated[list[OneLine], AfterValidator(_not_empty)]
    """The address below the name, one line each, without the country."""
    country: Country
    fax: Phone | None = None
    description: OneLine
    """What to send there."""

    @property
    def country_name(self) -> str:
        found = pycountry.countries.get(alpha_2=self.country)
        name = getattr(found, "common_name", None) or getattr(found, "name", None)
        return name if isinstance(name, str) else self.country


class EmergencyLine(FileModel):
    """The emergency line: a telephone number answered by the on-call lawyer, day and night, and the
    emergency e-mail address (one of the ``[[email]]`` addresses whose purpose is ``emergency``)."""

    phone: Phone
    email: Address
    description: OneLine


class Directory(FileModel):
    """Every channel on which the platform accepts requests."""

    schema_version: Literal[1]
    portal: Portal
    api: Api
    email: Annotated[list[EmailAddress], AfterValidator(_not_empty)]
    postal: Postal
    emergency: EmergencyLine

    @model_validator(mode="after")
    def _together(self) -> Self:
        seen: dict[str, int] = {}
        for number, entry in enumerate(self.email, 1):
            address = entry.address.lower()
            if address in seen:
                raise at(
                    f"email.{number}.address",
                    f"{entry.address!r} is already listed as email #{seen[address]} (addresses are compared "
                    "without regard to case)",
                )
            seen[address] = number
        wanted = self.emergency.email
        listed = seen.get(wanted.lower())
        if listed is None:
            raise at(
                "emergency.email",
                f"{wanted!r} is not one of the [[email]] addresses: list it there with purpose = 'emergency'",
            )
        purpose = self.email[listed - 1].purpose
        if purpose is not EmailPurpose.EMERGENCY:
            raise at(
                "emergency.email",
                f"{wanted!r} is email #{listed}, whose purpose is {purpose.value!r}: the emergency address "
                "needs purpose = 'emergency'",
            )
        return self

    @property
    def intake_addresses(self) -> tuple[str, ...]:
        """Every e-mail address of the desk, lower-cased, in the file's order: the SMTP listener accepts
        mail for these and refuses any other recipient."""
        return tuple(entry.address.lower() for entry in self.email)

    def is_emergency_address(self, address: str) -> bool:
        """Whether ``address`` (bare, or ``Name <address>``; any case) is an ``emergency`` address."""
        wanted = (parseaddr(address)[1] or address).strip().lower()
        return any(
            entry.purpose is EmailPurpose.EMERGENCY and entry.address.lower() == wanted
            for entry in self.email
        )

    def lines(self, base_url: str = "") -> list[tuple[str, str]]:
        """(label, address) of every channel, for a reply telling a sender how to reach the desk; the portal
        and the API are prefixed with ``base_url`` (the public URL), when given."""
        base = base_url.rstrip("/")
        found = [
            ("Authority portal", f"{base}{self.portal.path}"),
            ("REST API", f"POST {base}{self.api.submit}"),
            ("API documentation", f"{base}{self.api.docs}"),
        ]
        for entry in self.email:
            what = "emergencies" if entry.purpose is EmailPurpose.EMERGENCY else "requests"
            languages = ", ".join(language_name(code) for code in entry.languages)
            found.append((f"E-mail for {what} ({languages})", entry.address))
        postal = self.postal
        found.append(
            ("Post (legal representative)", ", ".join([postal.name, *postal.lines, postal.country_name]))
        )
        if postal.fax:
            found.append(("Fax (legal representative)", postal.fax))
        found.append(("Emergency line, day and night", self.emergency.phone))
        return found


# --------------------------------------------------------------------------------------------- loading


def _explain(fault: Fault, raw: dict[str, object]) -> tuple[str | None, str]:
    """The dotted key at fault ([[email]] tables and list items counted from 1), and the message."""
    parts = [str(part + 1) if isinstance(part, int) else part for part in fault.loc]
    key = ".".join(parts) or None
    problem = fault.problem
    if parts == ["schema_version"] and problem != "missing":
        problem = f"must be 1, got {raw.get('schema_version')!r}"
    if len(parts) == 1 and problem == "missing" and parts[0] in _CHANNELS:
        problem = f"missing: a directory needs its {_CHANNELS[parts[0]]}"
    if len(parts) >= 2 and parts[0] == "email" and parts[1].isdigit():
        subject = f"email #{parts[1]}"
        entries = raw.get("email")
        entry = entries[int(parts[1]) - 1] if isinstance(entries, list) else None
        if isinstance(entry, dict) and isinstance(entry.get("address"), str):
            subject += f" ({entry['address']})"
        below = ".".join(parts[2:])
        return key, f"{subject}: " + (f"key {below!r}: " if below else "") + problem
    return key, (f"key {key!r}: " if key else "") + problem


def parse_directory(data: bytes, *, file: str) -> Directory:
    """Validate the bytes of a directory file; ``file`` names it in the errors."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ChannelError(f"{file}: not valid TOML: {exc}", file=file) from None
    try:
        return Directory.model_validate(raw)
    except ValidationError as exc:
        key, message = _explain(faults(exc)[0], raw)
        raise ChannelError(f"{file}: {message}", file=file, key=key) from None


def load_directory(path: Path | None = None) -> Directory:
    """Load and validate the channel directory at ``path`` (None: the packaged example).

    Raises :class:`ChannelError`, naming the file and the key.
    """
    if path is None:
        packaged = resources.files("trustdesk.intake").joinpath(PACKAGED_FILE)
        return parse_directory(packaged.read_bytes(), file=f"{PACKAGED_FILE} (the packaged example)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ChannelError(f"{path}: cannot be read: {exc.strerror or exc}", file=str(path)) from None
    return parse_directory(data, file=str(path))
