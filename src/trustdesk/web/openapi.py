"""The error responses a JSON route documents in its OpenAPI schema: RFC 9457 problem details.

Every error of the API is ``application/problem+json`` (see ``web/problems.py``); a route lists the
statuses it really returns, so that clients (and the fuzz run in tests/fuzz/) can rely on the schema.
"""

from typing import Any

from trustdesk.web.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:trustdesk:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "A stable, machine-readable code"},
        "field": {"type": "string", "description": "The field at fault, when there is one"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

DESCRIPTIONS = {
    400: "A body that cannot be parsed (not JSON, or broken multipart form data)",
    401: "No valid credentials (a missing, unknown, expired or revoked key or token)",
    403: "The credentials are valid but do not allow this",
    404: "Not found, or not visible to the caller",
    409: "Not possible in the current state",
    413: "The body is larger than the limit (payload_too_large)",
    422: "Invalid input: the problem names the field at fault",
    429: "Too many requests (see Retry-After)",
}


def problems(
    *statuses: int, success: dict[str, Any] | None = None, **descriptions: str
) -> dict[int | str, dict[str, Any]]:
    """``responses=problems(401, 404, 422)``: the route's error statuses, each a problem document.

    ``s403="The link expired"`` words one status for the route; ``success`` documents the route's own
    200 response (a file's content type, say) beside them.
    """
    documented: dict[int | str, dict[str, Any]] = {200: success} if success is not None else {}
    for status in statuses:
        documented[status] = {
            "description": descriptions.get(f"s{status}", DESCRIPTIONS[status]),
            "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
    return documented
