"""What the public may read of the transparency reports: published versions only, their stored files, the
figures of their signed documents as the page shows them, and the check of an authority's log receipt.

A draft (built, not published) is invisible here: every query asks for ``published_at``. Figures are read
from the signed document (``metrics``), never recounted, so the page, the JSON API and the files agree.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.errors import InvalidInput, NotFound
from trustdesk.transparency import reports
from trustdesk.transparency.charts import Published, value_range
from trustdesk.transparency.checkpoint import CheckpointError, verify_checkpoint
from trustdesk.transparency.models import Report, ReportFile, TlogHead
from trustdesk.transparency.periods import Period, PeriodError, parse_period
from trustdesk.transparency.tlog import checks
from trustdesk.transparency.tlog import service as tlog
from trustdesk.transparency.tlog.leaves import hash_of

__all__ = [
    "MAX_RECEIPT",
    "ReceiptCheck",
    "ReportFigures",
    "check_receipt",
    "figures_of",
    "file_of",
    "latest_versions",
    "parse_period_or_422",
    "published",
    "published_report",
]

MAX_RECEIPT: Final = 64 * 1024
"""A log receipt is about 2 KiB; anything far larger is not one."""
SIGNATURE_MEDIA_TYPE: Final = "application/octet-stream"
JSON_MEDIA_TYPE: Final = "application/json"


def parse_period_or_422(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise InvalidInput(str(exc), field="period") from None


def published(session: Session, *, period: str | None = None, scope: str | None = None) -> list[Report]:
    """Every published version, by period, scope and version."""
    query = select(Report).where(Report.published_at.is_not(None))
    if period is not None:
        query = query.where(Report.period == period)
    if scope is not None:
        query = query.where(Report.scope == scope)
    return list(session.scalars(query.order_by(Report.period, Report.scope, Report.version)))


def latest_versions(reports_: Sequence[Report]) -> dict[tuple[str, str], Report]:
    """The latest published version of each (period, scope)."""
    out: dict[tuple[str, str], Report] = {}
    for report in reports_:
        key = (report.period, report.scope)
        if key not in out or out[key].version < report.version:
            out[key] = report
    return out


def published_report(session: Session, report_id: str) -> Report:
    report = session.get(Report, report_id) if len(report_id) <= 64 else None
    if report is None or report.published_at is None:
        raise NotFound(f"no published report {report_id!r}", code="report_not_found")
    return report


def file_names(session: Session, report: Report) -> list[str]:
    """The report's downloads: the document, its signature (raw and JSON), then every rendering."""
    names = session.scalars(
        select(ReportFile.name).where(ReportFile.report_id == report.id).order_by(ReportFile.name)
    )
    return [reports.DOCUMENT, reports.SIGNATURE, reports.SIGNATURE_JSON, *names]


def file_of(session: Session, report: Report, name: str) -> tuple[bytes, str]:
    """A published report's file as ``trustdesk report build --out`` writes it: (content, media type)."""
    if name == reports.DOCUMENT:
        return report.document.encode(), JSON_MEDIA_TYPE
    if name == reports.SIGNATURE:
        return bytes.fromhex(report.signature), SIGNATURE_MEDIA_TYPE
    if name == reports.SIGNATURE_JSON:
        sidecar = {
            "algorithm": "Ed25519",
            "key_id": report.key_id,
            "signature": report.signature,
            "signs": reports.DOCUMENT,
        }  # as reports.write_bundle writes it
        return reports.canonical_json(sidecar) + b"\n", JSON_MEDIA_TYPE
    found = session.get(ReportFile, (report.id, name)) if len(name) <= 100 else None
    if found is None:
        raise NotFound(f"report {report.id} has no file {name!r}", code="report_file_not_found")
    return found.content, found.media_type


# --- the figures of a document --------------------------------------------------------------------------


def _words(code: str) -> str:
    text = code.replace("_", " ").lower()
    return text[:1].upper() + text[1:]


def category_label(code: str) -> str:
    """``STATEMENT_CATEGORY_SCAMS_AND_FRAUD`` -> ``Scams and fraud``."""
    words = _words(code.removeprefix("STATEMENT_CATEGORY_"))
    return words.replace(" tc", " terms and conditions")


def _order(figure: Published) -> float:
    found = value_range(figure)
    return -(found[1] if found else -1.0)


@dataclass(frozen=True)
class CountryRow:
    code: str
    name: str
    received: Published
    complied: Published
    partial: Published
    refused: Published
    withdrawn: Published
    fulfilled: Published


@dataclass(frozen=True)
class CategoryRow:
    code: str
    label: str
    own_illegal: Published
    own_terms: Published
    notice_legal: Published
    notice_terms: Published


@dataclass(frozen=True)
class ReportFigures:
    """The figures of one document that the page shows, exactly as published."""

    received: Published
    fulfilled: Published
    accounts_specified: Published
    accounts_affected: Published
    emergency: Published
    outcomes: list[tuple[str, Published]]
    refused_by_ground: list[tuple[str, Published]]
    countries: list[CountryRow]
    moderation: bool
    categories: list[CategoryRow] = field(default_factory=list)
    moderation_totals: list[tuple[str, Published]] = field(default_factory=list)
    receipt_leaves: Published = None
    log_head: Mapping[str, Any] | None = None
    protection: Mapping[str, Any] = field(default_factory=dict)
    complete: Published = None


def _get(tree: Any, *path: str) -> Any:
    for key in path:
        tree = tree.get(key) if isinstance(tree, Mapping) else None
    return tree


def figures_of(document: Mapping[str, Any], country_name: Callable[[str], str]) -> ReportFigures:
    """The page's figures, read from a signed document's ``metrics`` (nothing recounted)."""
    metrics = document.get("metrics") or {}
    lawful = metrics.get("lawful") or {}
    by_country = lawful.get("by_country") or {}
    countries = sorted(
        (
            CountryRow(
                code,
                country_name(code),
                row.get("received"),
                row.get("complied"),
                row.get("partial"),
                row.get("refused"),
                row.get("withdrawn"),
                row.get("fulfilled"),
            )
            for code, row in by_country.items()
            if isinstance(row, Mapping)
        ),
        key=lambda row: (_order(row.received), row.code),
    )
    outcomes = [
        ("Complied", lawful.get("complied")),
        ("Partially complied", lawful.get("partial")),
        ("Refused", lawful.get("refused")),
        ("Withdrawn", lawful.get("withdrawn")),
        ("Pending", lawful.get("pending")),
    ]
    grounds = [
        (_words(ground), figure)
        for ground, figure in sorted((lawful.get("refused_by_ground") or {}).items())
        if figure != 0
    ]
    moderation = metrics.get("moderation")
    figures = ReportFigures(
        received=lawful.get("received"),
        fulfilled=lawful.get("fulfilled"),
        accounts_specified=lawful.get("accounts_specified"),
        accounts_affected=lawful.get("accounts_affected"),
        emergency=_get(lawful, "emergency", "received"),
        outcomes=outcomes,
        refused_by_ground=grounds,
        countries=countries,
        moderation=isinstance(moderation, Mapping),
        receipt_leaves=_get(document, "log", "receipt_leaves"),
        log_head=_get(document, "log", "head"),
        protection=document.get("protection") or {},
        complete=metrics.get("complete"),
    )
    if not isinstance(moderation, Mapping):
        return figures
    illegal = _get(moderation, "own_initiative", "illegal", "by_category") or {}
    terms = _get(moderation, "own_initiative", "terms_and_conditions", "by_category") or {}
    notices = _get(moderation, "notices", "by_category") or {}
    codes = sorted(set(illegal) | set(terms) | set(notices))
    figures.categories.extend(
        CategoryRow(
            code,
            category_label(code),
            _get(illegal, code, "measures"),
            _get(terms, code, "measures"),
            _get(notices, code, "actions_legal_grounds"),
            _get(notices, code, "actions_terms_and_conditions"),
        )
        for code in codes
    )
    figures.moderation_totals.extend(
        [
            ("Notices received", _get(moderation, "notices", "total", "notices")),
            ("of which from trusted flaggers", _get(moderation, "notices", "total", "trusted_flaggers")),
            (
                "Own-initiative measures against illegal content",
                _get(moderation, "own_initiative", "illegal", "total", "measures"),
            ),
            (
                "Own-initiative measures under the terms and conditions",
                _get(moderation, "own_initiative", "terms_and_conditions", "total", "measures"),
            ),
            ("Solely automated actions", _get(moderation, "automated_means", "solely_automated")),
            ("Appeals (complaints) received", _get(moderation, "appeals", "total", "complaints")),
            ("Appeals upheld (decision kept)", _get(moderation, "appeals", "total", "upheld")),
            ("Appeals granted (decision reversed)", _get(moderation, "appeals", "total", "reversed")),
        ]
    )
    return figures


def document_of(report: Report) -> dict[str, Any]:
    document = json.loads(report.document)
    assert isinstance(document, dict)
    return document


# --- a log receipt ---------------------------------------------------------------------------------------


@dataclass
class ReceiptCheck:
    """The answer to "is my request in the log?": ``included`` only when every check passed."""

    included: bool
    tracking_number: str | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    checked: list[str] = field(default_factory=list)
    """What was verified, in sentences."""
    problems: list[str] = field(default_factory=list)


def _receipt_json(text: str) -> dict[str, Any]:
    if len(text.encode()) > MAX_RECEIPT:
        raise InvalidInput(
            f"a log receipt is a small JSON file; this is over {MAX_RECEIPT} bytes", field="receipt"
        )
    if not text.strip():
        raise InvalidInput("paste the JSON of your log receipt", field="receipt")
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput(
            "this is not JSON: paste the whole answer of GET /api/v1/requests/{tracking_number}/log-receipt",
            field="receipt",
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput("a log receipt is a JSON object", field="receipt")
    return data


def check_receipt(session: Session, text: str, public_key: bytes) -> ReceiptCheck:
    """Check a pasted log receipt: the receipt file itself (`checks.check_receipt`: its salted commitment
    in its leaf, the leaf in the signed checkpoint it carries), then the leaf against the latest signed
    head (a fresh inclusion proof from the log, verified with `checks.check_inclusion` against the
    head's checkpoint, itself verified with the platform's key). `InvalidInput` for what is no receipt."""
    data = _receipt_json(text)
    leaf, receipt, salt = data.get("leaf"), data.get("receipt"), data.get("salt")
    if not (isinstance(leaf, str) and isinstance(receipt, str) and isinstance(salt, str)):
        if data.get("status") == "pending":
            raise InvalidInput(
                "this receipt is still pending: the log had not reached your request when you fetched it. "
                "Fetch the log receipt again in a minute and paste the new one.",
                field="receipt",
            )
        raise InvalidInput("a log receipt carries a receipt, a salt and a leaf", field="receipt")
    tracking = data.get("tracking_number")
    result = ReceiptCheck(False, tracking_number=tracking if isinstance(tracking, str) else None)
    offline = checks.check_receipt(data, public_key)
    if "checkpoint" not in data:  # a receipt fetched before it was sequenced: the log itself says more
        offline = [p for p in offline if "no checkpoint" not in p]
    if offline:
        result.problems.extend(offline)
        return result
    result.checked.append("the leaf commits to this receipt and its salt")
    if isinstance(data.get("checkpoint"), str):
        result.checked.append(
            f"the receipt's inclusion proof leads to the signed head of {data.get('tree_size')} leaves "
            "it carries"
        )
    later = " yet: the log adds new requests within minutes, check again later"
    head: TlogHead | None = tlog.latest_head(session)
    if head is None:
        result.problems.append("the log has no signed head" + later)
        return result
    try:
        proof = tlog.inclusion(session, hash_of(leaf))
    except (NotFound, InvalidInput):
        result.problems.append(
            f"the leaf is not in the log's latest signed head ({head.tree_size} leaves)" + later
        )
        return result
    try:
        checkpoint = verify_checkpoint(head.checkpoint, public_key)
    except CheckpointError as exc:  # pragma: no cover - the platform signs its own heads
        result.problems.append(f"the latest signed head does not verify: {exc}")
        return result
    problems = checks.check_inclusion(proof, checkpoint)
    if problems:
        result.problems.extend(problems)
        return result
    result.checked.append(
        f"the log proves the leaf (index {proof['leaf_index']}) is in its latest signed head "
        f"of {checkpoint.size} leaves, whose signature verifies with the platform's key"
    )
    result.included = True
    result.leaf_index = int(proof["leaf_index"])
    result.tree_size = checkpoint.size
    return result
