"""The console's appeal and trusted-flagger pages (issue 10): open appeals with the decision they attack,
granted or dismissed by a person other than the one who decided (DSA Art. 20(6)); trusted flaggers
(Art. 22) registered with a key shown once, and revoked."""

from collections.abc import Callable
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor, ActorKind
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, InvalidInput
from trustdesk.safety import appeals, flaggers
from trustdesk.safety.models import Case, ModerationDecision
from trustdesk.safety.vocabulary import DsaCategory
from trustdesk.staff import service as staff
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, Visitor, page
from trustdesk.web.console.common import MAX_MESSAGE, Csrf, Text, refused, too_long
from trustdesk.web.console.moderation import MODERATE, current_user, moderation_frame, run_steps
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)
MANAGE = Permission.STAFF_FLAGGER_MANAGE
DONE = {
    "granted": "Appeal granted: the decision is reversed; the platform steps were run.",
    "dismissed": "Appeal dismissed: the decision stands.",
    "revoked": "Trusted flagger revoked: its key no longer works; its notices stay.",
}

# --- appeals --------------------------------------------------------------------------------------------


def appeals_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    target: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        names = {u.id: u.name for u in staff.list_users(session)}
        rows = []
        for appeal in appeals.open_appeals(session):
            decision = session.get_one(ModerationDecision, appeal.decision_id)
            rows.append(
                {
                    "appeal": appeal,
                    "decision": decision,
                    "case": session.get_one(Case, decision.case_id),
                    "own": visitor.principal.id in {decision.decided_by, decision.approved_by},
                }
            )
        return page(
            request,
            "console/appeals.html",
            moderation_frame(
                visitor,
                "appeals",
                rows=rows,
                names=names,
                flash=flash,
                error=error,
                target=target,
                form=form or {},
            ),
            status_code=error.status if error else 200,
        )


@router.get("/appeals")
def open_appeals(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, MODERATE, post=False)) is not None:
        return stop
    return appeals_page(request, container, visitor, flash=DONE.get(done or ""))


@router.post("/appeals/{appeal_id}/decide")
def decide_appeal(
    request: Request,
    appeal_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    outcome: Text = "",
    answer: Text = "",
) -> Response:
    if (stop := refused(request, visitor, MODERATE, csrf_token, post=True)) is not None:
        return stop
    form = {"outcome": outcome, "answer": answer}
    try:
        with unit_of_work(container.sessions) as session:
            if outcome not in ("grant", "dismiss"):
                raise InvalidInput("grant or dismiss the appeal", field="outcome")
            too_long(answer, MAX_MESSAGE, "answer")
            appeals.decide_appeal(
                session, container.clock, current_user(session, visitor), appeal_id,
                grant=outcome == "grant", answer=answer,
            )  # fmt: skip
    except DomainError as exc:
        return appeals_page(request, container, visitor, error=exc, target=appeal_id, form=form)
    run_steps(container)
    done = "granted" if outcome == "grant" else "dismissed"
    return RedirectResponse(f"/console/appeals?done={done}", status_code=303)


# --- trusted flaggers -------------------------------------------------------------------------------------


def flaggers_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    target: str | None = None,
    form: dict[str, Any] | None = None,
    new_key: str | None = None,
    new_name: str | None = None,
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        listed = flaggers.list_flaggers(session)
        return page(
            request,
            "console/flaggers.html",
            moderation_frame(
                visitor,
                "flaggers",
                flaggers=listed,
                categories=[c.value for c in DsaCategory],
                flash=flash,
                error=error,
                target=target,
                form=form or {},
                new_key=new_key,
                new_name=new_name,
            ),
            status_code=error.status if error else 200,
        )


def staff_actor(visitor: Visitor) -> Actor:
    return Actor(ActorKind.STAFF, visitor.principal.id)


@router.get("/flaggers")
def list_flaggers(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, MANAGE, post=False)) is not None:
        return stop
    return flaggers_page(request, container, visitor, flash=DONE.get(done or ""))


def _change(
    request: Request,
    container: Container,
    visitor: Visitor,
    change: Callable[[Session], object],
    *,
    target: str,
    form: dict[str, Any] | None = None,
) -> object | Response:
    try:
        with unit_of_work(container.sessions) as session:
            return change(session)
    except DomainError as exc:
        return flaggers_page(request, container, visitor, error=exc, target=target, form=form)


@router.post("/flaggers")
def register_flagger(
    request: Request,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    name: Text = "",
    country: Text = "",
    contact_email: Text = "",
    expertise: Text = "",
) -> Response:
    if (stop := refused(request, visitor, MANAGE, csrf_token, post=True)) is not None:
        return stop
    form = {"name": name, "country": country, "contact_email": contact_email, "expertise": expertise}
    areas = [a for a in expertise.replace(",", " ").split() if a]

    def change(session: Session) -> tuple[str, str]:
        flagger, key = flaggers.register(
            session, container.clock, staff_actor(visitor), name=too_long(name, 200, "name"),
            country=country, contact_email=too_long(contact_email, 320, "contact_email"), expertise=areas,
        )  # fmt: skip
        return flagger.name, key

    result = _change(request, container, visitor, change, target="new", form=form)
    if isinstance(result, Response):
        return result
    registered, key = cast(tuple[str, str], result)
    # The key is shown once, on this answer, never stored or put in a URL.
    return flaggers_page(request, container, visitor, new_key=key, new_name=registered)


@router.post("/flaggers/{flagger_id}/revoke")
def revoke_flagger(
    request: Request,
    flagger_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
) -> Response:
    if (stop := refused(request, visitor, MANAGE, csrf_token, post=True)) is not None:
        return stop
    result = _change(
        request,
        container,
        visitor,
        lambda s: flaggers.revoke(s, container.clock, staff_actor(visitor), flagger_id),
        target=flagger_id,
    )
    if isinstance(result, Response):
        return result
    return RedirectResponse("/console/flaggers?done=revoked", status_code=303)
