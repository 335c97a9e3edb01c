"""Public pages of due process: notifying illegal content (DSA Art. 16), a notice's status, appealing a
decision (Art. 20) and an appeal's status. No login, no JavaScript needed.

The forms resist CSRF with a double-submit cookie: the form page sets a random token in a strict,
HttpOnly cookie (``td_public_csrf``) and in a hidden field; a post is refused unless both are present and
equal. A visitor has no session, so there is no session token to synchronise with (see ``browser.py``).
"""

import hmac
import secrets
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from trustdesk.app import Container
from trustdesk.auth.addresses import client_of
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, NotFound, TooManyRequests
from trustdesk.safety import appeals, notices
from trustdesk.safety.notice_routes import (
    appeal_status,
    notice_status,
    status_url,
)
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.web.browser import BadCsrf, page
from trustdesk.web.deps import ContainerDep

router = APIRouter(include_in_schema=False)

FACE: Final = "public"
CSRF_COOKIE: Final = "td_public_csrf"
FIELDS: Final = (
    "location", "category", "keyword", "reason", "notifier_name", "notifier_email", "good_faith",
)  # fmt: skip
OUTCOME_LABELS: Final[Mapping[str, str]] = {
    "actioned": "Acted upon: the content was restricted.",
    "not_actioned": "Not acted upon: the content was found not to be illegal or against our terms.",
    "manifestly_unfounded": "Not acted upon: the notice was found manifestly unfounded.",
}


def label(value: DsaCategory | DsaKeyword) -> str:
    """``STATEMENT_CATEGORY_SCAMS_AND_FRAUD`` -> ``Scams and fraud``."""
    words = value.name.replace("_", " ").lower()
    return words[:1].upper() + words[1:].replace(" tc", " terms and conditions")


CATEGORIES: Final = [(c.value, label(c)) for c in DsaCategory]
KEYWORDS: Final = [(k.value, label(k)) for k in DsaKeyword]
ANONYMOUS: Final = [label(k) for k in DsaKeyword if k in notices.ANONYMOUS_KEYWORDS]


def _token(request: Request) -> str:
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if len(current) >= 32 else secrets.token_urlsafe(32)


def _with_cookie(response: Response, token: str, container: Container) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        secure=container.settings.cookie_secure,
        samesite="strict",
        path="/",
    )
    return response


def _check_csrf(request: Request, submitted: object) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not (isinstance(submitted, str) and cookie and hmac.compare_digest(submitted, cookie)):
        raise BadCsrf("the form expired or did not come from this site; reload the page and try again")


def _form_page(
    request: Request,
    container: Container,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    token = _token(request)
    response = page(request, template, {"face": FACE, "csrf": token, **context}, status_code=status_code)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return _with_cookie(response, token, container)


def _notice_context(
    values: Mapping[str, str], errors: Mapping[str, str], alert: str | None
) -> dict[str, Any]:
    return {
        "values": values, "errors": errors, "alert": alert, "categories": CATEGORIES, "keywords": KEYWORDS,
        "anonymous": ANONYMOUS,
    }  # fmt: skip


@router.get("/notice")
def notice_form(request: Request, container: ContainerDep) -> Response:
    return _form_page(request, container, "public/notice.html", _notice_context({}, {}, None))


def _submit(container: Container, body: notices.NoticeIn, address: str | None) -> notices.Receipt:
    with unit_of_work(container.sessions) as session:
        return notices.submit_notice(session, container.clock, container.connector, body, address=address)


@router.post("/notice")
async def notice_post(request: Request, container: ContainerDep) -> Response:
    async with request.form(max_files=0, max_fields=20) as form:
        _check_csrf(request, form.get("csrf_token"))
        values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    alert: str | None = None
    status = 422
    raw: dict[str, Any] = {k: v or None for k, v in values.items() if k != "good_faith"}
    raw["good_faith"] = values["good_faith"] == "yes"
    try:
        body = notices.NoticeIn.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "location"
            message = "fill in this field" if err["input"] is None else str(err["msg"])
            errors.setdefault(field, message.removeprefix("Value error, "))
    else:
        try:
            receipt = await run_in_threadpool(
                _submit, container, body, client_of(request, container.settings.trusted_proxies)
            )
        except TooManyRequests as exc:
            return _form_page(
                request, container, "public/notice.html", _notice_context(values, {}, exc.message),
                status_code=exc.status, headers={"Retry-After": str(exc.retry_after)},
            )  # fmt: skip
        except DomainError as exc:
            status = exc.status
            if exc.field in FIELDS:
                errors[str(exc.field)] = exc.message
            else:
                alert = exc.message
        else:
            ack = {
                "face": FACE, "ack": True, "key": receipt.key, "target_at": receipt.case.target_at,
                "status": notice_status(receipt.notice, receipt.key),
                "status_link": status_url(receipt.notice.reference, receipt.key), "outcomes": OUTCOME_LABELS,
            }  # fmt: skip
            return page(request, "public/notice_status.html", ack, status_code=201)
    return _form_page(
        request, container, "public/notice.html", _notice_context(values, errors, alert), status_code=status
    )


@router.get("/notice/{reference}")
def notice_page(
    reference: str, request: Request, container: ContainerDep, key: str = Query("", max_length=200)
) -> HTMLResponse:
    with container.sessions() as session:
        status = notice_status(notices.find_notice(session, reference, key), key)
    return page(
        request,
        "public/notice_status.html",
        {"face": FACE, "ack": False, "status": status, "outcomes": OUTCOME_LABELS},
    )


def _appeal_context(container: Container, key: str) -> dict[str, Any]:
    """What the appeal is against; refused (404 bad key, 409 nothing to appeal) before any form is shown."""
    with container.sessions() as session:
        who = appeals.appellant_of(session, key)
        closes = appeals.APPEAL_WINDOW.after(who.decision.decided_at)
        return {
            "key": key, "kind": who.kind, "decided_at": who.decision.decided_at, "closes": closes,
            "notice": who.notice.reference if who.notice else None,
        }  # fmt: skip


@router.get("/appeal")
def appeal_form(request: Request, container: ContainerDep, key: str = Query("", max_length=200)) -> Response:
    if not key:
        raise NotFound(
            "open the appeal link from your statement of reasons or your notice", code="bad_appeal_key"
        )
    context = _appeal_context(container, key)
    return _form_page(request, container, "public/appeal.html", context | {"body": "", "error": None})


def _file(container: Container, key: str, body: str) -> str:
    with unit_of_work(container.sessions) as session:
        return appeals.file_appeal(session, container.clock, key, body).reference


@router.post("/appeal")
async def appeal_post(request: Request, container: ContainerDep) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        _check_csrf(request, form.get("csrf_token"))
        key = str(form.get("key") or "").strip()[:200]
        body = str(form.get("body") or "")[: appeals.MAX_BODY + 100]
    context = await run_in_threadpool(_appeal_context, container, key)  # a bad key: refused here
    try:
        reference = await run_in_threadpool(_file, container, key, body)
    except DomainError as exc:
        if exc.field != "body":
            raise
        return _form_page(
            request, container, "public/appeal.html", context | {"body": body, "error": exc.message},
            status_code=exc.status,
        )  # fmt: skip
    return RedirectResponse(f"/appeal/{reference}?key={key}", status_code=303)


@router.get("/appeal/{reference}")
def appeal_page(
    reference: str, request: Request, container: ContainerDep, key: str = Query("", max_length=200)
) -> HTMLResponse:
    with container.sessions() as session:
        status = appeal_status(appeals.find_appeal(session, reference, key))
    return page(request, "public/appeal_status.html", {"face": FACE, "status": status})
