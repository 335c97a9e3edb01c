"""The production package: what the requesting agency receives when a disclosure is approved.

A package is a tar archive, encrypted with age to the agency's registered X25519 recipient::

    README.txt              what the package is and how to verify it
    data/<category>.json    the records of each approved category (authoritative)
    data/<category>.csv     the same records as a table, one row per record
    manifest.json           format version, the request's facts, path/sha256/size of every file above,
                            the signer's key id and public key
    manifest.sig            raw Ed25519 signature (64 bytes) over the exact bytes of manifest.json

Building is pure and deterministic: the same inputs give the same tar bytes (sorted keys, stable order,
every member dated ``produced_at``, owned by 0:0 without user names). Only the age ciphertext differs
between two builds, because age encrypts with a fresh ephemeral key each time.

Data minimisation is enforced here as a last line of defence: a record of a category that was not
approved stops the build (`PackageError`), and when ``allowed_fields`` is given every field not allowed
for its category is dropped (a record's ``kind`` and ``at`` are always kept).

Reading never extracts to disk: archives are read in memory, and members that could escape a directory
on extraction (absolute paths, ``..``, links, devices, odd characters) are refused.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib
import io
import json
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Protocol, cast

from trustdesk.platform.protocol import Export, ExportRecord, FieldValue
from trustdesk.signing.protocol import Signer, key_id_for, verify_signature
from trustdesk.vocabulary import DataCategory, TargetType

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "SIGNATURE",
    "PackageError",
    "PackageMeta",
    "build_archive",
    "build_package",
    "csv_row",
    "generate_age_identity",
    "is_age_recipient",
    "neutralise_formula",
    "open_package",
]

FORMAT: Final = "trustdesk-production-package"
FORMAT_VERSION: Final = 1
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
README: Final = "README.txt"
_FIXED_COLUMNS: Final = ("account_id", "kind", "at")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_AGE_HEADER = b"age-encryption.org/v1\n"
_TARGET_TYPES = frozenset(target_type.value for target_type in TargetType)


class PackageError(ValueError):
    """A package cannot be built, decrypted or read as asked; the message says why."""


# --------------------------------------------------------------------------------------------------
# age, behind a small typed wrapper (pyrage ships without type information)


class _AgeIdentity(Protocol):
    def to_public(self) -> object: ...


class _AgeIdentityType(Protocol):
    def generate(self) -> _AgeIdentity: ...
    def from_str(self, value: str) -> _AgeIdentity: ...


class _AgeRecipientType(Protocol):
    def from_str(self, value: str) -> object: ...


class _X25519(Protocol):
    Identity: _AgeIdentityType
    Recipient: _AgeRecipientType


class _Pyrage(Protocol):
    x25519: _X25519
    DecryptError: type[Exception]
    EncryptError: type[Exception]
    IdentityError: type[Exception]
    RecipientError: type[Exception]

    def encrypt(self, plaintext: bytes, recipients: list[object]) -> bytes: ...
    def decrypt(self, ciphertext: bytes, identities: list[object]) -> bytes: ...


_age = cast("_Pyrage", importlib.import_module("pyrage"))


def generate_age_identity() -> tuple[str, str]:
    """A fresh age X25519 key pair: (identity ``AGE-SECRET-KEY-1...``, recipient ``age1...``)."""
    identity = _age.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def is_age_recipient(value: str) -> bool:
    """Whether ``value`` is an age X25519 recipient in its canonical form (``age1`` + lower-case bech32)."""
    if not isinstance(value, str) or not value.startswith("age1"):
        return False
    try:
        recipient = _age.x25519.Recipient.from_str(value)
    except _age.RecipientError:
        return False
    return str(recipient) == value


def _encrypt(plaintext: bytes, recipient: str) -> bytes:
    if not is_age_recipient(recipient):
        raise PackageError(f"not an age X25519 recipient (age1...): {recipient!r}")
    try:
        return _age.encrypt(plaintext, [_age.x25519.Recipient.from_str(recipient)])
    except _age.EncryptError as error:  # pragma: no cover - age refuses nothing a valid recipient gets
        raise PackageError(f"age encryption failed: {error}") from error


def open_package(encrypted: bytes, identity: str) -> bytes:
    """Decrypt a package with an age identity; returns the tar bytes.

    ``identity`` is the ``AGE-SECRET-KEY-1...`` string, or the text of an identity file as ``age-keygen``
    writes it: comment lines starting with ``#`` are skipped, and each other line is one key.
    """
    keys = [line.strip() for line in identity.splitlines()]
    keys = [line for line in keys if line and not line.startswith("#")]
    if not keys:
        raise PackageError("not an age X25519 identity (AGE-SECRET-KEY-1...): no key given")
    try:
        parsed: list[object] = [_age.x25519.Identity.from_str(key) for key in keys]
    except _age.IdentityError:
        raise PackageError("not an age X25519 identity (AGE-SECRET-KEY-1...)") from None
    if not encrypted.startswith(_AGE_HEADER):
        raise PackageError("not an age-encrypted package (binary age format expected)")
    try:
        return _age.decrypt(encrypted, parsed)
    except _age.DecryptError as error:
        if "no matching keys" in str(error).lower():
            raise PackageError("this package is not encrypted to that identity") from None
        raise PackageError(f"the package cannot be decrypted, it is damaged or truncated: {error}") from None


# --------------------------------------------------------------------------------------------------
# Building


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PackageError(f"{name} must be an aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class PackageMeta:
    """The facts of the disclosure a package answers; they are signed with it, in ``manifest.json``.

    ``categories`` are `DataCategory` values, normalised to a sorted tuple without repeats; ``targets``
    are ``"type:value"`` strings (type a `TargetType`), kept in the given order. Times are aware and
    normalised to UTC; ``period_start`` must precede ``period_end`` when both are given.
    """

    tracking_number: str
    agency_id: str
    instrument: str
    categories: tuple[str, ...]
    period_start: datetime | None
    period_end: datetime | None
    produced_at: datetime
    policy_version: str
    targets: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("tracking_number", "agency_id", "instrument", "policy_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise PackageError(f"PackageMeta.{name} must be a non-empty string")
        try:
            categories = sorted({DataCategory(category).value for category in self.categories})
        except ValueError as error:
            raise PackageError(f"PackageMeta.categories: {error}") from None
        if not categories:
            raise PackageError("PackageMeta.categories must name at least one data category")
        object.__setattr__(self, "categories", tuple(categories))
        targets = tuple(self.targets)
        for target in targets:
            kind, separator, value = target.partition(":")
            if not separator or not value or kind not in _TARGET_TYPES:
                raise PackageError(f"PackageMeta.targets: not a 'type:value' target: {target!r}")
        object.__setattr__(self, "targets", targets)
        start = None if self.period_start is None else _utc(self.period_start, "period_start")
        end = None if self.period_end is None else _utc(self.period_end, "period_end")
        if start is not None and end is not None and not start < end:
            raise PackageError(f"period_start must be before period_end, got {start} .. {end}")
        object.__setattr__(self, "period_start", start)
        object.__setattr__(self, "period_end", end)
        produced_at = _utc(self.produced_at, "produced_at")
        if produced_at.timestamp() < 0:
            raise PackageError("produced_at must not be before 1970")
        object.__setattr__(self, "produced_at", produced_at)

    def as_json(self) -> dict[str, Any]:
        return {
            "tracking_number": self.tracking_number,
            "agency_id": self.agency_id,
            "instrument": self.instrument,
            "categories": list(self.categories),
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
            "produced_at": _iso(self.produced_at),
            "policy_version": self.policy_version,
            "targets": list(self.targets),
        }


@dataclass(frozen=True)
class _Row:
    account_id: str
    kind: str
    at: datetime | None
    fields: Mapping[str, FieldValue]

    def sort_key(self) -> tuple[str, bool, datetime, str, str]:
        return (
            self.account_id,
            self.at is not None,
            self.at or datetime.min.replace(tzinfo=UTC),
            self.kind,
            json.dumps(dict(self.fields), sort_keys=True),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "at": _iso(self.at),
            "fields": dict(self.fields),
        }


def minimised(
    record: ExportRecord, account_id: str, allowed: Mapping[DataCategory, frozenset[str]] | None
) -> _Row:
    fields = dict(record.fields)
    if allowed is not None:
        keep = allowed.get(record.category, frozenset())
        fields = {name: value for name, value in fields.items() if name in keep}
    for name, value in fields.items():
        if not isinstance(name, str) or not name:
            raise PackageError(f"account {account_id}: a {record.kind} record has a field without a name")
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise PackageError(
                f"account {account_id}: field {name!r} of a {record.kind} record holds a "
                f"{type(value).__name__}; export fields are strings, integers or null"
            )
    return _Row(account_id, record.kind, record.at, MappingProxyType(dict(sorted(fields.items()))))


def _gather(
    meta: PackageMeta,
    exports: Sequence[Export],
    allowed_fields: Mapping[DataCategory, frozenset[str]] | None,
) -> dict[DataCategory, list[_Row]]:
    approved = {DataCategory(category) for category in meta.categories}
    rows: dict[DataCategory, list[_Row]] = {category: [] for category in sorted(approved)}
    seen: set[str] = set()
    for export in exports:
        if export.account_id in seen:
            raise PackageError(f"account {export.account_id} appears in more than one export")
        seen.add(export.account_id)
        extra = set(export.categories) - approved
        if extra:
            raise PackageError(
                f"the export of account {export.account_id} was made for categories that were not "
                f"approved: {', '.join(sorted(extra))}"
            )
        for record in export.records:
            if record.category not in approved:
                raise PackageError(
                    f"the export of account {export.account_id} holds a {record.kind} record of category "
                    f"{record.category.value}, which was not approved; nothing was produced"
                )
            rows[record.category].append(minimised(record, export.account_id, allowed_fields))
    for category_rows in rows.values():
        category_rows.sort(key=_Row.sort_key)
    return rows


def _json_bytes(document: Any) -> bytes:
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _columns(rows: Sequence[_Row]) -> tuple[list[str], list[str]]:
    """(field names in order, headers); a field named like a fixed column is headed ``fields.<name>``."""
    names = sorted({name for row in rows for name in row.fields})
    headers = [f"fields.{name}" if name in _FIXED_COLUMNS else name for name in names]
    if len(set(headers) | set(_FIXED_COLUMNS)) != len(headers) + len(_FIXED_COLUMNS):
        raise PackageError(f"field names collide with the CSV columns: {', '.join(names)}")
    return names, [*_FIXED_COLUMNS, *headers]


FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


def neutralise_formula(cell: str) -> str:
    """The cell as a spreadsheet shows it as text: one that begins with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return gets a single quote in front (OWASP's CSV injection guidance); any other is
    unchanged. Every CSV cell of a production goes through here (`csv_row`); the JSON keeps the value."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def csv_row(cells: Sequence[str]) -> list[str]:
    """One row of a production CSV, each cell neutralised (`neutralise_formula`)."""
    return [neutralise_formula(cell) for cell in cells]


def _cell(value: FieldValue) -> str:
    return "" if value is None else str(value)


def _csv_bytes(rows: Sequence[_Row]) -> bytes:
    names, headers = _columns(rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_row(headers))
    for row in rows:
        writer.writerow(
            csv_row(
                [
                    row.account_id,
                    row.kind,
                    _iso(row.at) or "",
                    *(_cell(row.fields.get(name)) for name in names),
                ]
            )
        )
    return buffer.getvalue().encode("utf-8")


def _readme(meta: PackageMeta, counts: Mapping[str, int]) -> bytes:
    start, end = _iso(meta.period_start) or "open", _iso(meta.period_end) or "open"
    period = f"{start} to {end} (start included, end excluded)"
    lines = [
        "TRUSTDESK PRODUCTION PACKAGE",
        "",
        f"Tracking number:  {meta.tracking_number}",
        f"Agency:           {meta.agency_id}",
        f"Instrument:       {meta.instrument}",
        f"Produced at:      {_iso(meta.produced_at)}",
        f"Period:           {period}",
        f"Policy version:   {meta.policy_version}",
        "Targets:",
        *(f"  - {target}" for target in meta.targets),
        "Categories (records):",
        *(f"  - {category}: {counts[category]}" for category in meta.categories),
        "",
        "CONTENTS",
        "  data/<category>.json  the records of each approved category. These files are authoritative.",
        "                        Each record: account_id, kind, at (ISO 8601 UTC or null), fields.",
        "  data/<category>.csv   the same records as a table (UTF-8, RFC 4180): account_id, kind, at,",
        "                        then one column per field (a field named like one of the first three",
        "                        columns is headed fields.<name>). An empty cell is an empty or null value.",
        "  manifest.json         the facts above and the SHA-256 and size of every file in the package.",
        "  manifest.sig          the platform's Ed25519 signature over the exact bytes of manifest.json.",
        "",
        "Only the categories and fields approved for this request are included. The JSON files reproduce",
        "the data exactly as the platform holds it, including text written by the account holder. In the",
        "CSV files a cell that begins with =, +, -, @, a tab or a carriage return, which a spreadsheet",
        "could run as a formula, begins with a single quote (') added in front of the value.",
        "",
        "HOW TO VERIFY",
        "  1. Decrypt with your agency's age identity:",
        "       age --decrypt --identity agency-key.txt --output package.tar package.tar.age",
        "  2. Unpack:  mkdir package && tar -xf package.tar -C package",
        "  3. Check the signature against the platform's public key as published by the platform",
        "     (its point-of-contact page names the key id; manifest.json names the key id used here):",
        "       openssl pkeyutl -verify -pubin -inkey platform-signing-key.pem -rawin \\",
        "         -in manifest.json -sigfile manifest.sig",
        "  4. Check every file against the manifest: the sha256 and size listed in manifest.json for",
        "     each path must match (sha256sum data/* README.txt). No other files may be present.",
        "  Trustdesk's own tooling does all of this: trustdesk.lawful.package.open_package and",
        "  verify_package.",
        "",
        "Handle this package according to the rules that govern the instrument named above.",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _tar(members: Sequence[tuple[str, bytes]], mtime: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o644
            info.type = tarfile.REGTYPE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_archive(
    meta: PackageMeta,
    exports: Sequence[Export],
    allowed_fields: Mapping[DataCategory, frozenset[str]] | None,
    signer: Signer,
) -> bytes:
    """The signed, unencrypted tar of a package (what `open_package` gives back); see `build_package`."""
    rows = _gather(meta, exports, allowed_fields)
    files: list[tuple[str, bytes]] = []
    for category, category_rows in rows.items():
        files.append((f"data/{category.value}.json", _json_bytes([row.as_json() for row in category_rows])))
        files.append((f"data/{category.value}.csv", _csv_bytes(category_rows)))
    counts = {category.value: len(category_rows) for category, category_rows in rows.items()}
    files.append((README, _readme(meta, counts)))
    files.sort()
    public_key = signer.public_key_bytes()
    manifest = _json_bytes(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "meta": meta.as_json(),
            "accounts": sorted(export.account_id for export in exports),
            "records": counts,
            "files": [
                {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                for name, data in files
            ],
            "signer": {
                "algorithm": "Ed25519",
                "key_id": signer.key_id,
                "public_key": base64.b64encode(public_key).decode("ascii"),
            },
        }
    )
    signature = signer.sign(manifest)
    if signer.key_id != key_id_for(public_key) or not verify_signature(public_key, manifest, signature):
        raise PackageError(f"the signer {signer.key_id} gave a signature that does not verify with its key")
    return _tar([*files, (MANIFEST, manifest), (SIGNATURE, signature)], int(meta.produced_at.timestamp()))


def build_package(
    meta: PackageMeta,
    exports: Sequence[Export],
    allowed_fields: Mapping[DataCategory, frozenset[str]] | None,
    signer: Signer,
    recipient: str,
) -> bytes:
    """The encrypted production package: `build_archive` encrypted with age to ``recipient`` (``age1...``).

    Every record must be of a category in ``meta.categories`` (and every export made for those categories
    only), else `PackageError` and nothing is signed or produced. With ``allowed_fields``, a record keeps
    only the fields allowed for its category (none when its category is absent), plus its kind and time.
    """
    if not is_age_recipient(recipient):
        raise PackageError(f"not an age X25519 recipient (age1...): {recipient!r}")
    return _encrypt(build_archive(meta, exports, allowed_fields, signer), recipient)
