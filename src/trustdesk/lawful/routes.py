"""HTTP routes of lawful requests for authorities (``/api/v1/requests``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustdesk.auth.addresses import client_of
from trustdesk.authorities.models import Officer
from trustdesk.bus.protocol import Subject
from trustdesk.db import unit_of_work
from trustdesk.lawful import enforcing, execution, review, service, views
from trustdesk.lawful.catalogue import Catalogue
from trustdesk.lawful.intake_risk import Origin
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.schemas import (
    CorrespondenceOut,
    DocumentOut,
    IssuingAuthorityOut,
    MessageIn,
    PeriodOut,
    RequestIn,
    RequestOut,
    RequestSummary,
    Target,
    ValidationIn,
    WithdrawIn,
)
from trustdesk.web.deps import ContainerDep, OfficerDep
from trustdesk.web.openapi import problems
from trustdesk.web.signatures import SignatureDep, SignedRoute, request_signature

# Every officer route checks a request's signature when it carries one (RFC 9421; refused with 401 when it
# fails), and submission records it; an unsigned request is allowed and scores the "unsigned" risk rule.
router = APIRouter(
    prefix="/api/v1/requests",
    tags=["lawful requests"],
    route_class=SignedRoute,
    dependencies=[Depends(request_signature)],
)
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
    description="Acknowledged only after it is durably recorded. A well-formed request the platform "
    "cannot execute at all (the instrument does not apply or is not recognised for your country) is "
    "recorded too and refused at once: status `refused`, the ground, and an answer naming the instruments "
    "that would be valid. Replaying an Idempotency-Key returns the "
    "original request (header `Idempotency-Replayed: true`), never a duplicate. Signed with the agency's "
    "registered key (RFC 9421, headers `Signature-Input`, `Signature` and `Content-Digest`), the request is "
    "recorded as signed; a retry is signed anew (a nonce is accepted once).",
    responses=problems(400, 401, 409, 413, 422, s409="The Idempotency-Key was used for a different request"),
)
def submit_request(
    body: RequestIn,
    principal: OfficerDep,
    container: ContainerDep,
    http: Request,
    signature: SignatureDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    address = client_of(http, container.settings.trusted_proxies)
    origin = Origin(credential_id=principal.credential_id, address=address, signed=signature is not None)
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
                    policy=container.policy,
                    origin=origin,
                    signature_key_id=signature.key_id if signature is not None else None,
                )
                out = officer_request_out(session, intake.request, container.catalogue)
            break
        except IntegrityError:
            # A concurrent submission claimed the same Idempotency-Key: the retry finds and returns it.
            if attempt == 2 or idempotency_key is None:
                raise
    # The transaction has committed: only now is the acknowledgement sent and the event published.
    if intake.created and intake.request.receipt_ground is None:  # a refusal on receipt is already answered
        container.bus.publish(Subject.REQUEST_RECEIVED, {"request_id": intake.request.id})
    headers = {"Location": f"/api/v1/requests/{out.tracking_number}"}
    if not intake.created:
        headers["Idempotency-Replayed"] = "true"
    return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=201, headers=headers)


@router.get(
    "",
    response_model=list[RequestSummary],
    summary="List your agency's requests, newest first",
    responses=problems(401, 422),
)
def list_requests(
    principal: OfficerDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
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


def officer_request_out(session: Session, request: LawfulRequest, catalogue: Catalogue) -> RequestOut:
    base = request_out(request, catalogue).model_dump(by_alias=False)
    return RequestOut.model_validate(base | views.authority_view(session, request))


@router.get(
    "/{tracking_number}",
    response_model=RequestOut,
    summary="Status, deadline, outcome, correspondence and production of a request",
    description="Only officers of the submitting agency see a request; to anyone else it does not exist "
    "(404).",
    responses=problems(401, 404, 422),
)
def get_request(tracking_number: str, principal: OfficerDep, container: ContainerDep) -> RequestOut:
    with unit_of_work(container.sessions) as session:
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        return officer_request_out(session, request, container.catalogue)


@router.post(
    "/{tracking_number}/documents",
    status_code=201,
    response_model=DocumentOut,
    summary="Upload the signed legal document (PDF)",
    responses=problems(
        400,
        401,
        404,
        409,
        413,
        422,
        s422="A missing file, or one that is not a complete, readable PDF within the size limit",
    ),
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


@router.post(
    "/{tracking_number}/correspondence",
    status_code=201,
    response_model=CorrespondenceOut,
    summary="Write to the legal team: answers an open clarification (the clock resumes), else a note",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def write(
    tracking_number: str, body: MessageIn, principal: OfficerDep, container: ContainerDep
) -> CorrespondenceOut:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        message = review.officer_writes(
            session, container.clock, officer, request, container.catalogue.get(request.instrument), body.body
        )
        return CorrespondenceOut(
            id=message.id,
            direction=message.direction,
            kind=message.kind,
            body=message.body,
            author=message.author_kind,
            at=message.created_at,
        )


@router.post(
    "/{tracking_number}/withdraw",
    response_model=RequestOut,
    summary="Withdraw a request",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def withdraw(
    tracking_number: str, body: WithdrawIn, principal: OfficerDep, container: ContainerDep
) -> RequestOut:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        review.withdraw(session, container.clock, officer, request, body.reason)
        for hold in execution.holds_of(session, request):
            if hold.released_at is None and hold.reason != "removed_content":
                execution.release_hold(
                    session,
                    container.clock,
                    review.officer_actor(officer),
                    hold.id,
                    container.connector,
                    "the request was withdrawn",
                )
        return officer_request_out(session, request, container.catalogue)


@router.post(
    "/{tracking_number}/validation",
    response_model=RequestOut,
    summary="Send the validation of an emergency order, or say it was refused (e-Evidence Art. 4(5))",
    responses=problems(400, 401, 404, 409, 413, 422),
)
def validate(
    tracking_number: str, body: ValidationIn, principal: OfficerDep, container: ContainerDep
) -> RequestOut:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        enforcing.record_validation(
            session,
            container.clock,
            review.officer_actor(officer),
            request,
            body.status,
            validator_name=body.authority.name if body.authority else None,
            validator_kind=body.authority.kind if body.authority else None,
            validated_at=body.validated_at,
        )
        return officer_request_out(session, request, container.catalogue)


@router.get(
    "/{tracking_number}/production",
    summary="Download the production package (age-encrypted to your agency's key)",
    response_class=Response,
    responses=problems(
        401,
        403,
        404,
        409,
        422,
        s403="The link expired",
        success={"content": {"application/octet-stream": {}}},
    ),
)
def download(tracking_number: str, principal: OfficerDep, container: ContainerDep) -> Response:
    with unit_of_work(container.sessions) as session:
        officer = session.get_one(Officer, principal.officer_id)
        request = service.get_for_agency(session, tracking_number, principal.agency_id)
        production = execution.download_production(session, container.clock, officer, request)
        content, digest = production.content, production.sha256
        name = f"{request.tracking_number}.tar.age"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": digest},
    )
