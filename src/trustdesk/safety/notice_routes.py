"""HTTP routes of notices (DSA Art. 16), trusted flaggers' notices (Art. 22) and appeals (Art. 20).

Anyone may send a notice; a trusted flagger sends it with its key (``Authorization: Bearer tdf_…``), and
a bad key is refused, never taken as anonymous. The notice's reference with its access key (shown once)
opens its status and, once it was not acted upon, its appeal. A wrong reference and a wrong key get the
same 404. The lookups by reference below are read-only; the services do every change.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.auth.addresses import client_of
from trustdesk.db import unit_of_work
from trustdesk.errors import NotFound, TooManyRequests, Unauthenticated
from trustdesk.safety import appeals, flaggers, notices
from trustdesk.safety.models import Appeal, Notice, TrustedFlagger
from trustdesk.safety.workflow import AppealStatus
from trustdesk.web.deps import ContainerDep
from trustdesk.web.openapi import problems
from trustdesk.web.problems import problem

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["notices and appeals (DSA Arts 16, 20, 22)"])
"""Seconds a throttled notifier waits: the hourly allowance's window."""


class NoticeReceiptOut(BaseModel):
    reference: str
    key: str = Field(description="Shown once: with the reference it opens the status page and the appeal")
    received_at: datetime
    target_at: datetime | None = Field(description="When the platform aims to decide")
    trusted_flagger: bool
    status_url: str
    appeal_url: str


class NoticeStatusOut(BaseModel):
    reference: str
    status: str = Field(description="received or decided")
    received_at: datetime
    decided_at: datetime | None
    outcome: str | None = Field(description="actioned, not_actioned or manifestly_unfounded")
    appeal_url: str | None = Field(description="Where to appeal a decision not to act, while it can be")


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(max_length=appeals.MAX_BODY + 100)]


class AppealStatusOut(BaseModel):
    reference: str
    status: str = Field(description="open, granted or dismissed")
    filed_at: datetime
    decided_at: datetime | None
    answer: str | None = Field(description="What the appellant is told once decided (Art. 20(5))")


def status_url(reference: str, key: str) -> str:
    return f"/notice/{reference}?key={key}"


def appeal_url(key: str) -> str:
    return f"/appeal?key={key}"


def notice_status(notice: Notice, key: str) -> NoticeStatusOut:
    appealable = notice.decided_at is not None and notice.outcome != "actioned"
    return NoticeStatusOut(
        reference=notice.reference,
        status="decided" if notice.decided_at is not None else "received",
        received_at=notice.received_at,
        decided_at=notice.decided_at,
        outcome=notice.outcome,
        appeal_url=appeal_url(key) if appealable else None,
    )


def appeal_status(appeal: Appeal) -> AppealStatusOut:
    decided = appeal.status is not AppealStatus.OPEN
    return AppealStatusOut(
        reference=appeal.reference,
        status=appeal.status.value,
        filed_at=appeal.filed_at,
        decided_at=appeal.decided_at,
        answer=appeals.told_text(appeal) if decided else None,
    )


def flagger_of(session: Session, authorization: str | None) -> TrustedFlagger | None:
    """No Authorization: an anonymous notifier. Any other Authorization must be a trusted flagger's key
    (read raw: HTTPBearer would silently drop another scheme, and the notice would pass as anonymous)."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthenticated("send a trusted flagger's key as 'Authorization: Bearer <key>'")
    return flaggers.authenticate(session, credentials.strip())


def throttled(exc: TooManyRequests) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)}
    return problem(exc.status, exc.code, exc.message, field=exc.field, headers=headers)


@router.post(
    "/notices",
    status_code=201,
    response_model=NoticeReceiptOut,
    summary="Notify illegal content (DSA Art. 16)",
    responses=problems(
        400,
        401,
        403,
        413,
        422,
        429,
        s401="A trusted flagger's key that is not valid",
        s403="Notices from this notifier are suspended (Art. 23(2))",
        s422="A missing location, reason, name or e-mail, no good faith, unknown content",
        s429="Too many notices this hour (see Retry-After)",
    ),
)
def post_notice(
    body: notices.NoticeIn,
    request: Request,
    container: ContainerDep,
    authorization: Annotated[
        str | None, Header(description="A trusted flagger's key: 'Bearer tdf_…' (optional)", max_length=500)
    ] = None,
) -> NoticeReceiptOut | JSONResponse:
    """Acknowledged at once with a reference and an access key (shown once, never again)."""
    try:
        with unit_of_work(container.sessions) as session:
            flagger = flagger_of(session, authorization)
            receipt = notices.submit_notice(
                session, container.clock, container.connector, body, flagger=flagger,
                address=client_of(request, container.settings.trusted_proxies),
            )  # fmt: skip
            out = NoticeReceiptOut(
                reference=receipt.notice.reference,
                key=receipt.key,
                received_at=receipt.notice.received_at,
                target_at=receipt.case.target_at,
                trusted_flagger=flagger is not None,
                status_url=status_url(receipt.notice.reference, receipt.key),
                appeal_url=appeal_url(receipt.key),
            )
    except TooManyRequests as exc:
        return throttled(exc)
    return out


KeyHeader = Annotated[str | None, Header(alias="X-Notice-Key", max_length=200)]
KeyQuery = Annotated[str | None, Query(alias="key", max_length=200)]


def _key(header: str | None, query: str | None) -> str:
    key = header or query
    if not key:
        raise NotFound("no notice with this reference and key", code="notice_not_found")
    return key


@router.get(
    "/notices/{reference}",
    response_model=NoticeStatusOut,
    summary="A notice's status",
    responses=problems(404, 422, s404="No notice with this reference and key"),
)
def get_notice(
    reference: str, container: ContainerDep, header: KeyHeader = None, key: KeyQuery = None
) -> NoticeStatusOut:
    """With its key (``X-Notice-Key`` or ``?key=``): received or decided, the outcome and when."""
    secret = _key(header, key)
    with container.sessions() as session:
        return notice_status(notices.find_notice(session, reference, secret), secret)


@router.post(
    "/appeals",
    status_code=201,
    response_model=AppealStatusOut,
    summary="Appeal a decision (DSA Art. 20)",
    responses=problems(
        400,
        404,
        409,
        413,
        422,
        s404="The key is not valid",
        s409="Not decided, acted upon, already appealed or the six months are over",
        s422="An empty or too long appeal",
    ),
)
def post_appeal(body: AppealIn, container: ContainerDep) -> AppealStatusOut:
    """Free; open for six months after the decision; decided by a person, never by a machine."""
    with unit_of_work(container.sessions) as session:
        return appeal_status(appeals.file_appeal(session, container.clock, body.key, body.body))


@router.get(
    "/appeals/{reference}",
    response_model=AppealStatusOut,
    summary="An appeal's status and answer",
    responses=problems(404, 422, s404="No appeal with this reference and key"),
)
def get_appeal(
    reference: str, container: ContainerDep, header: KeyHeader = None, key: KeyQuery = None
) -> AppealStatusOut:
    secret = header or key
    if not secret:
        raise NotFound("no appeal with this reference and key", code="appeal_not_found")
    with container.sessions() as session:
        return appeal_status(appeals.find_appeal(session, reference, secret))
