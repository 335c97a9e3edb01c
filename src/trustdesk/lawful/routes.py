"""HTTP routes of lawful requests for authorities (``/api/v1/requests``)."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from trustdesk.authorities.models import Officer
from trustdesk.bus.protocol import Subject
from trustdesk.db import unit_of_work
from trustdesk.lawful import service
from trustdesk.lawful.catalogue import Catalogue
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.schemas import (
    DocumentOut,
    IssuingAuthorityOut,
    PeriodOut,
    RequestIn,
    RequestOut,
    RequestSummary,
    Target,
)
from trustdesk.web.deps import ContainerDep, OfficerDep

router = APIRouter(prefix="/api/v1/requests", tags=["lawful requests"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", min_length=1, max_length=200, description="Makes a retried submission safe"
    ),
]


def request_out(request: LawfulRequest, catalogue: Catalogue) -> RequestOut:
    return RequestOut(
        tracking_number=request.tracking_number,
        status=request.status.value,
        instrument=request.instrument,
        instrument_title=catalogue.get(request.instrument).title,
        reference=request.reference,
        emergency=request.emergency,
        received_at=request.received_at,
        due_at=request.due_at,
        issuing_authority=IssuingAuthorityOut(
            name=request.issuer_name, kind=request.issuer_kind, country=request.issuer_country
        ),
        targets=[Target(type=t.type, value=t.value) for t in request.targets],
        data_categories=list(request.data_categories),
        period=PeriodOut(start=request.period_start, end=request.period_end)
        if request.period_start and request.period_end
        else None,
        documents=[
            DocumentOut(
                id=d.id,
                filename=d.filename,
                content_type=d.content_type,
                size=d.size,
                sha256=d.sha256,
                uploaded_at=d.uploaded_at,
            )
            for d in request.documents
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=RequestOut,
    summary="Submit a lawful request",
    description="Acknowledged only after it is durably recorded. Replaying an Idempotency-Key returns the "
    "original request (header `Idempotency-Replayed: true`), never a duplicate.",
)
def submit_request(
    body: RequestIn, principal: OfficerDep, container: ContainerDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    for attempt in (1, 2):
        try:
            with unit_of_work(container.sessions) as session:
                officer = session.get_one(Officer, principal.officer_id)
                intake = service.submit(
                    session,
                    container.clock,
                    container.catalogue,
                    officer,
                    body,
                    idempotency_key=idempotency_key,
                )
                out = request_out(intake.request, container.catalogue)
            break
        except IntegrityError:
            # A concurrent submission claimed the same Idempotency-Key: the retry finds and returns it.
            if attempt == 2 or idempotency_key is None:
                raise
    # The transaction has committed: only now is the acknowledgement sent and the event published.
    if intake.created:
        container.bus.publish(Subject.REQUEST_RECEIVED, {"request_id": intake.request.id})
    headers = {"Location": f"/api/v1/requests/{out.tracking_number}"}
    if not intake.created:
        headers["Idempotency-Replayed"] = "true"
    return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=201, headers=headers)


@router.get("", response_model=list[RequestSummary], summary="List your agency's requests, newest first")
def list_requests(
    principal: OfficerDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RequestSummary]:
    with unit_of_work(container.sessions) as session:
        return [
            RequestSummary(
                tracking_number=r.tracking_number,
                status=r.status.value,
                instrument=r.instrument,
                reference=r.reference,
                emergency=r.emergency,
                received_at=r.received_at,
                due_at=r.due_at,
            )
            for r in service.list_requests(session, agency_id=principal.agency_id, limit=limit, offset=offset)
        ]


@router.get(
    "/{tracking_number}",
    response_model=RequestOut,
    summary="Status and deadline of a request",
    description="Only officers of the submitting agency see a request; to anyone else it does not exist "
    "(404).",
)
def get_request(tracking_number: str, principal: OfficerDep, container: ContainerDep) -> RequestOut:
    with unit_of_work(container.sessions) as session:
        return request_out(
            service.get_for_agency(session, tracking_number, principal.agency_id), container.catalogue
        )


@router.post(
    "/{tracking_number}/documents",
    status_code=201,
    response_model=DocumentOut,
    summary="Upload the signed legal document (PDF)",
)
async def upload_document(
    tracking_number: str, file: UploadFile, principal: OfficerDep, container: ContainerDep
) -> DocumentOut:
    limit = container.settings.max_document_bytes
    content = await file.read(limit + 1)
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        document = service.attach_document(
            session,
            container.clock,
            officer,
            tracking_number,
            filename=file.filename or "document.pdf",
            content_type=file.content_type or "application/octet-stream",
            content=content,
            max_bytes=limit,
        )
        out = DocumentOut(
            id=document.id,
            filename=document.filename,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256,
            uploaded_at=document.uploaded_at,
        )
    container.bus.publish(Subject.DOCUMENT_ATTACHED, {"document_id": out.id})
    return out
