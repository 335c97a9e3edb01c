"""Reading and verifying a production package (``lawful/package.py`` builds it): its files and records, and
every check an agency's verifier makes — the manifest, each file's hash and size, the platform's signature
against a trusted key, and that the archive holds nothing unsafe (no links, no paths out of it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trustdesk.lawful.package import _SAFE_NAME, FORMAT, FORMAT_VERSION, MANIFEST, SIGNATURE, PackageError
from trustdesk.signing.protocol import key_id_for, verify_signature

__all__ = ["VerificationReport", "read_files", "read_records", "verify_package"]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class _Archive:
    files: dict[str, bytes]
    problems: list[str]
    readable: bool


def _member_problem(member: tarfile.TarInfo) -> str | None:
    name = member.name
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return f"refused member {name!r}: absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return f"refused member {name!r}: path traversal"
    if member.issym() or member.islnk():
        return f"refused member {name!r}: links are not allowed (points to {member.linkname!r})"
    if not member.isreg():
        return f"refused member {name!r}: only regular files are allowed"
    if not _SAFE_NAME.fullmatch(name):
        return f"refused member {name!r}: unexpected characters in the path"
    return None


def _read_archive(tar_bytes: bytes) -> _Archive:
    """Regular, safely named members into memory; every other member becomes a problem and is not read."""
    files: dict[str, bytes] = {}
    problems: list[str] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as archive:
            for member in archive:
                problem = _member_problem(member)
                if problem is not None:
                    problems.append(problem)
                    continue
                if member.name in files:
                    problems.append(f"refused member {member.name!r}: it appears more than once")
                    continue
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - regular members always have content
                    problems.append(f"refused member {member.name!r}: no content")
                    continue
                files[member.name] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as error:
        problems.append(f"not a readable tar archive: {error}")
        return _Archive({}, problems, readable=False)
    return _Archive(files, problems, readable=True)


def read_files(tar_bytes: bytes) -> dict[str, bytes]:
    """Every file of a decrypted package by path, in memory; unsafe or unreadable archive: `PackageError`."""
    archive = _read_archive(tar_bytes)
    if archive.problems:
        raise PackageError("; ".join(archive.problems))
    return archive.files


def read_records(tar_bytes: bytes) -> dict[str, list[dict[str, Any]]]:
    """The records of a decrypted package, category -> records (``data/<category>.json``).

    Reads; does not verify (use `verify_package` for that). Unsafe archives raise `PackageError`.
    """
    result: dict[str, list[dict[str, Any]]] = {}
    for name, data in sorted(read_files(tar_bytes).items()):
        match = re.fullmatch(r"data/([a-z_]+)\.json", name)
        if match is None:
            continue
        try:
            records = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise PackageError(f"{name} is not JSON: {error}") from None
        if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
            raise PackageError(f"{name} is not a list of records")
        result[match.group(1)] = records
    return result


@dataclass(frozen=True)
class VerificationReport:
    """What `verify_package` found. ``ok`` when there are no problems.

    ``files`` are the paths the manifest lists; ``manifest`` is the parsed manifest (empty if unreadable).
    ``trusted_key`` tells whether the signature was checked against a key the caller trusts, or only
    against the key the package itself carries; ``notes`` says so in words.
    """

    ok: bool
    problems: tuple[str, ...]
    manifest: Mapping[str, Any]
    files: tuple[str, ...]
    trusted_key: bool = False
    notes: tuple[str, ...] = field(default=())


def _parse_manifest(data: bytes, problems: list[str]) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        problems.append(f"{MANIFEST} is not JSON: {error}")
        return {}
    if not isinstance(manifest, dict):
        problems.append(f"{MANIFEST} is not a JSON object")
        return {}
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        problems.append(
            f"{MANIFEST} is not a {FORMAT} version {FORMAT_VERSION} manifest "
            f"(format {manifest.get('format')!r}, version {manifest.get('version')!r})"
        )
    return manifest


def _listed_files(manifest: Mapping[str, Any], problems: list[str]) -> list[tuple[str, str, int]]:
    entries = manifest.get("files")
    if not isinstance(entries, list):
        problems.append(f"{MANIFEST} lists no files")
        return []
    listed: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        size = entry.get("size") if isinstance(entry, dict) else None
        if (
            not isinstance(path, str)
            or not isinstance(digest, str)
            or not _SHA256_HEX.fullmatch(digest)
            or not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
        ):
            problems.append(f"{MANIFEST} has a malformed file entry: {entry!r}")
            continue
        if not _SAFE_NAME.fullmatch(path) or ".." in path.split("/") or path in (MANIFEST, SIGNATURE):
            problems.append(f"{MANIFEST} lists a path that is not allowed: {path!r}")
            continue
        if path in seen:
            problems.append(f"{MANIFEST} lists {path} more than once")
            continue
        seen.add(path)
        listed.append((path, digest, size))
    return listed


def _manifest_key(manifest: Mapping[str, Any]) -> bytes | None:
    signer = manifest.get("signer")
    encoded = signer.get("public_key") if isinstance(signer, dict) else None
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_signature(
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    trusted_public_key: bytes | None,
    problems: list[str],
    notes: list[str],
) -> None:
    manifest_bytes = files.get(MANIFEST)
    signature = files.get(SIGNATURE)
    if signature is None:
        problems.append(f"{SIGNATURE} is missing: the package is not signed")
    embedded = _manifest_key(manifest) if manifest else None
    if trusted_public_key is None:
        key = embedded
        if key is None:
            if manifest:
                problems.append(f"{MANIFEST} carries no usable signer public key")
            return
        notes.append(
            f"the signature was checked against the public key inside the package (key id "
            f"{key_id_for(key)}): this proves the package is intact, not who made it; compare the key id "
            "with the one the platform publishes, or verify with the platform's trusted key"
        )
    else:
        key = trusted_public_key
        notes.append(f"the signature was checked against the trusted key {key_id_for(key)}")
        if embedded is not None and embedded != trusted_public_key:
            problems.append(
                f"the package names signer key {key_id_for(embedded)}, not the trusted key {key_id_for(key)}"
            )
    if manifest_bytes is None or signature is None:
        return
    if not verify_signature(key, manifest_bytes, signature):
        problems.append(f"{SIGNATURE}: the signature of {MANIFEST} is not valid for key {key_id_for(key)}")


def verify_package(tar_bytes: bytes, trusted_public_key: bytes | None = None) -> VerificationReport:
    """Check a decrypted package: members safe, manifest signed, every listed file intact, nothing else.

    Without ``trusted_public_key`` the signature is checked against the key the manifest carries, which
    proves integrity but not origin; the report's ``trusted_key`` is then False and its notes say so.
    Nothing is extracted to disk; unsafe members are reported and never read.
    """
    archive = _read_archive(tar_bytes)
    problems = list(archive.problems)
    if not archive.readable:
        return VerificationReport(
            False, tuple(problems), MappingProxyType({}), (), trusted_public_key is not None
        )
    notes: list[str] = []
    files = archive.files
    manifest: dict[str, Any] = {}
    if MANIFEST in files:
        manifest = _parse_manifest(files[MANIFEST], problems)
    else:
        problems.append(f"{MANIFEST} is missing")
    _check_signature(files, manifest, trusted_public_key, problems, notes)
    listed = _listed_files(manifest, problems) if manifest else []
    for path, digest, size in listed:
        data = files.get(path)
        if data is None:
            problems.append(f"{path}: listed in the manifest but missing from the package")
            continue
        if len(data) != size:
            problems.append(f"{path}: size {len(data)} does not match the manifest ({size})")
        if hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{path}: sha256 does not match the manifest")
    known = {path for path, _, _ in listed} | {MANIFEST, SIGNATURE}
    problems.extend(
        f"{path}: not listed in the manifest (unlisted file)" for path in files if path not in known
    )
    return VerificationReport(
        ok=not problems,
        problems=tuple(problems),
        manifest=MappingProxyType(manifest),
        files=tuple(path for path, _, _ in listed),
        trusted_key=trusted_public_key is not None,
        notes=tuple(notes),
    )
