"""Problem details (RFC 9457) for every error: a stable code, the field at fault, never a stack trace."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from trustdesk.errors import DomainError
from trustdesk.platform.protocol import PlatformError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:trustdesk:problem:{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """``("body", "targets", 0, "value")`` -> ``targets[0].value``."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


async def _login_required(_: Request, exc: Exception) -> Response:
    from trustdesk.web.browser import LoginRequired, login_redirect

    assert isinstance(exc, LoginRequired)
    return login_redirect(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": field_path(err["loc"]), "message": str(err["msg"]).removeprefix("Value error, ")}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    return problem(
        422, "invalid_input", f"{first['field']}: {first['message']}", field=first["field"], errors=errors
    )


BROWSER_PREFIXES = ("/portal", "/console", "/contact", "/notice", "/appeal", "/transparency")


def for_browser(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path.startswith(BROWSER_PREFIXES)


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if for_browser(request):
        from trustdesk.web.browser import error_page

        return error_page(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(exc.status, exc.code, exc.message, field=exc.field, headers=headers)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if for_browser(request):
        from trustdesk.web.browser import error_page

        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        error = DomainError(str(exc.detail), code=code)
        error.status = exc.status_code
        return error_page(request, error)
    codes = {
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
    }
    return problem(
        exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers=exc.headers
    )


async def _platform(request: Request, exc: Exception) -> Response:
    log.error("the messaging platform failed", exc_info=exc)
    error = DomainError(f"the messaging platform could not do this: {exc}", code="platform_error")
    error.status = 502
    return await _domain(request, error)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return problem(500, "internal_error", "an unexpected error occurred; nothing was changed")


def install(app: FastAPI) -> None:
    from trustdesk.web.browser import LoginRequired

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(PlatformError, _platform)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
