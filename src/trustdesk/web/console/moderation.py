"""The console's moderation pages (issue 10): the review queue, one case with its wellness controls, the
claim and the decision (four eyes on terminations), and the strike policy in force. Appeals and trusted
flaggers are in ``moderation_admin``.

The pages call the due-process services (``trustdesk.safety.cases``); nothing is decided here. A case page
records the reviewer's exposure to its content; the queue stops offering the most harmful cases once the
reviewer's daily exposure reaches ``settings.exposure_cap``. After a decision or an approval commits, the
connector steps are run in a unit of work of their own (``enforcement.run_due``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.config import public_url
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput, NotFound
from trustdesk.platform.protocol import PlatformError
from trustdesk.safety import cases, enforcement, offenders
from trustdesk.safety.models import Case, ModerationDecision, Notice, StatementRecord
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.strikes import default_policy, evaluate
from trustdesk.safety.vocabulary import CaseStatus, ContentKind, DsaCategory, DsaKeyword
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, Visitor, page
from trustdesk.web.console.common import (
    MAX_TEXT,
    Csrf,
    Text,
    error_page,
    frame,
    label,
    refused,
    span,
    too_long,
)
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)
MODERATE = Permission.STAFF_CASE_MODERATE
MAX_EXPLANATION = 5000
SOURCES = {
    "authority_order": "authority order",
    "trusted_flagger": "trusted flagger",
    "automated": "automated",
    "user": "user notice",
}
DONE = {
    "claimed": "Claimed: the case is yours for 30 minutes (claiming again renews it).",
    "released": "Released: the case is back in the queue.",
    "decided": "Decision recorded; the platform steps were run.",
    "proposed": "Termination proposed: a different moderator approves it before anything is done.",
    "approved": "Approved: the termination took effect.",
    "rejected": "Sent back to the queue, with your note.",
}


def moderation_frame(visitor: Visitor, section: str, **context: Any) -> dict[str, Any]:
    return frame(
        visitor,
        section,
        may_moderate=visitor.principal.can(MODERATE),
        may_manage_flaggers=visitor.principal.can(Permission.STAFF_FLAGGER_MANAGE),
        source_label=lambda value: SOURCES.get(value, label(value)),
        **context,
    )


def run_steps(container: Container) -> None:
    """The connector steps due after a committed decision, in their own unit of work; a platform failure
    leaves them queued for the worker's retries (the decision stands)."""
    try:
        with unit_of_work(container.sessions) as session:
            enforcement.run_due(session, container.clock, container.connector)
    except (PlatformError, OSError):  # pragma: no cover - attempt() records failures itself
        return


def current_user(session: Session, visitor: Visitor) -> StaffUser:
    return session.get_one(StaffUser, visitor.principal.id)


# --- the queue ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    case: Case
    age_seconds: float
    left_seconds: float | None
    claimed_by: str | None
    harmful: bool


def queue_context(session: Session, container: Container, visitor: Visitor) -> dict[str, Any]:
    now = container.clock()
    names = {user.id: user.name for user in staff.list_users(session)}
    seen = cases.exposure_today(session, visitor.principal.id, now)
    cap = container.settings.exposure_cap
    capped = seen >= cap
    rows = []
    offered = cases.queue(session, harmful=not capped)
    hidden = len(cases.queue(session)) - len(offered) if capped else 0
    for case in offered:
        harmful = cases.is_harmful(case)
        live = case.claimed_by is not None and (case.claim_expires_at is None or case.claim_expires_at > now)
        rows.append(
            QueueRow(
                case=case,
                age_seconds=(now - case.opened_at).total_seconds(),
                left_seconds=(case.target_at - now).total_seconds() if case.target_at else None,
                claimed_by=names.get(case.claimed_by or "", "another reviewer") if live else None,
                harmful=harmful,
            )
        )
    return {"rows": rows, "exposure": seen, "cap": cap, "capped": capped, "hidden": hidden}


@router.get("/moderation")
def moderation_queue(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, MODERATE, post=False)) is not None:
        return stop
    with unit_of_work(container.sessions) as session:
        context = queue_context(session, container, visitor)
        return page(
            request,
            "console/moderation_queue.html",
            moderation_frame(visitor, "moderation", flash=DONE.get(done or ""), **context),
        )


# --- one case -------------------------------------------------------------------------------------------


def account_history(session: Session, case: Case) -> list[dict[str, Any]]:
    """The earlier cases on the same account, newest first, with their latest decision."""
    earlier = session.scalars(
        select(Case)
        .where(Case.account_id == case.account_id, Case.id != case.id)
        .order_by(Case.opened_at.desc())
        .limit(50)
    ).all()
    out = []
    for other in earlier:
        decision = session.scalar(
            select(ModerationDecision)
            .where(ModerationDecision.case_id == other.id)
            .order_by(ModerationDecision.decided_at.desc())
            .limit(1)
        )
        out.append({"case": other, "decision": decision})
    return out


def media_url(case: Case, media: dict[str, Any]) -> str | None:
    """Where the page loads the media from: its own address, else through the console from the platform."""
    if isinstance(media.get("url"), str):
        return str(media["url"])
    return f"/console/cases/{case.id}/media" if media.get("sha256") else None


def case_context(
    session: Session, container: Container, visitor: Visitor, case_id: str, *, record: bool
) -> dict[str, Any]:
    case = cases.get_case(session, case_id)
    user = current_user(session, visitor)
    now = container.clock()
    withheld = cases.withheld(session, user, case, container.settings.exposure_cap, now)
    if record and not withheld:
        cases.record_exposure(session, container.clock, user, case)
    names = {u.id: u.name for u in staff.list_users(session)}
    found_notices = session.scalars(
        select(Notice).where(Notice.case_id == case.id).order_by(Notice.received_at)
    ).all()
    decisions = session.scalars(
        select(ModerationDecision)
        .where(ModerationDecision.case_id == case.id)
        .order_by(ModerationDecision.decided_at)
    ).all()
    live_claim = case.claimed_by is not None and (
        case.claim_expires_at is None or case.claim_expires_at > now
    )
    pending = None
    if case.status is CaseStatus.AWAITING_APPROVAL:
        pending = next((d for d in reversed(decisions) if d.approved_at is None), None)
    approve_blocker = None
    if pending is not None and pending.decided_by == user.id:
        approve_blocker = (
            "You proposed this termination. Four eyes: a different moderator approves or rejects it."
        )
    kept = session.scalars(
        select(StatementRecord)
        .where(StatementRecord.decision_id.in_([d.id for d in decisions]))
        .order_by(StatementRecord.created_at)
    ).all()
    verdict = evaluate(offenders.history(session, case.account_id), default_policy(), now=now)
    media = case.media or {}
    return {
        "case": case,
        "notices": found_notices,
        "decisions": decisions,
        "statements": kept,
        "history": account_history(session, case),
        "verdict": verdict,
        "names": names,
        "mine": live_claim and case.claimed_by == user.id,
        "claimed_by_other": live_claim and case.claimed_by != user.id,
        "claimer": names.get(case.claimed_by or "", "another reviewer") if live_claim else None,
        "claim_until": case.claim_expires_at if live_claim else None,
        "undecided": case.status in (CaseStatus.OPEN, CaseStatus.AWAITING_APPROVAL),
        "pending": pending,
        "approve_blocker": approve_blocker,
        "harmful": cases.is_harmful(case),
        "withheld": withheld,
        "cap": container.settings.exposure_cap,
        "visual": case.content_kind in (ContentKind.IMAGE, ContentKind.VIDEO),
        "is_video": case.content_kind is ContentKind.VIDEO,
        "media_url": media_url(case, media),
        "media": media,
        "age_seconds": (now - case.opened_at).total_seconds(),
        "left_seconds": (case.target_at - now).total_seconds() if case.target_at else None,
        "restrictions": [r.value for r in Restriction],
        "grounds": [g.value for g in DecisionGround],
        "categories": [c.value for c in DsaCategory],
        "keywords": [k.value for k in DsaKeyword],
        "span": span,
    }


def case_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    case_id: str,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    action: str | None = None,
    form: dict[str, Any] | None = None,
    reveal: bool = False,
    record: bool = False,
    preview: dict[str, Any] | None = None,
) -> HTMLResponse:
    try:
        with unit_of_work(container.sessions) as session:
            context = case_context(session, container, visitor, case_id, record=record)
            context.update(
                flash=flash, error=error, action=action, form=form or {}, reveal=reveal, preview=preview
            )
            return page(
                request,
                "console/case.html",
                moderation_frame(visitor, "moderation", **context),
                status_code=error.status if error else 200,
            )
    except NotFound as exc:
        return error_page(request, visitor, exc)


@router.get("/cases/{case_id}")
def show_case(
    request: Request,
    case_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    done: str | None = None,
    reveal: str | None = None,
) -> HTMLResponse:
    if (stop := refused(request, visitor, MODERATE, post=False)) is not None:
        return stop
    return case_page(
        request, container, visitor, case_id, flash=DONE.get(done or ""), reveal=reveal == "1", record=True
    )


_MEDIA_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"), (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"), (b"\x1aE\xdf\xa3", "video/webm"),
)  # fmt: skip


def media_type(data: bytes) -> str:
    """The type to serve media bytes as, from their magic number (MP4 and the rest: by ``ftyp``)."""
    for magic, kind in _MEDIA_TYPES:
        if data.startswith(magic):
            return kind
    return "video/mp4" if data[4:8] == b"ftyp" else "application/octet-stream"


@router.get("/cases/{case_id}/media")
def case_media(case_id: str, container: ContainerDep, visitor: ConsoleVisitor, request: Request) -> Response:
    """The notified media, fetched from the platform for the reviewer (blurred by the page); never cached,
    withheld past the reviewer's daily exposure cap, and counted as exposure."""
    if (stop := refused(request, visitor, MODERATE, post=False)) is not None:
        return stop
    with unit_of_work(container.sessions) as session:
        try:
            case = cases.get_case(session, case_id)
        except NotFound as exc:
            return error_page(request, visitor, exc)
        user = current_user(session, visitor)
        if cases.withheld(session, user, case, container.settings.exposure_cap, container.clock()):
            return Response("withheld: daily exposure cap", status_code=403, media_type="text/plain")
        try:
            content = container.connector.fetch_content(case.locator)
        except (PlatformError, ValueError, OSError):
            content = None
        if content is None or content.media_data is None:
            return Response("the platform holds no media for this case", status_code=404)
        cases.record_exposure(session, container.clock, user, case)
    data = content.media_data
    return Response(
        data,
        media_type=media_type(data),
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


CaseAction = Callable[[Session, StaffUser], str]
"""One action on a case; returns the ``done`` word of the page shown after it."""


def act(
    request: Request,
    container: Container,
    visitor: Visitor,
    case_id: str,
    name: str,
    action: CaseAction,
    *,
    enforce: bool = False,
    form: dict[str, Any] | None = None,
) -> Response:
    """One action in one unit of work; refused: the page again with the reason, nothing changed. Then,
    after the commit, the connector steps it queued."""
    try:
        with unit_of_work(container.sessions) as session:
            done = action(session, current_user(session, visitor))
    except DomainError as exc:
        return case_page(request, container, visitor, case_id, error=exc, action=name, form=form)
    if enforce:
        run_steps(container)
    return RedirectResponse(f"/console/cases/{case_id}?done={done}", status_code=303)


def decision_rules(container: Container) -> cases.DecisionRules:
    return cases.DecisionRules(public_url=public_url(container.settings))


@router.post("/cases/{case_id}/claim")
def claim_case(
    request: Request, case_id: str, container: ContainerDep, visitor: ConsoleVisitor, csrf_token: Csrf = None
) -> Response:
    if (stop := refused(request, visitor, MODERATE, csrf_token, post=True)) is not None:
        return stop

    def action(session: Session, user: StaffUser) -> str:
        cases.claim(session, container.clock, user, case_id)
        return "claimed"

    return act(request, container, visitor, case_id, "claim", action)


@router.post("/cases/{case_id}/release")
def release_case(
    request: Request, case_id: str, container: ContainerDep, visitor: ConsoleVisitor, csrf_token: Csrf = None
) -> Response:
    if (stop := refused(request, visitor, MODERATE, csrf_token, post=True)) is not None:
        return stop

    def action(session: Session, user: StaffUser) -> str:
        cases.release(session, container.clock, user, case_id)
        return "released"

    return act(request, container, visitor, case_id, "release", action)


E = TypeVar("E")


def _enum(kind: Callable[[str], E], value: str, field: str) -> E | None:
    if not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is not a known {label(field)}", field=field) from None


def decision_in(form: dict[str, Any]) -> cases.DecisionIn:
    """The decision form as the service's input; a value outside its vocabulary is refused."""
    try:
        chosen = frozenset(Restriction(r) for r in form["restrictions"])
    except ValueError:
        raise InvalidInput("an unknown restriction was chosen", field="restrictions") from None
    days = form["suspend_days"].strip()
    if days and not (days.isdigit() and 0 < int(days) <= 3650):
        raise InvalidInput("the suspension is 1 to 3650 days", field="suspend_for")
    scope = tuple(c.upper() for c in form["territorial_scope"].replace(",", " ").split())
    return cases.DecisionIn(
        restrictions=chosen,
        explanation=too_long(form["explanation"], MAX_EXPLANATION, "explanation"),
        ground=_enum(DecisionGround, form["ground"], "ground"),
        legal_ground=too_long(form["legal_ground"], MAX_TEXT, "legal_ground") or None,
        tos_ground=too_long(form["tos_ground"], MAX_TEXT, "tos_ground") or None,
        category=_enum(DsaCategory, form["category"], "category"),
        keyword=_enum(DsaKeyword, form["keyword"], "keyword"),
        territorial_scope=scope or None,
        suspend_for=timedelta(days=int(days)) if days else None,
        unfounded=form["unfounded"] == "on",
        threat_to_life=form["threat_to_life"] == "on",
        threat_country=form["threat_country"].strip().upper() or None,
    )


def preview_page(
    request: Request, container: Container, visitor: Visitor, case_id: str, form: dict[str, Any]
) -> Response:
    """The case page with the statement the filled-in decision would send, or why it would be refused."""
    try:
        with container.sessions() as session:  # read only: nothing is decided
            preview = cases.preview_statement(
                session, container.clock, current_user(session, visitor), case_id, decision_in(form)
            )
    except DomainError as exc:
        return case_page(request, container, visitor, case_id, error=exc, action="decide", form=form)
    return case_page(
        request, container, visitor, case_id, form=form, preview=preview if preview is not None else {}
    )


@router.post("/cases/{case_id}/decide")
def decide_case(
    request: Request,
    case_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    restrictions: Annotated[list[str] | None, Form()] = None,
    ground: Text = "",
    legal_ground: Text = "",
    tos_ground: Text = "",
    category: Text = "",
    keyword: Text = "",
    territorial_scope: Text = "",
    suspend_days: Text = "",
    explanation: Text = "",
    unfounded: Text = "",
    threat_to_life: Text = "",
    threat_country: Text = "",
    intent: Text = "decide",
) -> Response:
    """Record the decision, or (``intent=preview``) show the statement of reasons it would send."""
    if (stop := refused(request, visitor, MODERATE, csrf_token, post=True)) is not None:
        return stop
    form: dict[str, Any] = {
        "restrictions": list(restrictions or []),
        "ground": ground,
        "legal_ground": legal_ground,
        "tos_ground": tos_ground,
        "category": category,
        "keyword": keyword,
        "territorial_scope": territorial_scope,
        "suspend_days": suspend_days,
        "explanation": explanation,
        "unfounded": unfounded,
        "threat_to_life": threat_to_life,
        "threat_country": threat_country,
    }

    if intent == "preview":
        return preview_page(request, container, visitor, case_id, form)

    def action(session: Session, user: StaffUser) -> str:
        body = decision_in(form)
        cases.decide(session, container.clock, user, case_id, body, rules=decision_rules(container))
        return "proposed" if Restriction.TERMINATE in body.restrictions else "decided"

    return act(request, container, visitor, case_id, "decide", action, enforce=True, form=form)


@router.post("/cases/{case_id}/approve")
def approve_case(
    request: Request, case_id: str, container: ContainerDep, visitor: ConsoleVisitor, csrf_token: Csrf = None
) -> Response:
    if (stop := refused(request, visitor, MODERATE, csrf_token, post=True)) is not None:
        return stop

    def action(session: Session, user: StaffUser) -> str:
        cases.approve(session, container.clock, user, case_id, rules=decision_rules(container))
        return "approved"

    return act(request, container, visitor, case_id, "approve", action, enforce=True)


@router.post("/cases/{case_id}/reject")
def reject_case(
    request: Request,
    case_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    note: Text = "",
) -> Response:
    if (stop := refused(request, visitor, MODERATE, csrf_token, post=True)) is not None:
        return stop

    def action(session: Session, user: StaffUser) -> str:
        cases.reject(session, container.clock, user, case_id, too_long(note, MAX_TEXT, "note"))
        return "rejected"

    return act(request, container, visitor, case_id, "reject", action, form={"note": note})


# --- the strike policy ------------------------------------------------------------------------------------


@router.get("/strikes")
def strikes(request: Request, visitor: ConsoleVisitor) -> HTMLResponse:
    if (stop := refused(request, visitor, MODERATE, post=False)) is not None:
        return stop
    return page(
        request, "console/strikes.html", moderation_frame(visitor, "strikes", policy=default_policy())
    )
