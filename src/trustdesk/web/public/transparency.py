"""The public transparency page (``/transparency``), the downloads of published reports, the check of a log
receipt, and the JSON API of the reports (``/api/v1/transparency/reports``). No login.

Only published reports are shown or served: a draft is 404 to the public. Every figure is read from the
report's signed document (``transparency.published``), so the page, the API and the files say the same;
the charts are SVG rendered on the server by matplotlib (``transparency.charts``), embedded inline with a
table of the same figures, and cached per report (published reports never change).

The receipt form changes nothing (it only verifies), so it needs no CSRF token; a receipt is posted, not
put in a URL, because it carries the authority's salt.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput, NotFound
from trustdesk.signing.protocol import SignerError
from trustdesk.transparency import charts, published
from trustdesk.transparency.charts import Bar, Series
from trustdesk.transparency.metrics import GLOBAL, parse_scope
from trustdesk.transparency.models import Report
from trustdesk.transparency.periods import Period, PeriodKind, parse_period
from trustdesk.transparency.tlog import service as tlog
from trustdesk.web.browser import page
from trustdesk.web.deps import ContainerDep
from trustdesk.web.openapi import problems
from trustdesk.web.public.routes import FACE, SignerUnavailable, country_name, long_date

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/transparency", tags=["transparency reports"])
router = APIRouter()

CACHE: Final = charts.ChartCache(64)
"""The rendered charts of published reports (and of the trends they span), by report id."""
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
KIND_WORDS: Final = {
    PeriodKind.QUARTER: "quarter",
    PeriodKind.HALF_YEAR: "half-year",
    PeriodKind.YEAR: "year",
}


def _period(report: Report) -> Period:
    return parse_period(report.period)


def _recency(report: Report) -> tuple[datetime, datetime, datetime]:
    """The latest period first: the one ending last, and of those the shortest (2026-Q4 before 2026-H2)."""
    assert report.published_at is not None
    period = _period(report)
    return period.end, period.start, report.published_at


def _listing(report: Report) -> tuple[float, float, bool, str]:
    """Newest period first (a quarter before the half-year and year ending with it), global first."""
    period = _period(report)
    return (-period.end.timestamp(), -period.start.timestamp(), report.scope != GLOBAL, report.scope)


def _scope_name(scope: str, container: Container) -> str:
    return (
        "All countries (global)" if scope == GLOBAL else f"{country_name(scope, container.policy)} ({scope})"
    )


def _links(report: Report, names: list[str]) -> dict[str, Any]:
    return {
        "api": f"/api/v1/transparency/reports/{report.id}",
        "page": f"/transparency?period={report.period}&scope={report.scope}",
        "files": {name: f"/transparency/reports/{report.id}/{name}" for name in names},
    }


# --- choosing the report --------------------------------------------------------------------------------


def _choose(latest: dict[tuple[str, str], Report], period: str | None, scope: str | None) -> Report | None:
    """The report the page shows: the one asked for, else the latest period's, global by default."""
    candidates = [
        r for (p, s), r in latest.items() if (period is None or p == period) and (scope is None or s == scope)
    ]
    if not candidates:
        return None
    if scope is None and any(r.scope == GLOBAL for r in candidates):
        candidates = [r for r in candidates if r.scope == GLOBAL]
    return max(candidates, key=_recency)


def _trend(latest: dict[tuple[str, str], Report], report: Report) -> list[Report]:
    """The published reports of the same scope and kind of period, oldest first."""
    kind = _period(report).kind
    same = [r for (_, s), r in latest.items() if s == report.scope and _period(r).kind is kind]
    return sorted(same, key=lambda r: _period(r).start)


# --- charts ---------------------------------------------------------------------------------------------


def _report_charts(figures: published.ReportFigures, report: Report) -> dict[str, str]:
    where = f"{report.period}, {report.scope}"
    out = {
        "countries": charts.bar_chart(
            "chart-countries",
            f"Lawful requests received per country, {where}",
            "Horizontal bars, one per country of the requesting authority; the table below gives the "
            "figures.",
            [
                Bar(f"{row.name} ({row.code})" if row.name != row.code else row.code, row.received)
                for row in figures.countries
            ],
            x_label="Requests received",
        ),
        "outcomes": charts.bar_chart(
            "chart-outcomes",
            f"Outcomes of the lawful requests received, {where}",
            "Horizontal bars, one per outcome; the table beside gives the figures.",
            [Bar(label, figure) for label, figure in figures.outcomes],
            x_label="Requests",
        ),
    }
    if figures.moderation and figures.categories:
        out["moderation"] = charts.grouped_bar_chart(
            "chart-moderation",
            f"Moderation actions by category, {where}",
            "Grouped horizontal bars per category: own-initiative measures (illegal content, terms and "
            "conditions) and actions taken on notices; the table below gives the figures.",
            [row.label for row in figures.categories],
            [
                Series("Own initiative: illegal content", [row.own_illegal for row in figures.categories]),
                Series("Own initiative: terms and conditions", [row.own_terms for row in figures.categories]),
                Series("On notices: legal grounds", [row.notice_legal for row in figures.categories]),
                Series("On notices: terms and conditions", [row.notice_terms for row in figures.categories]),
            ],
            value_label="Actions",
            horizontal=True,
        )
    return out


@dataclass(frozen=True)
class TrendRow:
    period: str
    received: Any
    complied: Any
    partial: Any
    refused: Any


def _trend_rows(trend: list[Report]) -> list[TrendRow]:
    rows = []
    for report in trend:
        lawful = (published.document_of(report).get("metrics") or {}).get("lawful") or {}
        rows.append(
            TrendRow(report.period, lawful.get("received"), lawful.get("complied"), lawful.get("partial"),
                     lawful.get("refused"))
        )  # fmt: skip
    return rows


def _trend_chart(rows: list[TrendRow], kind: str, scope: str) -> dict[str, str]:
    return {
        "trend": charts.grouped_bar_chart(
            "chart-trend",
            f"Lawful requests per {kind}, {scope}",
            f"Vertical bars per {kind}: received, complied, partially complied and refused; the table below "
            "gives the figures.",
            [row.period for row in rows],
            [
                Series("Received", [row.received for row in rows]),
                Series("Complied", [row.complied for row in rows]),
                Series("Partially complied", [row.partial for row in rows]),
                Series("Refused", [row.refused for row in rows]),
            ],
            value_label="Requests",
        )
    }


# --- the page -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileLink:
    name: str
    url: str
    what: str


def _what(name: str) -> str:
    from trustdesk.transparency import reports

    return {
        reports.DOCUMENT: "the signed canonical JSON document",
        reports.SIGNATURE: "its raw Ed25519 signature",
        reports.SIGNATURE_JSON: "the signature in hex, with the key id",
    }.get(name, "CSV")


def _page_context(
    session: Session, container: Container, period: str | None, scope: str | None
) -> tuple[dict[str, Any], int]:
    every = published.published(session)
    latest = published.latest_versions(every)
    head = tlog.latest_head(session)
    context: dict[str, Any] = {
        "face": FACE,
        "available": sorted(latest.values(), key=_listing),
        "periods": sorted(
            {r.period for r in latest.values()}, key=lambda p: parse_period(p).start, reverse=True
        ),
        "scopes": sorted({r.scope for r in latest.values()}, key=lambda s: (s != GLOBAL, s)),
        "scope_name": lambda s: _scope_name(s, container),
        "selected_period": period,
        "selected_scope": scope,
        "head": head,
        "report": None,
        "long_date": long_date,
    }
    report = _choose(latest, period, scope)
    if report is None:
        if every and (period or scope):
            context["missing"] = (
                f"No report is published for {period or 'any period'} ({scope or 'any scope'})."
            )
            return context, 404
        return context, 200
    document = published.document_of(report)
    figures = published.figures_of(document, lambda code: country_name(code, container.policy))
    rendered = CACHE.get(("report", report.id), lambda: _report_charts(figures, report))
    trend = _trend(latest, report)
    trend_rows = _trend_rows(trend)
    kind = KIND_WORDS[_period(report).kind]
    rendered = rendered | CACHE.get(
        ("trend", *(r.id for r in trend)), lambda: _trend_chart(trend_rows, kind, report.scope)
    )
    names = published.file_names(session, report)
    context |= {
        "report": report,
        "document": document,
        "figures": figures,
        # matplotlib's SVG (it escapes the text it draws), of labels and figures this module chose
        "charts": {name: Markup(svg) for name, svg in rendered.items()},  # noqa: S704
        "trend": trend_rows,
        "trend_kind": kind,
        "files": [FileLink(n, f"/transparency/reports/{report.id}/{n}", _what(n)) for n in names],
        "versions": [r for r in every if (r.period, r.scope) == (report.period, report.scope)][::-1],
        "selected_period": report.period,
        "selected_scope": report.scope,
    }
    return context, 200


def _render(
    request: Request,
    container: Container,
    period: str | None,
    scope: str | None,
    extra: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    with container.sessions() as session:
        context, found = _page_context(session, container, period, scope)
    return page(request, "public/transparency.html", context | extra, status_code=max(status, found))


def _selection(period: str | None, scope: str | None) -> tuple[str | None, str | None]:
    chosen_period = published.parse_period_or_422(period).label if period else None
    chosen_scope = parse_scope(scope).code if scope else None
    return chosen_period, chosen_scope


@page_router.get("/transparency")
def transparency(
    request: Request,
    container: ContainerDep,
    period: Annotated[str | None, Query(max_length=16)] = None,
    scope: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    chosen_period, chosen_scope = _selection(period, scope)
    return _render(request, container, chosen_period, chosen_scope, {})


def _public_key(container: Container) -> bytes:
    try:
        return container.signer.public_key_bytes()
    except SignerError as exc:
        raise SignerUnavailable(
            "the platform's signing key is unavailable right now; try again later"
        ) from exc


def _check(container: Container, text: str) -> published.ReceiptCheck:
    key = _public_key(container)
    with unit_of_work(container.sessions) as session:
        return published.check_receipt(session, text, key)


@page_router.post("/transparency/receipt")
async def check_receipt(request: Request, container: ContainerDep) -> HTMLResponse:
    async with request.form(max_files=0, max_fields=5) as form:  # the body is at most 1 MiB (middleware)
        raw = form.get("receipt")
        period, scope = form.get("period"), form.get("scope")
    text = raw if isinstance(raw, str) else ""
    selected = (
        period if isinstance(period, str) and period else None,
        scope if isinstance(scope, str) and scope else None,
    )
    try:
        chosen = _selection(*selected)
    except DomainError:
        chosen = (None, None)
    try:
        result = await run_in_threadpool(_check, container, text)
    except InvalidInput as exc:
        extra: dict[str, Any] = {"receipt_text": text[: published.MAX_RECEIPT], "receipt_error": exc.message}
        return await run_in_threadpool(_render, request, container, *chosen, extra, 422)
    extra = {"receipt_text": text[: published.MAX_RECEIPT], "receipt_result": result}
    return await run_in_threadpool(
        _render, request, container, *chosen, extra, 200 if result.included else 422
    )


@page_router.get("/transparency/reports/{report_id}/{name}")
def download(report_id: str, name: str, container: ContainerDep) -> Response:
    if not _SAFE_NAME.fullmatch(name):
        raise NotFound(f"no file {name!r}", code="report_file_not_found")
    with container.sessions() as session:
        report = published.published_report(session, report_id)
        content, media_type = published.file_of(session, report, name)
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- the JSON API ---------------------------------------------------------------------------------------


class ReportLinks(BaseModel):
    api: str = Field(description="This report in the JSON API")
    page: str = Field(description="The report on the public transparency page")
    files: dict[str, str] = Field(description="Each file of the report (report.json, report.sig, the CSVs)")


class ReportSummary(BaseModel):
    id: str
    period: str = Field(description="2026-Q3, 2026-H1 or 2026")
    scope: str = Field(description="global, or an ISO 3166-1 alpha-2 country code")
    version: int
    built_at: datetime
    published_at: datetime
    sha256: str = Field(description="SHA-256 (hex) of the signed document, report.json")
    key_id: str = Field(description="The signing key's id (see /contact/signing-key.pem)")
    links: ReportLinks


class ReportOut(ReportSummary):
    document: str = Field(
        description="The canonical JSON document exactly as signed (report.json): verify the signature "
        "over these UTF-8 bytes, then parse it"
    )
    signature: str = Field(description="The Ed25519 signature of the document, hex")
    signature_algorithm: str = "Ed25519"


def _summary(session: Session, report: Report) -> dict[str, Any]:
    return {
        "id": report.id, "period": report.period, "scope": report.scope, "version": report.version,
        "built_at": report.built_at, "published_at": report.published_at, "sha256": report.sha256,
        "key_id": report.key_id, "links": _links(report, published.file_names(session, report)),
    }  # fmt: skip


@api_router.get(
    "/reports",
    response_model=list[ReportSummary],
    summary="Every published transparency report (each version), by period, scope and version",
    responses=problems(422),
)
def list_reports(
    container: ContainerDep,
    period: Annotated[
        str | None, Query(max_length=16, description="Only this period: 2026-Q3, 2026-H1, 2026")
    ] = None,
    scope: Annotated[
        str | None, Query(max_length=16, description="Only this scope: global or a country code")
    ] = None,
) -> list[ReportSummary]:
    chosen_period, chosen_scope = _selection(period, scope)
    with container.sessions() as session:
        found = published.published(session, period=chosen_period, scope=chosen_scope)
        return [ReportSummary.model_validate(_summary(session, r)) for r in found]


@api_router.get(
    "/reports/{report_id}",
    response_model=ReportOut,
    summary="A published transparency report: its signed document, signature and key id",
    responses=problems(404, 422),
)
def get_report(container: ContainerDep, report_id: Annotated[str, Path(max_length=64)]) -> ReportOut:
    with container.sessions() as session:
        report = published.published_report(session, report_id)
        return ReportOut.model_validate(
            _summary(session, report) | {"document": report.document, "signature": report.signature}
        )


router.include_router(page_router)
router.include_router(api_router)
