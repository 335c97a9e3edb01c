"""HTTP routes of the legal team (``/api/v1/staff/requests``), authenticated by staff API tokens."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.db import unit_of_work
from trustdesk.lawful import execution, monitor, review, service, views
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.routes import request_out
from trustdesk.lawful.schemas import Strict, Text2000
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require
from trustdesk.vocabulary import DataCategory
from trustdesk.web.deps import ContainerDep, StaffDep, StaffPrincipal

router = APIRouter(prefix="/api/v1/staff/requests", tags=["legal team"])


class DecisionIn(Strict):
    outcome: review.DecisionOutcome
    categories: list[DataCategory] | None = Field(
        default=None, description="Categories to disclose; default: the recommendation's"
    )
    justification: Text2000 | None = Field(default=None, description="Required when deviating")


class NoteIn(Strict):
    note: Text2000 | None = None


class QuestionIn(Strict):
    question: Annotated[str, Field(min_length=1, max_length=20000)]


class AnswerIn(Strict):
    message: Annotated[str, Field(min_length=1, max_length=20000)] | None = None


class StaffRequestOut(BaseModel):
    request: dict[str, Any]
    review: dict[str, Any]


@contextmanager
def acting(
    container: Container, principal: StaffPrincipal, tracking_number: str, permission: Permission
) -> Iterator[tuple[Session, StaffUser, LawfulRequest]]:
    with unit_of_work(container.sessions) as session:
        user = session.get_one(StaffUser, principal.user_id)
        require(user, permission)
        yield session, user, service.get_by_tracking_number(session, tracking_number)


def full_view(container: Container, session: Session, request: LawfulRequest) -> StaffRequestOut:
    return StaffRequestOut(
        request=request_out(request, container.catalogue).model_dump(mode="json", by_alias=True),
        review=views.staff_view(session, request, container.catalogue, container.policy, container.connector),
    )


@router.get("", summary="The queue: open requests by time left (overdue first, paused last)")
def queue(
    principal: StaffDep, container: ContainerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, object]]:
    with unit_of_work(container.sessions) as session:
        require(session.get_one(StaffUser, principal.user_id), Permission.STAFF_REQUEST_READ)
        return [row.as_dict() for row in monitor.sla(session, container.clock, limit=limit)]


@router.get("/consistency", summary="Share of decisions that deviated from the recommendation")
def consistency(principal: StaffDep, container: ContainerDep) -> dict[str, float | int]:
    with unit_of_work(container.sessions) as session:
        require(session.get_one(StaffUser, principal.user_id), Permission.STAFF_REQUEST_READ)
        return review.consistency(session)


@router.get("/{tracking_number}", response_model=StaffRequestOut, summary="A request with its recommendation")
def show(tracking_number: str, principal: StaffDep, container: ContainerDep) -> StaffRequestOut:
    with acting(container, principal, tracking_number, Permission.STAFF_REQUEST_READ) as (
        session,
        _,
        request,
    ):
        return full_view(container, session, request)


def _act(
    container: Container,
    principal: StaffPrincipal,
    tracking_number: str,
    permission: Permission,
    action: Callable[[Session, StaffUser, LawfulRequest], object],
) -> StaffRequestOut:
    with acting(container, principal, tracking_number, permission) as (session, user, request):
        action(session, user, request)
        return full_view(container, session, request)


@router.post("/{tracking_number}/decide", response_model=StaffRequestOut, summary="Record the decision")
def decide(
    tracking_number: str, body: DecisionIn, principal: StaffDep, container: ContainerDep
) -> StaffRequestOut:
    def action(session: Session, user: StaffUser, request: LawfulRequest) -> object:
        recommendation = review.recommendation_for(
            request, container.catalogue, container.policy, container.connector
        )
        return review.decide(
            session,
            container.clock,
            user,
            request,
            container.catalogue.get(request.instrument),
            recommendation,
            outcome=body.outcome,
            categories=body.categories,
            justification=body.justification,
        )

    return _act(container, principal, tracking_number, Permission.STAFF_REQUEST_DECIDE, action)


@router.post("/{tracking_number}/approve", response_model=StaffRequestOut, summary="Approve (four eyes)")
def approve(
    tracking_number: str, body: NoteIn, principal: StaffDep, container: ContainerDep
) -> StaffRequestOut:
    return _act(
        container,
        principal,
        tracking_number,
        Permission.STAFF_REQUEST_APPROVE,
        lambda s, u, r: review.approve(
            s, container.clock, u, r, container.catalogue.get(r.instrument), body.note
        ),
    )


@router.post("/{tracking_number}/reject", response_model=StaffRequestOut, summary="Send back to review")
def reject(
    tracking_number: str, body: NoteIn, principal: StaffDep, container: ContainerDep
) -> StaffRequestOut:
    return _act(
        container,
        principal,
        tracking_number,
        Permission.STAFF_REQUEST_APPROVE,
        lambda s, u, r: review.reject(s, container.clock, u, r, body.note or ""),
    )


@router.post("/{tracking_number}/clarify", response_model=StaffRequestOut, summary="Ask the authority")
def clarify(
    tracking_number: str, body: QuestionIn, principal: StaffDep, container: ContainerDep
) -> StaffRequestOut:
    return _act(
        container,
        principal,
        tracking_number,
        Permission.STAFF_REQUEST_DECIDE,
        lambda s, u, r: review.clarify(
            s, container.clock, u, r, container.catalogue.get(r.instrument), body.question
        ),
    )


@router.post(
    "/{tracking_number}/execute", response_model=StaffRequestOut, summary="Execute through the platform"
)
def execute(tracking_number: str, principal: StaffDep, container: ContainerDep) -> StaffRequestOut:
    return _act(
        container,
        principal,
        tracking_number,
        Permission.STAFF_REQUEST_DECIDE,
        lambda s, u, r: execution.execute(
            s,
            container.clock,
            u,
            r,
            container.catalogue.get(r.instrument),
            container.connector,
            container.signer,
            container.execution,
        ),
    )


@router.post("/{tracking_number}/answer", response_model=StaffRequestOut, summary="Answer the authority")
def answer(
    tracking_number: str, body: AnswerIn, principal: StaffDep, container: ContainerDep
) -> StaffRequestOut:
    return _act(
        container,
        principal,
        tracking_number,
        Permission.STAFF_REQUEST_DECIDE,
        lambda s, u, r: execution.answer(
            s,
            container.clock,
            u,
            r,
            container.catalogue.get(r.instrument),
            container.connector,
            container.execution,
            body.message,
        ),
    )


@router.post("/{tracking_number}/close", response_model=StaffRequestOut, summary="Close the file")
def close(tracking_number: str, principal: StaffDep, container: ContainerDep) -> StaffRequestOut:
    return _act(
        container,
        principal,
        tracking_number,
        Permission.STAFF_REQUEST_DECIDE,
        lambda s, u, r: review.close(s, container.clock, u, r),
    )
