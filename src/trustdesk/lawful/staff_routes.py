"""HTTP routes of the legal team (``/api/v1/staff/requests``), authenticated by staff API tokens."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.db import unit_of_work
from trustdesk.lawful import callbacks, conflicts, enforcing, execution, monitor, review, service, views
from trustdesk.lawful.facts import legal_representative_zone
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.routes import request_out
from trustdesk.lawful.schemas import Strict, Text200, Text2000
from trustdesk.lawful.vocabulary import (
    AnnexIIIGround,
    ClarificationKind,
    ConflictResolution,
    EnforcingAnswer,
    EnforcingGround,
)
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.vocabulary import DataCategory
from trustdesk.web.deps import ContainerDep, StaffPrincipal, staff_with
from trustdesk.web.openapi import problems

router = APIRouter(prefix="/api/v1/staff/requests", tags=["legal team"])
# Each route declares its permission; it is checked before the body is even read.
Reader = Annotated[StaffPrincipal, Depends(staff_with(Permission.STAFF_REQUEST_READ))]
Decider = Annotated[StaffPrincipal, Depends(staff_with(Permission.STAFF_REQUEST_DECIDE))]
Approver = Annotated[StaffPrincipal, Depends(staff_with(Permission.STAFF_REQUEST_APPROVE))]


class DecisionIn(Strict):
    outcome: review.DecisionOutcome
    categories: list[DataCategory] | None = Field(
        default=None, description="Categories to disclose; default: the recommendation's"
    )
    justification: Text2000 | None = Field(default=None, description="Required when deviating")
    documents_confirmed: bool = Field(
        default=False,
        description="The reviewer opened every signed order of the request (GET .../documents/{id}) and "
        "confirms it is the order the request describes; required to comply, in full or in part",
    )


class NoteIn(Strict):
    note: Text2000 | None = None


class QuestionIn(Strict):
    question: Annotated[str, Field(min_length=1, max_length=20000)]
    kind: ClarificationKind | None = Field(
        default=None,
        description="incomplete_order suspends the legal deadline (e-Evidence Art. 10(5)); desk_question "
        "stops only the internal target. Default: the recommendation's, else desk_question",
    )


class AnswerIn(Strict):
    message: Annotated[str, Field(min_length=1, max_length=20000)] | None = None


class EnforcingIn(Strict):
    answer: EnforcingAnswer
    ground: EnforcingGround | None = Field(default=None, description="Required when grounds were raised")
    note: Text2000 | None = None


class ConflictIn(Strict):
    resolution: ConflictResolution
    justification: Text2000
    ground: AnnexIIIGround | None = Field(default=None, description="The Annex III ground of a refusal")
    documents_confirmed: bool = Field(
        default=False, description="To comply: counsel opened every signed order and confirms it (see decide)"
    )


class CallbackBody(Strict):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=40)] = Field(
        description="The number called: from an official directory, never the one the request gives"
    )
    directory: Text200 = Field(description="Where the number comes from (directory, official website)")
    person_reached: Text200
    confirmed: bool = Field(
        description="false: the agency did not confirm it; the request is presumed forged"
    )
    note: Text2000


class StaffRequestOut(BaseModel):
    request: dict[str, Any]
    review: dict[str, Any]


@contextmanager
def acting(
    container: Container, principal: StaffPrincipal, tracking_number: str
) -> Iterator[tuple[Session, StaffUser, LawfulRequest]]:
    """The unit of work of one staff action; the route's dependency has already checked the permission."""
    with unit_of_work(container.sessions) as session:
        user = session.get_one(StaffUser, principal.user_id)
        yield session, user, service.get_by_tracking_number(session, tracking_number)


def full_view(container: Container, session: Session, request: LawfulRequest) -> StaffRequestOut:
    return StaffRequestOut(
        request=request_out(request, container.catalogue).model_dump(mode="json", by_alias=True),
        review=views.staff_view(session, request, container.catalogue, container.policy, container.connector),
    )


@router.get(
    "",
    summary="The queue: open requests by time left (overdue first, paused last)",
    responses=problems(401, 403, 422),
)
def queue(
    _: Reader, container: ContainerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, object]]:
    with unit_of_work(container.sessions) as session:
        return [row.as_dict() for row in monitor.sla(session, container.clock, limit=limit)]


@router.get(
    "/consistency",
    summary="Share of decisions that deviated from the recommendation",
    responses=problems(401, 403),
)
def consistency(_: Reader, container: ContainerDep) -> dict[str, float | int]:
    with unit_of_work(container.sessions) as session:
        return review.consistency(session)


@router.get(
    "/{tracking_number}/documents/{document_id}",
    summary="Download the signed order (audited)",
    response_class=Response,
    responses=problems(
        401,
        403,
        404,
        422,
        success={"content": {"application/pdf": {}}, "description": "The PDF, as an attachment"},
    ),
)
def document(tracking_number: str, document_id: str, principal: Reader, container: ContainerDep) -> Response:
    with acting(container, principal, tracking_number) as (session, user, request):
        found = service.open_document(session, container.clock, user, request, document_id)
        content, headers = found.content, service.document_response_headers(found)
    return Response(content, media_type="application/pdf", headers=headers)


@router.get(
    "/{tracking_number}",
    response_model=StaffRequestOut,
    summary="A request with its recommendation",
    responses=problems(401, 403, 404, 422),
)
def show(tracking_number: str, principal: Reader, container: ContainerDep) -> StaffRequestOut:
    with acting(container, principal, tracking_number) as (
        session,
        _,
        request,
    ):
        return full_view(container, session, request)


def act(
    container: Container,
    principal: StaffPrincipal,
    tracking_number: str,
    action: Callable[[Session, StaffUser, LawfulRequest], object],
) -> StaffRequestOut:
    with acting(container, principal, tracking_number) as (session, user, request):
        action(session, user, request)
        return full_view(container, session, request)


@router.post(
    "/{tracking_number}/decide",
    response_model=StaffRequestOut,
    summary="Record the decision",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def decide(
    tracking_number: str, body: DecisionIn, principal: Decider, container: ContainerDep
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
            documents_confirmed=body.documents_confirmed,
        )

    return act(container, principal, tracking_number, action)


@router.post(
    "/{tracking_number}/approve",
    response_model=StaffRequestOut,
    summary="Approve (four eyes)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def approve(
    tracking_number: str, body: NoteIn, principal: Approver, container: ContainerDep
) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: review.approve(
            s,
            container.clock,
            u,
            r,
            container.catalogue.get(r.instrument),
            body.note,
            zone=legal_representative_zone(container.policy, r.agency.country),
        ),
    )


@router.post(
    "/{tracking_number}/callback",
    response_model=StaffRequestOut,
    summary="Record a callback verification",
    description="The call to the agency on a directory number. Confirmed: a held request may be disclosed. "
    "Not confirmed: the request is refused as presumed forged, the agency de-verified, its officers "
    "deactivated and their keys revoked, and a security incident raised.",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def callback(
    tracking_number: str, body: CallbackBody, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    given = callbacks.CallbackIn(**body.model_dump())
    out = act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: callbacks.record_callback(s, container.clock, u, r, given),
    )
    if not body.confirmed:
        callbacks.alert_failed_callback(container.sessions, container.notifier, tracking_number)
    return out


@router.post(
    "/{tracking_number}/reject",
    response_model=StaffRequestOut,
    summary="Send back to review",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def reject(
    tracking_number: str, body: NoteIn, principal: Approver, container: ContainerDep
) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: review.reject(s, container.clock, u, r, body.note or ""),
    )


@router.post(
    "/{tracking_number}/clarify",
    response_model=StaffRequestOut,
    summary="Ask the authority",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def clarify(
    tracking_number: str, body: QuestionIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    def action(session: Session, user: StaffUser, request: LawfulRequest) -> object:
        kind = body.kind or review.clarification_kind(
            review.recommendation_for(request, container.catalogue, container.policy, container.connector)
        )
        return review.clarify(
            session,
            container.clock,
            user,
            request,
            container.catalogue.get(request.instrument),
            body.question,
            kind=kind,
        )

    return act(container, principal, tracking_number, action)


@router.post(
    "/{tracking_number}/enforcing",
    response_model=StaffRequestOut,
    summary="Record the enforcing authority's answer (e-Evidence Arts 10, 12)",
    description="grounds_raised (with the ground): nothing is delivered, the request is refused; "
    "no_grounds: deliver as soon as possible; objected (after an emergency delivery): the data must not "
    "be used.",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def enforcing_answer(
    tracking_number: str, body: EnforcingIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: enforcing.record_enforcing_answer(
            s, container.clock, review.staff_actor(u), r, body.answer, ground=body.ground, note=body.note
        ),
    )


@router.post(
    "/{tracking_number}/conflict",
    response_model=StaffRequestOut,
    summary="Counsel resolves a principle conflict: comply, refuse (Annex III) or challenge",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def resolve_conflict(
    tracking_number: str, body: ConflictIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    def action(session: Session, user: StaffUser, request: LawfulRequest) -> object:
        recommendation = review.recommendation_for(
            request, container.catalogue, container.policy, container.connector
        )
        return conflicts.resolve_conflicts(
            session,
            container.clock,
            user,
            request,
            container.catalogue.get(request.instrument),
            recommendation,
            resolution=body.resolution,
            justification=body.justification,
            ground=body.ground,
            documents_confirmed=body.documents_confirmed,
        )

    return act(container, principal, tracking_number, action)


@router.post(
    "/{tracking_number}/execute",
    response_model=StaffRequestOut,
    summary="Execute through the platform",
    responses=problems(401, 403, 404, 409, 413, 422),
)
def execute(tracking_number: str, principal: Decider, container: ContainerDep) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
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


@router.post(
    "/{tracking_number}/answer",
    response_model=StaffRequestOut,
    summary="Answer the authority",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def answer(
    tracking_number: str, body: AnswerIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
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


@router.post(
    "/{tracking_number}/close",
    response_model=StaffRequestOut,
    summary="Close the file",
    responses=problems(401, 403, 404, 409, 413, 422),
)
def close(tracking_number: str, principal: Decider, container: ContainerDep) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: review.close(s, container.clock, u, r),
    )
