"""What the issuing authority says about what is kept for it (``/api/v1/requests/{tracking}/...``).

Preservation holds: end them (withdrawn, no longer needed), confirm the production request they wait for
(Reg. 2023/1543 Annex V), ask for the one lawful extension. Removed content (TCO): keep it longer
(Art. 6(2)), extend the confidentiality once (Art. 11(3)). Only the requesting agency; every change audited.
"""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from trustdesk.authorities.models import Officer
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict
from trustdesk.lawful import holds, removals, service
from trustdesk.lawful.models import PreservationHold, Removal
from trustdesk.lawful.review import officer_actor
from trustdesk.lawful.vocabulary import HoldEnd
from trustdesk.web.deps import ContainerDep, OfficerDep
from trustdesk.web.openapi import problems
from trustdesk.web.signatures import SignedRoute, request_signature

# Officer routes: a signed request's signature is checked (RFC 9421), as on the other officer routes.
router = APIRouter(
    prefix="/api/v1/requests",
    tags=["preservation and retention"],
    route_class=SignedRoute,
    dependencies=[Depends(request_signature)],
)


class HoldEndIn(BaseModel):
    reason: Literal["withdrawn", "no_longer_needed"]
    note: str | None = Field(default=None, max_length=2000)


class ProductionConfirmIn(BaseModel):
    production_reference: str = Field(
        min_length=1,
        max_length=100,
        description="The production request's tracking number here, or the authority's own reference",
    )


class RetentionIn(BaseModel):
    until: datetime | None = Field(description="Keep until then; null: until further notice")
    note: str | None = Field(default=None, max_length=2000)


class ConfidentialityIn(BaseModel):
    until: datetime


class HoldOut(BaseModel):
    id: str
    categories: list[str]
    expires_at: datetime | None
    extensions: int
    reason: str
    released_at: datetime | None
    ended: str | None
    production_reference: str | None


class RemovalOut(BaseModel):
    id: str
    locator: str
    action: str
    effective_at: datetime
    keep_until: datetime | None
    reinstated_at: datetime | None


def hold_out(hold: PreservationHold) -> HoldOut:
    return HoldOut(
        id=hold.id,
        categories=list(hold.categories),
        expires_at=hold.expires_at,
        extensions=hold.extensions,
        reason=hold.reason,
        released_at=hold.released_at,
        ended=hold.ended.value if hold.ended else None,
        production_reference=hold.production_reference,
    )


def removal_out(removal: Removal) -> RemovalOut:
    return RemovalOut(
        id=removal.id,
        locator=removal.locator,
        action=removal.action,
        effective_at=removal.effective_at,
        keep_until=removal.keep_until,
        reinstated_at=removal.reinstated_at,
    )


@router.get(
    "/{tracking_number}/holds",
    response_model=list[HoldOut],
    summary="What is preserved for this request",
    responses=problems(401, 404, 422),
)
def list_holds(tracking_number: str, principal: OfficerDep, container: ContainerDep) -> list[HoldOut]:
    with unit_of_work(container.sessions) as session:
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        return [hold_out(h) for h in holds.holds_of(session, request)]


@router.post(
    "/{tracking_number}/holds/end",
    response_model=list[HoldOut],
    summary="End the preservation",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def end_holds(
    tracking_number: str, body: HoldEndIn, principal: OfficerDep, container: ContainerDep
) -> list[HoldOut]:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        ended = holds.end_holds(
            session,
            container.clock,
            officer_actor(officer),
            request,
            container.connector,
            HoldEnd(body.reason),
            body.note,
        )
        return [hold_out(h) for h in ended]


@router.post(
    "/{tracking_number}/holds/confirm-production",
    response_model=list[HoldOut],
    summary="Confirm that a production request was issued for the preserved data (Annex V)",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def confirm_production(
    tracking_number: str, body: ProductionConfirmIn, principal: OfficerDep, container: ContainerDep
) -> list[HoldOut]:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        confirmed = holds.confirm_production(
            session,
            container.clock,
            officer_actor(officer),
            request,
            container.catalogue.get(request.instrument),
            body.production_reference,
            container.connector,
        )
        return [hold_out(h) for h in confirmed]


@router.post(
    "/{tracking_number}/holds/extend",
    response_model=list[HoldOut],
    summary="Ask for the one lawful extension of the preservation",
    responses=problems(401, 404, 409, 413, 422),
)
def extend_holds(tracking_number: str, principal: OfficerDep, container: ContainerDep) -> list[HoldOut]:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        rule = container.catalogue.get(request.instrument).hold
        open_holds = holds.open_holds_of(session, request)
        if rule is None or not open_holds:
            raise Conflict(f"{request.tracking_number} has no hold to extend", code="no_open_hold")
        actor = officer_actor(officer)
        return [
            hold_out(holds.extend_hold(session, container.clock, actor, h.id, rule, container.connector))
            for h in open_holds
        ]


@router.post(
    "/{tracking_number}/removals/retention",
    response_model=list[RemovalOut],
    summary="Require removed content kept longer (TCO Art. 6(2))",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def extend_retention(
    tracking_number: str, body: RetentionIn, principal: OfficerDep, container: ContainerDep
) -> list[RemovalOut]:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        kept = removals.extend_retention(
            session, container.clock, officer_actor(officer), request, body.until, body.note
        )
        return [removal_out(r) for r in kept]


@router.post(
    "/{tracking_number}/removals/confidentiality",
    response_model=dict[str, datetime],
    summary="Extend the confidentiality of a removal once (TCO Art. 11(3))",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def extend_confidentiality(
    tracking_number: str, body: ConfidentialityIn, principal: OfficerDep, container: ContainerDep
) -> dict[str, datetime]:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        window = removals.extend_confidentiality(
            session,
            container.clock,
            officer_actor(officer),
            request,
            container.catalogue.get(request.instrument),
            body.until,
        )
        assert window.due_at is not None
        return {"confidential_until": window.due_at}
