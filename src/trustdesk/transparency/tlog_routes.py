"""HTTP routes of the transparency log: the public read API (``/api/v1/tlog``) and an officer's log receipt
(``/api/v1/requests/{tracking_number}/log-receipt``). Hashes are lowercase hex in JSON; the checkpoint is
the C2SP signed note itself (base64 root inside, as the format says)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from trustdesk.db import unit_of_work
from trustdesk.errors import NotFound
from trustdesk.lawful import service as lawful
from trustdesk.transparency.models import TlogHead
from trustdesk.transparency.tlog import service as tlog
from trustdesk.web.deps import ContainerDep, OfficerDep
from trustdesk.web.openapi import problems
from trustdesk.web.signatures import SignedRoute, request_signature

HexHash = Annotated[str, Query(pattern=r"^[0-9a-fA-F]{64}$", description="A SHA-256 hash, 64 hex digits")]
Size = Annotated[int, Query(ge=0, le=2**62)]

public_router = APIRouter(prefix="/api/v1/tlog", tags=["transparency log"])
officer_router = APIRouter(
    prefix="/api/v1/requests",
    tags=["lawful requests"],
    route_class=SignedRoute,
    dependencies=[Depends(request_signature)],
)


class HeadOut(BaseModel):
    tree_size: int
    root_hash: str
    created_at: datetime
    checkpoint: str = Field(description="The C2SP tlog-checkpoint signed note")


class LeafOut(BaseModel):
    index: int
    leaf: str = Field(description="The leaf's exact canonical JSON; its RFC 9162 leaf hash is leaf_hash")
    leaf_hash: str


class LeavesOut(BaseModel):
    tree_size: int = Field(description="The latest signed head's size: leaves beyond it are not returned")
    leaves: list[LeafOut]


class InclusionOut(BaseModel):
    type: Literal["inclusion"]
    leaf_index: int
    tree_size: int
    leaf: str
    leaf_hash: str
    root_hash: str
    proof: list[str] = Field(description="RFC 9162 §2.1.3 audit path, from the leaf up")
    checkpoint: str


class ConsistencyOut(BaseModel):
    type: Literal["consistency"]
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof")
    checkpoint: str = Field(description="The checkpoint of the second head")


class LogReceiptOut(BaseModel):
    tracking_number: str
    status: Literal["pending", "included"] = Field(
        description="pending: the sequencer has not reached the request yet (within a minute or so)"
    )
    receipt: str | None = Field(
        default=None, description="The canonical receipt JSON the leaf commits to: keep it with the salt"
    )
    salt: str | None = Field(default=None, description="32 bytes, hex: never published")
    leaf: str | None = None
    leaf_hash: str | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    root_hash: str | None = None
    proof: list[str] | None = None
    checkpoint: str | None = None


def _head_out(head: TlogHead) -> HeadOut:
    return HeadOut(
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        created_at=head.created_at,
        checkpoint=head.checkpoint,
    )


@public_router.get(
    "/checkpoint",
    summary="The latest signed tree head, as a C2SP tlog-checkpoint signed note",
    response_class=PlainTextResponse,
    responses=problems(404, success={"content": {"text/plain": {}}, "description": "The signed note"}),
)
def checkpoint(container: ContainerDep) -> PlainTextResponse:
    with unit_of_work(container.sessions) as session:
        head = tlog.latest_head(session)
        if head is None:
            raise NotFound("the log has no signed head yet", code="tlog_head_not_found")
        return PlainTextResponse(head.checkpoint, media_type="text/plain; charset=utf-8")


@public_router.get(
    "/heads",
    response_model=list[HeadOut],
    summary="Signed tree heads after a tree size, smallest first",
    responses=problems(422),
)
def heads(
    container: ContainerDep,
    since: Annotated[int, Query(ge=0, le=2**62, description="Heads of more leaves than this")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[HeadOut]:
    with unit_of_work(container.sessions) as session:
        return [_head_out(h) for h in tlog.heads_since(session, since, limit)]


@public_router.get(
    "/leaves",
    response_model=LeavesOut,
    summary="The leaves [start, end) of the log (at most 1000), with their hashes",
    responses=problems(422),
)
def leaves(container: ContainerDep, start: Size, end: Size) -> LeavesOut:
    with unit_of_work(container.sessions) as session:
        size, entries = tlog.leaves_between(session, start, end)
        return LeavesOut(
            tree_size=size,
            leaves=[LeafOut(index=e.leaf_index or 0, leaf=e.leaf, leaf_hash=e.leaf_hash) for e in entries],
        )


@public_router.get(
    "/proof/inclusion",
    response_model=InclusionOut,
    summary="The inclusion proof of a leaf in a signed head (default: the latest)",
    responses=problems(404, 409, 422, s409="The log's leaves do not reproduce its signed head"),
)
def inclusion_proof(
    container: ContainerDep,
    leaf_hash: HexHash,
    tree_size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> InclusionOut:
    with unit_of_work(container.sessions) as session:
        return InclusionOut.model_validate(tlog.inclusion(session, leaf_hash, tree_size))


@public_router.get(
    "/proof/consistency",
    response_model=ConsistencyOut,
    summary="The consistency proof between two signed heads (second default: the latest)",
    responses=problems(404, 409, 422, s409="The log's leaves do not reproduce its signed head"),
)
def consistency_proof(
    container: ContainerDep, first: Size, second: Annotated[int | None, Query(ge=0, le=2**62)] = None
) -> ConsistencyOut:
    with unit_of_work(container.sessions) as session:
        return ConsistencyOut.model_validate(tlog.consistency(session, first, second))


@officer_router.get(
    "/{tracking_number}/log-receipt",
    response_model=LogReceiptOut,
    response_model_exclude_none=True,
    summary="Your request's entry in the public transparency log, with its inclusion proof",
    description="The receipt and its salt let you check, with `trustdesk tlog verify-receipt FILE` and "
    "the platform's public key only, that your request is inside the signed log. Only officers of the "
    "submitting agency see it.",
    responses=problems(401, 404, 409, 422, s409="The log's leaves do not reproduce its signed head"),
)
def log_receipt(tracking_number: str, principal: OfficerDep, container: ContainerDep) -> LogReceiptOut:
    with unit_of_work(container.sessions) as session:
        request = lawful.get_for_agency(session, tracking_number, principal.agency_id)
        return LogReceiptOut.model_validate(tlog.log_receipt(session, request))


router = APIRouter()
router.include_router(public_router)
router.include_router(officer_router)
