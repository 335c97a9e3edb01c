"""Transparency reports: built from the records, signed, versioned, published, verifiable by anyone.

A report is a **canonical JSON document** (sorted keys, no insignificant whitespace, UTF-8) holding the
period, the scope, the version, when it was built, the rule that protected small counts, every published
figure, the SHA-256 of every rendered file, and the transparency log as it stood (the latest signed tree
head and the number of sequenced receipt leaves of the period and scope); plus its **files** (the EU
templates, the TCO report, the per-country table). The document is signed with the platform's Ed25519
key, so the signature covers every file through its hash.

Building the same period and scope again makes the next version; versions are kept, never overwritten. A
published report is immutable: the ORM refuses any change to it or its files (`_refuse_changes`).

On disk (``trustdesk report build --out DIR``): ``report.json`` (the exact signed bytes), ``report.sig``
(the raw 64-byte Ed25519 signature: ``openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in
report.json -sigfile report.sig``), ``signature.json`` (the same signature in hex, with the key id), and
the files. `verify_bundle` checks all of it.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import cast, event, func, inspect, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapper, Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.lawful.catalogue import EU_MEMBER_STATES, Catalogue
from trustdesk.signing.protocol import Signer, key_id_for, verify_signature
from trustdesk.transparency import country_table, eu_templates, tco_report
from trustdesk.transparency.metrics import Scope, compute, dialect_of
from trustdesk.transparency.models import Report, ReportFile, TlogEntry, TlogHead
from trustdesk.transparency.periods import Period
from trustdesk.transparency.protection import Protection, Tree, protect

__all__ = [
    "DOCUMENT",
    "FORMAT",
    "SIGNATURE",
    "SIGNATURE_JSON",
    "Built",
    "Verdict",
    "build",
    "canonical_json",
    "latest",
    "list_reports",
    "publish",
    "verify",
    "verify_bundle",
    "write_bundle",
]

FORMAT: Final = "trustdesk-transparency-report"
FORMAT_VERSION: Final = 1
DOCUMENT: Final = "report.json"
SIGNATURE: Final = "report.sig"
SIGNATURE_JSON: Final = "signature.json"
_BUNDLE_OWN: Final = frozenset({DOCUMENT, SIGNATURE, SIGNATURE_JSON})


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8 (not ASCII-escaped)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Built:
    report: Report
    files: dict[str, bytes]
    document: bytes


def _amar(amar: Mapping[str, int]) -> dict[str, Tree]:
    out: dict[str, Tree] = {}
    for key, value in amar.items():
        scope = key.strip().upper()
        if scope != "TOTAL" and scope not in EU_MEMBER_STATES:
            raise InvalidInput(f"AMAR: {key!r} is neither TOTAL nor an EU Member State code", field="amar")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(
                f"AMAR: {key} must be a whole number of recipients, not {value!r}", field="amar"
            )
        out[scope] = value
    return out


def latest_head(session: Session) -> TlogHead | None:
    return session.scalar(select(TlogHead).order_by(TlogHead.tree_size.desc()).limit(1))


def receipt_leaves(session: Session, period: Period, scope: Scope) -> int:
    """Sequenced receipt leaves whose day lies in the period (and whose country is the scope's)."""
    e = TlogEntry
    day: Any
    country: Any
    if dialect_of(session) == "sqlite":
        day, country = func.json_extract(e.leaf, "$.day"), func.json_extract(e.leaf, "$.country")
    else:  # the leaf is text holding canonical JSON
        day = cast(e.leaf, JSONB()).op("->>")("day")
        country = cast(e.leaf, JSONB()).op("->>")("country")
    query = (
        select(func.count())
        .select_from(e)
        .where(
            e.kind == "receipt",
            e.leaf_index.is_not(None),
            day >= period.first_day.isoformat(),
            day <= period.last_day.isoformat(),
        )
    )
    if scope.country:
        query = query.where(country == scope.country)
    return int(session.scalar(query) or 0)


def _audit(session: Session, clock: Clock, action: AuditAction, report: Report) -> None:
    audit.record(
        session, clock, Actor.operator(), action, subject_type="transparency_report", subject_id=report.id,
        data={"period": report.period, "scope": report.scope, "version": report.version,
              "sha256": report.sha256},
    )  # fmt: skip


def build(
    session: Session,
    clock: Clock,
    signer: Signer,
    catalogue: Catalogue,
    period: Period,
    scope: Scope,
    *,
    provider: str,
    protection: Protection,
    amar: Mapping[str, int] | None = None,
) -> Built:
    """Compute, protect, render, sign and store the next version of the report of ``period`` and
    ``scope`` (not published)."""
    now = clock()
    version = (
        session.scalar(
            select(func.max(Report.version)).where(Report.period == period.label, Report.scope == scope.code)
        )
        or 0
    ) + 1
    previous = session.scalar(select(func.max(Report.built_at)).where(Report.scope == scope.code))
    metrics = compute(session, catalogue, period, scope, built_at=now)
    if scope.is_global:
        metrics["amar"] = _amar(amar or {})
    published = protect(metrics, protection)
    files: dict[str, bytes] = {}
    if scope.is_global:
        context = eu_templates.ReportContext(
            provider, now.date(), previous.date() if previous else None, version
        )
        files |= eu_templates.render(published, context)
    files[tco_report.FILE] = tco_report.render(published)
    files[country_table.FILE] = country_table.render(published)
    head = latest_head(session)
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provider": provider,
        "period": period.label,
        "period_range": period.eu_range,
        "scope": scope.code,
        "version": version,
        "built_at": now.isoformat(),
        "key_id": signer.key_id,
        "protection": protection.describe(),
        "metrics": published.figures,
        "files": [
            {"name": name, "media_type": eu_templates.CSV, "sha256": _sha256(content), "size": len(content)}
            for name, content in sorted(files.items())
        ],
        "log": {
            "head": None
            if head is None
            else {"tree_size": head.tree_size, "root_hash": head.root_hash, "checkpoint": head.checkpoint},
            "receipt_leaves": receipt_leaves(session, period, scope),
        },
    }
    data = canonical_json(document)
    report = Report(
        period=period.label, scope=scope.code, version=version, built_at=now, document=data.decode(),
        sha256=_sha256(data), signature=signer.sign(data).hex(), key_id=signer.key_id,
        tree_size=head.tree_size if head else None, published_at=None,
    )  # fmt: skip
    session.add(report)
    session.flush()
    for name, content in sorted(files.items()):
        session.add(
            ReportFile(report_id=report.id, name=name, media_type=eu_templates.CSV, content=content,
                       sha256=_sha256(content))
        )  # fmt: skip
    session.flush()
    _audit(session, clock, AuditAction.REPORT_BUILD, report)
    return Built(report, files, data)


def latest(session: Session, period: Period, scope: Scope) -> Report:
    report = session.scalar(
        select(Report)
        .where(Report.period == period.label, Report.scope == scope.code)
        .order_by(Report.version.desc())
        .limit(1)
    )
    if report is None:
        raise NotFound(
            f"no report for {period.label} ({scope.code}) yet: build one first", code="report_not_found"
        )
    return report


def publish(session: Session, clock: Clock, period: Period, scope: Scope) -> Report:
    """Publish the latest version of the period's report; it is immutable from then on."""
    report = latest(session, period, scope)
    if report.published_at is not None:
        raise Conflict(
            f"{period.label} ({scope.code}) version {report.version} was published on "
            f"{report.published_at.isoformat()}: build a new version to change it",
            code="report_published",
        )
    report.published_at = clock()
    session.flush()
    _audit(session, clock, AuditAction.REPORT_PUBLISH, report)
    return report


def files_of(session: Session, report: Report) -> dict[str, bytes]:
    return {
        f.name: f.content
        for f in session.scalars(
            select(ReportFile).where(ReportFile.report_id == report.id).order_by(ReportFile.name)
        )
    }


def list_reports(session: Session) -> Sequence[Report]:
    return session.scalars(select(Report).order_by(Report.period, Report.scope, Report.version)).all()


# --- immutability -------------------------------------------------------------------------------------


def _published_before(report: Report) -> bool:
    history = inspect(report).attrs.published_at.history
    before = history.deleted[0] if history.deleted else (None if history.added else report.published_at)
    return before is not None


@event.listens_for(Report, "before_update")
def _refuse_changes(_: Mapper[Report], __: Any, report: Report) -> None:
    if _published_before(report):
        raise Conflict(f"report {report.period} ({report.scope}) v{report.version} is published: immutable",
                       code="report_published")  # fmt: skip


@event.listens_for(Report, "before_delete")
def _refuse_delete(_: Mapper[Report], __: Any, report: Report) -> None:
    if report.published_at is not None:
        raise Conflict(f"report {report.period} ({report.scope}) v{report.version} is published: kept",
                       code="report_published")  # fmt: skip


@event.listens_for(ReportFile, "before_update")
@event.listens_for(ReportFile, "before_delete")
def _refuse_file_changes(_: Mapper[ReportFile], connection: Any, file: ReportFile) -> None:
    published = connection.scalar(select(Report.published_at).where(Report.id == file.report_id))
    if published is not None:
        raise Conflict(f"{file.name} belongs to a published report: immutable", code="report_published")


# --- verification ---------------------------------------------------------------------------------------


def verify(document: bytes, signature: bytes, public_key: bytes) -> bool:
    """Whether ``signature`` is the platform's Ed25519 signature of exactly ``document``."""
    return verify_signature(public_key, document, signature)


@dataclass
class Verdict:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    checked_files: int = 0
    document: dict[str, Any] | None = None

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def write_bundle(
    out: Path, document: bytes, signature: bytes, key_id: str, files: Mapping[str, bytes]
) -> None:
    """The report as files in ``out`` (created): document, signature, and every rendering."""
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if Path(name).name != name or name in _BUNDLE_OWN:
            raise InvalidInput(f"a report file may not be named {name!r}")
        (out / name).write_bytes(content)
    (out / SIGNATURE).write_bytes(signature)
    (out / SIGNATURE_JSON).write_bytes(
        canonical_json(
            {"algorithm": "Ed25519", "key_id": key_id, "signature": signature.hex(), "signs": DOCUMENT}
        )
        + b"\n"
    )
    (out / DOCUMENT).write_bytes(document)


def verify_bundle(path: Path, public_key: bytes) -> Verdict:
    """Check a report on disk (its folder, or its ``report.json``): the signature over the document, the
    key id, every file's SHA-256 and size, and that no file is missing or added. Every problem is named."""
    folder = path.parent if path.is_file() else path
    verdict = Verdict()
    try:
        data = (folder / DOCUMENT).read_bytes()
    except OSError as exc:
        verdict.fail(f"{DOCUMENT}: cannot be read ({exc.strerror or exc})")
        return verdict
    try:
        signature = (folder / SIGNATURE).read_bytes()
    except OSError as exc:
        verdict.fail(f"{SIGNATURE}: cannot be read ({exc.strerror or exc})")
        signature = b""
    if signature and not verify(data, signature, public_key):
        verdict.fail(f"{SIGNATURE}: not a valid signature of {DOCUMENT} by key {key_id_for(public_key)} "
                     "(the document or the signature was changed, or another key signed it)")  # fmt: skip
    try:
        document = json.loads(data)
        assert isinstance(document, dict)
    except (ValueError, AssertionError):
        verdict.fail(f"{DOCUMENT}: not a JSON object")
        return verdict
    verdict.document = document
    if canonical_json(document) != data:
        verdict.fail(f"{DOCUMENT}: not in canonical form (sorted keys, no whitespace)")
    if document.get("format") != FORMAT:
        verdict.fail(f"{DOCUMENT}: not a {FORMAT} document")
    if document.get("key_id") != key_id_for(public_key):
        verdict.fail(
            f"{DOCUMENT}: names key {document.get('key_id')!r}, "
            f"but the public key is {key_id_for(public_key)}"
        )
    sidecar = folder / SIGNATURE_JSON
    if sidecar.exists():
        try:
            detached = json.loads(sidecar.read_bytes())
            if detached.get("signature") != signature.hex() or detached.get("key_id") != document.get(
                "key_id"
            ):
                verdict.fail(f"{SIGNATURE_JSON}: does not match {SIGNATURE} and the document's key id")
        except (ValueError, AttributeError):
            verdict.fail(f"{SIGNATURE_JSON}: not a JSON object")
    listed: set[str] = set()
    for entry in document.get("files", []):
        name = str(entry.get("name"))
        listed.add(name)
        target = folder / name
        if Path(name).name != name or not target.is_file():
            verdict.fail(f"{name}: missing")
            continue
        content = target.read_bytes()
        verdict.checked_files += 1
        if _sha256(content) != entry.get("sha256") or len(content) != entry.get("size"):
            verdict.fail(f"{name}: its SHA-256 does not match the signed document (the file was changed)")
    for extra in sorted(p.name for p in folder.iterdir() if p.is_file()):
        if extra not in listed and extra not in _BUNDLE_OWN:
            verdict.fail(f"{extra}: not part of the signed report")
    return verdict


def bundle_of(session: Session, report: Report) -> tuple[bytes, bytes, dict[str, bytes]]:
    """A stored report's document, signature and files, as `write_bundle` takes them."""
    return report.document.encode(), bytes.fromhex(report.signature), files_of(session, report)
