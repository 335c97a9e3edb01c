"""The portal's responsiveness dossier: an officer's agency sees, for a period, every request it sent and
how it was answered, and downloads the signed dossier (``trustdesk.dossier``) to check it on its own.

The page builds the dossier as of the moment it is shown, against the latest signed head of the log; its
download links carry that moment (``at``) and the head's size (``size``), so the three files downloaded
one after the other are one document, its signatures and its rendering. Nothing is stored or changed.
"""

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor, ActorKind
from trustdesk.db import unit_of_work
from trustdesk.dossier import bundle, service
from trustdesk.dossier.document import Period, parse_stamp
from trustdesk.errors import DomainError, InvalidInput
from trustdesk.web.browser import PortalVisitor
from trustdesk.web.browser import page as render
from trustdesk.web.deps import ContainerDep
from trustdesk.web.portal.common import fail_page, officer_of, portal_context, utc

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 365
"""The default period: the last 12 months (today and the 365 days before it)."""
MAX_DAYS = 5 * 366
STALE_AFTER = timedelta(hours=1)
"""A download link older than this is refused: the page is opened again, not a dossier built in the past."""
Day = Annotated[str | None, Query(max_length=10)]
Text = Annotated[str | None, Query(max_length=40)]


def _period(container: Container, since: str | None, until: str | None) -> Period:
    today = container.clock().date()
    try:
        last = date.fromisoformat(until) if until else today
        first = date.fromisoformat(since) if since else last - timedelta(days=DEFAULT_DAYS)
        period = Period(first, last)
    except ValueError as exc:
        raise InvalidInput(f"the period: {exc} (days are YYYY-MM-DD)", field="since") from None
    if (period.until - period.since).days > MAX_DAYS:
        raise InvalidInput("a dossier covers at most five years", field="since")
    return period


def _pin(container: Container, at: str | None, size: str | None) -> tuple[datetime | None, int | None]:
    moment = None
    if at:
        try:
            moment = parse_stamp(at)
        except ValueError:
            raise InvalidInput(
                "this download link is malformed: open the dossier page again", field="at"
            ) from None
        now = container.clock()
        if moment > now or now - moment > STALE_AFTER:
            raise InvalidInput("this download link has expired: open the dossier page again", field="at")
    if size is not None and not (size.isdigit() and len(size) <= 19):
        raise InvalidInput("this download link is malformed: open the dossier page again", field="size")
    return moment, int(size) if size is not None else None


def _build(
    container: Container,
    visitor: PortalVisitor,
    since: str | None,
    until: str | None,
    at: str | None = None,
    size: str | None = None,
) -> tuple[service.Built, Period]:
    period = _period(container, since, until)
    moment, tree_size = _pin(container, at, size)
    with unit_of_work(container.sessions) as session:
        officer = officer_of(session, visitor)
        scope = service.scope_of_agency(session, officer.agency_id)
        built = service.build(
            session, container.clock, container.signer, scope, period,
            provider=container.settings.platform_name, at=moment, tree_size=tree_size,
        )  # fmt: skip
        service.record_issue(session, container.clock, Actor(ActorKind.OFFICER, officer.id), built)
    return built, period


def _when(text: str | None) -> str:
    return utc(parse_stamp(text)) if text else ""


@router.get("/portal/dossier")
def dossier_page(
    request: Request, container: ContainerDep, visitor: PortalVisitor, since: Day = None, until: Day = None
) -> HTMLResponse:
    try:
        built, period = _build(container, visitor, since, until)
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    document = built.document
    log = document["log"] or {}
    pin = f"since={period.since}&until={period.until}&at={document['built_at']}"
    if log:
        pin += f"&size={log['tree_size']}"
    return render(
        request,
        "portal/dossier.html",
        portal_context(visitor, "dossier", d=document, period=period, pin=pin, when=_when),
    )


def _attachment(content: bytes, name: str, media_type: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/portal/dossier/dossier.json")
def download_document(
    request: Request, container: ContainerDep, visitor: PortalVisitor,
    since: Day = None, until: Day = None, at: Text = None, size: Text = None,
) -> Response:  # fmt: skip
    try:
        built, _ = _build(container, visitor, since, until, at, size)
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    return _attachment(built.data, bundle.DOCUMENT, "application/json")


@router.get("/portal/dossier/signature.json")
def download_signature(
    request: Request, container: ContainerDep, visitor: PortalVisitor,
    since: Day = None, until: Day = None, at: Text = None, size: Text = None,
) -> Response:  # fmt: skip
    try:
        built, _ = _build(container, visitor, since, until, at, size)
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    _, html_signature = bundle.rendered(built, container.signer)
    return _attachment(
        bundle.signature_sidecar(built, html_signature), bundle.SIGNATURE_JSON, "application/json"
    )


@router.get("/portal/dossier/dossier.html")
def download_html(
    request: Request, container: ContainerDep, visitor: PortalVisitor,
    since: Day = None, until: Day = None, at: Text = None, size: Text = None,
) -> Response:  # fmt: skip
    try:
        built, _ = _build(container, visitor, since, until, at, size)
    except DomainError as exc:
        return fail_page(request, visitor, exc)
    html, _ = bundle.rendered(built, container.signer)
    return _attachment(html, bundle.HTML, "text/html; charset=utf-8")
