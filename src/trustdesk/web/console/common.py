"""What every console page shares: the formatting helpers, the frame, refusals and the flash messages."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from trustdesk.errors import DomainError, Forbidden, InvalidInput
from trustdesk.lawful.package import PackageError
from trustdesk.platform.protocol import PlatformError
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import Visitor, check_csrf, page

QUEUE_LIMIT = 500
FIGURE_WINDOW = timedelta(days=90)
MAX_TEXT = 2000  # justification, approval note (as the staff API)
MAX_MESSAGE = 20_000  # clarification question, answer (as the correspondence)

DONE = {
    "decided": "Decision recorded.",
    "approved": "Approved: the disclosure can now be executed.",
    "rejected": "Sent back to review, with your note.",
    "clarify": "Question sent to the authority.",
    "executed": "Executed through the platform.",
    "answered": "Answer sent to the authority.",
    "closed": "File closed.",
    "verified": "The agency is verified: its officers' requests are accepted.",
    "unverified": "The agency is no longer verified: its officers' requests are refused.",
    "recipient": "Age recipient registered: productions are encrypted to it.",
    "added": "Agency added.",
    "callback": "Callback recorded.",
    "recorded": "Recorded from the mailroom as a lawful request.",
    "mail_attached": "The message was attached to the file as a message from the authority.",
}
"""Messages after a successful action, by the ``done`` query value (never echoed from the query)."""

Csrf = Annotated[str | None, Form()]
Text = Annotated[str, Form()]


# --- formatting ---------------------------------------------------------------------------------------


def when(value: datetime | str | None) -> str:
    """A timestamp as people read it, in UTC (the footer says so)."""
    if value is None or value == "":
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | str | None) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return value.astimezone(UTC).isoformat()


def span(seconds: float | None) -> str:
    """A duration, to the precision that matters for it: ``0 s``, ``12 min``, ``3 h 20 min``, ``2 d 4 h``."""
    if seconds is None:
        return "—"
    total = round(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    elif minutes:
        text = f"{minutes} min"
    else:
        text = f"{secs} s"
    return f"-{text}" if seconds < 0 else text


def time_left(seconds: int | None) -> str:
    """What a countdown says before the script makes it live: the words of app.js (``2d 3h 05m left``)."""
    if seconds is None:
        return "clock paused"
    days, rest = divmod(abs(seconds), 86_400)
    hours, minutes = rest // 3_600, rest % 3_600 // 60
    text = (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"
    return f"overdue by {text}" if seconds < 0 else f"{text} left"


def label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def deadline_word(configurable: bool) -> str:
    """What ``due_at`` is, in words: the law's own deadline, or where the law only says "without undue
    delay" (a ``configurable`` deadline in the catalogue) the platform's own target for it."""
    if configurable:
        return "platform deadline (the law says \u201cwithout undue delay\u201d)"
    return "legal deadline"


HELPERS: dict[str, Callable[..., str]] = {
    "deadline_word": deadline_word,
    "when": when,
    "iso": iso,
    "span": span,
    "label": label,
}


# --- the frame every console page shares ---------------------------------------------------------------


def frame(visitor: Visitor, section: str, **context: Any) -> dict[str, Any]:
    return {
        "visitor": visitor,
        "face": "console",
        "section": section,
        "may_read": visitor.principal.can(Permission.STAFF_REQUEST_READ),
        "may_manage_agencies": visitor.principal.can(Permission.STAFF_AGENCY_MANAGE),
        **HELPERS,
        **context,
    }


def error_page(request: Request, visitor: Visitor, exc: DomainError) -> HTMLResponse:
    return page(request, "console/error.html", frame(visitor, "", error=exc), status_code=exc.status)


def refused(
    request: Request, visitor: Visitor, permission: Permission, csrf_token: object = None, *, post: bool
) -> HTMLResponse | None:
    """The error page when the form did not come from this session or the role lacks the permission."""
    try:
        if post:
            check_csrf(visitor, csrf_token)
        visitor.require(permission)
    except Forbidden as exc:
        return error_page(request, visitor, exc)
    return None


def flash_for(done: str | None) -> str | None:
    return DONE.get(done or "")


class PlatformFailure(DomainError):
    """The platform (or the package built from its data) failed a call; shown like a refusal."""

    status = 502
    code = "platform_error"


def failure(exc: PlatformError | PackageError) -> PlatformFailure:
    if isinstance(exc, PlatformError):
        return PlatformFailure(f"the platform could not carry out the call: {exc}")
    return PlatformFailure(f"the production package could not be built: {exc}", code="package_error")


def too_long(value: str, limit: int, field: str) -> str:
    if len(value) > limit:
        raise InvalidInput(f"{label(field)} has at most {limit:,} characters", field=field)
    return value
