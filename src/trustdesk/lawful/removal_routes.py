"""The legal team's answers on a TCO removal order (``/api/v1/staff/requests/{tracking}/...``).

Cross-border scrutiny (Regulation (EU) 2021/784 Art. 4): the platform asks for it within 48 hours of
receipt, the competent authority decides within 72 hours, and a finding of infringement reinstates the
content. Complaints of the content provider (Art. 10): received, answered within two weeks, and an upheld
complaint reinstates the content. Every route needs the decide permission; every change is audited.
"""

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.orm import Session

from trustdesk.errors import NotFound
from trustdesk.lawful import removals, review
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.schemas import Strict, Text2000
from trustdesk.lawful.staff_routes import Decider, StaffRequestOut, act
from trustdesk.lawful.vocabulary import ScrutinyOutcome
from trustdesk.staff.models import StaffUser
from trustdesk.web.deps import ContainerDep
from trustdesk.web.openapi import problems

router = APIRouter(prefix="/api/v1/staff/requests", tags=["legal team: removal orders"])

Body = Annotated[str, Field(min_length=1, max_length=20000)]


class ScrutinyIn(Strict):
    note: Text2000


class ScrutinyDecisionIn(Strict):
    outcome: ScrutinyOutcome
    note: Text2000 | None = None


class ComplaintIn(Strict):
    removal_id: Annotated[str, Field(min_length=1, max_length=36)]
    body: Body
    account_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The complaining content provider; default: the removed content's author"
    )


class ComplaintAnswerIn(Strict):
    upheld: bool
    answer: Body


@router.post(
    "/{tracking_number}/scrutiny",
    response_model=StaffRequestOut,
    summary="Ask the competent authority to scrutinise a cross-border removal order (TCO Art. 4(2))",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def request_scrutiny(
    tracking_number: str, body: ScrutinyIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: removals.request_scrutiny(
            s, container.clock, review.staff_actor(u), r, container.catalogue.get(r.instrument), body.note
        ),
    )


@router.post(
    "/{tracking_number}/scrutiny/decision",
    response_model=StaffRequestOut,
    summary="Record the scrutiny decision; an infringement reinstates the content (TCO Art. 4(4), (7))",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def record_scrutiny_decision(
    tracking_number: str, body: ScrutinyDecisionIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    return act(
        container,
        principal,
        tracking_number,
        lambda s, u, r: removals.record_scrutiny_decision(
            s, container.clock, review.staff_actor(u), r, body.outcome, container.connector, body.note
        ),
    )


def _own_removal(session: Session, request: LawfulRequest, removal_id: str) -> str:
    if all(removal.id != removal_id for removal in removals.removals_of(session, request)):
        raise NotFound(
            f"{request.tracking_number} has no removal {removal_id}",
            code="removal_not_found",
            field="removal",
        )
    return removal_id


@router.post(
    "/{tracking_number}/complaints",
    response_model=StaffRequestOut,
    summary="Record a content provider's complaint about a removal, due in two weeks (TCO Art. 10)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def receive_complaint(
    tracking_number: str, body: ComplaintIn, principal: Decider, container: ContainerDep
) -> StaffRequestOut:
    def action(session: Session, user: StaffUser, request: LawfulRequest) -> object:
        return removals.receive_complaint(
            session,
            container.clock,
            review.staff_actor(user),
            _own_removal(session, request, body.removal_id),
            body.body,
            container.catalogue.get(request.instrument),
            account_id=body.account_id,
        )

    return act(container, principal, tracking_number, action)


@router.post(
    "/{tracking_number}/complaints/{complaint_id}/answer",
    response_model=StaffRequestOut,
    summary="Answer a complaint; an upheld one reinstates the content (TCO Art. 10(2))",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def answer_complaint(
    tracking_number: str,
    complaint_id: str,
    body: ComplaintAnswerIn,
    principal: Decider,
    container: ContainerDep,
) -> StaffRequestOut:
    def action(session: Session, user: StaffUser, request: LawfulRequest) -> object:
        return removals.answer_complaint(
            session,
            container.clock,
            review.staff_actor(user),
            complaint_id,
            body.upheld,
            body.answer,
            container.connector,
            answered_by=user.id,
            request=request,
        )

    return act(container, principal, tracking_number, action)
