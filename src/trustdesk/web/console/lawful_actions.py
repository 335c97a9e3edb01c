"""The console's actions on one lawful request: the decision, clarification, approval, execution, answer and
closing. Each runs in one unit of work; a refusal shows the request page again with the reason."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError
from trustdesk.lawful import execution, review, service
from trustdesk.lawful.facts import legal_representative_zone
from trustdesk.lawful.models import LawfulRequest
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, Visitor
from trustdesk.web.console.common import MAX_MESSAGE, MAX_TEXT, Csrf, Text, refused, too_long
from trustdesk.web.console.lawful import request_page
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)

Action = Callable[[Session, StaffUser, LawfulRequest], object]


def act(
    request: Request,
    container: Container,
    visitor: Visitor,
    tracking_number: str,
    name: str,
    action: Action,
    *,
    done: str,
    form: dict[str, Any] | None = None,
) -> Response:
    """Run one action in one unit of work; refused: the page again with the reason, nothing changed."""
    try:
        with unit_of_work(container.sessions) as session:
            user = session.get_one(StaffUser, visitor.principal.id)
            lawful = service.get_by_tracking_number(session, tracking_number)
            action(session, user, lawful)
            canonical = lawful.tracking_number
    except DomainError as exc:
        return request_page(request, container, visitor, tracking_number, error=exc, action=name, form=form)
    return RedirectResponse(f"/console/requests/{canonical}?done={done}", status_code=303)


@router.post("/requests/{tracking_number}/decide")
def decide(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    outcome: Text = "",
    categories: Annotated[list[str] | None, Form()] = None,
    justification: Text = "",
    documents_confirmed: Text = "",
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        too_long(justification, MAX_TEXT, "justification")
        recommendation = review.recommendation_for(
            lawful, container.catalogue, container.policy, container.connector
        )
        # A refusal allows nothing, and a request without categories (a removal) decides none.
        chosen = None if outcome == "refuse" or not lawful.data_categories else list(categories or [])
        return review.decide(
            session,
            container.clock,
            user,
            lawful,
            container.catalogue.get(lawful.instrument),
            recommendation,
            outcome=outcome,
            categories=chosen,
            justification=justification,
            documents_confirmed=documents_confirmed == "yes",
        )

    form = {
        "outcome": outcome,
        "categories": list(categories or []),
        "justification": justification,
        "documents_confirmed": documents_confirmed == "yes",
    }
    return act(request, container, visitor, tracking_number, "decide", action, done="decided", form=form)


@router.post("/requests/{tracking_number}/clarify")
def clarify(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    question: Text = "",
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        too_long(question, MAX_MESSAGE, "question")
        return review.clarify(
            session, container.clock, user, lawful, container.catalogue.get(lawful.instrument), question
        )

    return act(
        request,
        container,
        visitor,
        tracking_number,
        "clarify",
        action,
        done="clarify",
        form={"question": question},
    )


@router.post("/requests/{tracking_number}/approve")
def approve(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    note: Text = "",
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_APPROVE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        too_long(note, MAX_TEXT, "note")
        return review.approve(
            session,
            container.clock,
            user,
            lawful,
            container.catalogue.get(lawful.instrument),
            note.strip() or None,
            zone=legal_representative_zone(container.policy, lawful.agency.country),
        )

    return act(
        request, container, visitor, tracking_number, "approve", action, done="approved", form={"note": note}
    )


@router.post("/requests/{tracking_number}/reject")
def reject(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    note: Text = "",
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_APPROVE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        too_long(note, MAX_TEXT, "note")
        return review.reject(session, container.clock, user, lawful, note)

    return act(
        request, container, visitor, tracking_number, "reject", action, done="rejected", form={"note": note}
    )


@router.post("/requests/{tracking_number}/execute")
def execute(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        return execution.execute(
            session,
            container.clock,
            user,
            lawful,
            container.catalogue.get(lawful.instrument),
            container.connector,
            container.signer,
            container.execution,
        )

    return act(request, container, visitor, tracking_number, "execute", action, done="executed")


@router.post("/requests/{tracking_number}/answer")
def answer(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    message: Text = "",
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        too_long(message, MAX_MESSAGE, "message")
        execution.answer(
            session,
            container.clock,
            user,
            lawful,
            container.catalogue.get(lawful.instrument),
            container.connector,
            container.execution,
            message.strip() or None,
        )
        return None

    return act(
        request,
        container,
        visitor,
        tracking_number,
        "answer",
        action,
        done="answered",
        form={"message": message},
    )


@router.post("/requests/{tracking_number}/close")
def close(
    request: Request,
    tracking_number: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
) -> Response:
    if (
        stop := refused(request, visitor, Permission.STAFF_REQUEST_DECIDE, csrf_token, post=True)
    ) is not None:
        return stop

    def action(session: Session, user: StaffUser, lawful: LawfulRequest) -> object:
        review.close(session, container.clock, user, lawful)
        return None

    return act(request, container, visitor, tracking_number, "close", action, done="closed")
