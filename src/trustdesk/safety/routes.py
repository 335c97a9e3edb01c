"""HTTP routes the platform calls: the upload-time match and the content-event intake.

Both authenticate with a platform service token (``Authorization: Bearer tdp_…``) checked against an
in-memory cache, and read only the in-memory matcher: the match path never touches the database.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from trustdesk.errors import InvalidInput, Unauthenticated
from trustdesk.safety.events import ContentItem, describe
from trustdesk.safety.hashing.image import hash_image
from trustdesk.safety.matcher import HashMatch, strongest
from trustdesk.safety.vocabulary import BankAction, HashType
from trustdesk.web.deps import ContainerDep
from trustdesk.web.openapi import problems

router = APIRouter(prefix="/api/v1", tags=["content safety (platform)"])
_bearer = HTTPBearer(auto_error=False, description="A platform service token")
MAX_QUERIES = 1_000
MAX_ITEMS = 500
HEX32 = r"^[0-9a-fA-F]{32}$"
HEX64 = r"^[0-9a-fA-F]{64}$"


async def platform_service(  # async: the upload-time path takes no thread-pool hop
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None or not container.platform_tokens.valid(credentials.credentials):
        raise Unauthenticated("send a platform service token as 'Authorization: Bearer <token>'")


PlatformDep = Depends(platform_service)


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pdq: Annotated[list[Annotated[str, Field(pattern=HEX64)]], Field(max_length=MAX_QUERIES)] = []
    md5: Annotated[list[Annotated[str, Field(pattern=HEX32)]], Field(max_length=MAX_QUERIES)] = []
    sha256: Annotated[list[Annotated[str, Field(pattern=HEX64)]], Field(max_length=MAX_QUERIES)] = []


class MatchOut(BaseModel):
    results: list[dict[str, Any]]
    verdict: str
    """``block`` (an auto_remove or report_ncmec bank matched), ``review`` or ``allow``."""
    hashes: dict[str, Any] | None = None
    classifier_scores: dict[str, float] | None = None


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[ContentItem], Field(min_length=1, max_length=MAX_ITEMS)]


def verdict(matches: list[HashMatch], *, trustworthy: bool = True) -> str:
    action = strongest(matches)
    if action in (BankAction.AUTO_REMOVE, BankAction.REPORT_NCMEC) and trustworthy:
        return "block"
    if action in (BankAction.AUTO_REMOVE, BankAction.REPORT_NCMEC, BankAction.REVIEW):
        return "review"
    return "allow"


def _result(query: str, hash_type: HashType, matches: list[HashMatch]) -> dict[str, Any]:
    return {"query": query, "type": hash_type.value, "matches": [m.as_dict() for m in matches]}


@router.post(
    "/match",
    response_model=MatchOut,
    summary="Match hashes or an image against the banks (upload time)",
    dependencies=[PlatformDep],
    responses=problems(
        401,
        413,
        422,
        s401="No valid platform service token",
        s413="The image is too large",
        s422="A malformed hash, or a file that is not an image",
        success={"description": "Every query with its matches; the verdict for the upload"},
    ),
)
async def match(request: Request, container: ContainerDep) -> Response:
    """JSON ``{"pdq": [...], "md5": [...], "sha256": [...]}``, or multipart with an image in ``file``."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=2) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("send the image in the multipart field 'file'", field="file")
            data = await upload.read()
        answer = await run_in_threadpool(_match_image, container, data)  # hashing is CPU work
    else:
        try:
            body = MatchIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise InvalidInput(describe(exc), field="body") from None
        if not (body.pdq or body.md5 or body.sha256):
            raise InvalidInput("send at least one hash in pdq, md5 or sha256", field="body")
        answer = _match_hashes(container, body)
    # the answer is built from typed parts already: skip FastAPI's second validation on the hot path
    return Response(answer.model_dump_json(exclude_none=True), media_type="application/json")


def _match_hashes(container: Any, body: MatchIn) -> MatchOut:
    matcher = container.matcher.get()
    results = []
    everything: list[HashMatch] = []
    pdq = [q.lower() for q in body.pdq]
    for query, matches in zip(pdq, matcher.match_pdq(pdq), strict=True):
        results.append(_result(query, HashType.PDQ, matches))
        everything.extend(matches)
    for hash_type, values in ((HashType.MD5, body.md5), (HashType.SHA256, body.sha256)):
        for value in values:
            found = matcher.match_digest(hash_type, value)
            results.append(_result(value.lower(), hash_type, found))
            everything.extend(found)
    return MatchOut(results=results, verdict=verdict(everything))


def _match_image(container: Any, data: bytes) -> MatchOut:
    hashes = hash_image(data)
    matcher = container.matcher.get()
    results = []
    everything: list[HashMatch] = []
    pdq_matches = matcher.match_variants(list(hashes.dihedral))
    results.append(_result(hashes.pdq, HashType.PDQ, pdq_matches))
    everything.extend(pdq_matches)
    for hash_type, value in ((HashType.MD5, hashes.md5), (HashType.SHA256, hashes.sha256)):
        found = matcher.match_digest(hash_type, value)
        results.append(_result(value, hash_type, found))
        everything.extend(found)
    scores: dict[str, float] = {}
    for classifier in container.classifiers:
        for score in classifier.classify(data):
            scores[score.label] = max(scores.get(score.label, 0.0), round(score.score, 4))
    exact = any(m.hash_type is not HashType.PDQ for m in everything)
    return MatchOut(
        results=results,
        verdict=verdict(everything, trustworthy=hashes.trustworthy or exact),
        hashes={"md5": hashes.md5, "sha256": hashes.sha256, "pdq": hashes.pdq, "quality": hashes.quality},
        classifier_scores=scores,
    )


@router.post(
    "/content-events",
    status_code=202,
    summary="Hand content events to the scanner",
    dependencies=[PlatformDep],
    responses=problems(400, 401, 413, 422, s401="No valid platform service token", s422="A bad item"),
)
def content_events(body: ItemsIn, container: ContainerDep) -> dict[str, int]:
    """Each item goes onto the bus (``content.item.posted``); the scanner takes it from there."""
    for item in body.items:
        container.publish_content(item)
    return {"accepted": len(body.items)}
