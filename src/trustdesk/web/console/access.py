"""The console's access pages: who can get in, and taking it away.

``/console/access`` (``staff:user:manage``) lists the staff users with their API tokens and live console
sessions, and (to those who may also manage agencies, ``staff:agency:manage``) the officers with their API
keys and live portal sessions; each can be revoked, and an account deactivated (which revokes all of it at
once). ``/console/sessions`` lets every signed-in staff user see their own live sessions and end the others.
Every action is a POST form with the session's CSRF token and a reason (kept in the audit log); a refused
action shows the page again with the reason and changes nothing.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor, ActorKind
from trustdesk.auth import service as auth
from trustdesk.auth.models import WebSession
from trustdesk.auth.service import Face
from trustdesk.authorities import access as officers
from trustdesk.authorities.models import Officer
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict, DomainError, InvalidInput, NotFound
from trustdesk.safety import cases
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffToken, StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.web.browser import ConsoleVisitor, Visitor, check_csrf, page
from trustdesk.web.console.common import Csrf, Text, error_page, frame, refused
from trustdesk.web.deps import ContainerDep

router = APIRouter(prefix="/console", include_in_schema=False)

DONE = {
    "token": "Token revoked: its next call is refused.",
    "key": "API key revoked: its next call is refused.",
    "session": "Session ended: its cookie no longer works.",
    "user": "Staff user deactivated: their tokens are revoked and their sessions ended.",
    "officer": "Officer deactivated: their keys are revoked and their sessions ended.",
    "mine": "Your other sessions are ended.",
}
"""Messages after a successful action, by the ``done`` query value (never echoed from the query)."""


def _actor(visitor: Visitor) -> Actor:
    return Actor(ActorKind.STAFF, visitor.principal.id)


def _token_state(token: StaffToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if now >= token.expires_at else "live"


def _session_row(found: WebSession, current: str | None = None) -> dict[str, Any]:
    return {
        "id": found.id,
        "created_at": found.created_at,
        "last_seen_at": found.last_seen_at,
        "expires_at": found.expires_at,
        "current": found.id == current,
    }


def access_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
    target: str | None = None,
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        now = container.clock()
        users = [
            {
                "user": user,
                "roles": sorted(r.value for r in user.roles),
                "tokens": [
                    {"token": t, "state": _token_state(t, now)} for t in staff.list_tokens(session, user)
                ],
                "sessions": [
                    _session_row(s, visitor.session_id)
                    for s in auth.live_sessions(session, container.clock, Face.CONSOLE, user.id)
                ],
            }
            for user in staff.list_users(session)
        ]
        may_officers = visitor.principal.can(Permission.STAFF_AGENCY_MANAGE)
        officer_rows = (
            [
                {
                    "officer": officer,
                    "api_keys": officers.keys_of(session, officer),
                    "sessions": [
                        _session_row(s)
                        for s in auth.live_sessions(session, container.clock, Face.PORTAL, officer.id)
                    ],
                }
                for officer in officers.list_officers(session)
            ]
            if may_officers
            else []
        )
        return page(
            request,
            "console/access.html",
            frame(
                visitor,
                "access",
                users=users,
                officers=officer_rows,
                may_officers=may_officers,
                flash=flash,
                error=error,
                target=target,
            ),
            status_code=error.status if error else 200,
        )


def _change(
    request: Request,
    container: Container,
    visitor: Visitor,
    change: Callable[[Session], object],
    *,
    done: str,
    target: str,
) -> Response:
    try:
        with unit_of_work(container.sessions) as session:
            change(session)
    except DomainError as exc:
        return access_page(request, container, visitor, error=exc, target=target)
    return RedirectResponse(f"/console/access?done={done}", status_code=303)


@router.get("/access")
def access(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    if (stop := refused(request, visitor, Permission.STAFF_USER_MANAGE, post=False)) is not None:
        return stop
    return access_page(request, container, visitor, flash=DONE.get(done or ""))


@router.post("/access/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    token_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_USER_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        return staff.revoke_token(session, container.clock, _actor(visitor), token_id, reason)

    return _change(request, container, visitor, change, done="token", target=token_id)


@router.post("/access/users/{user_id}/deactivate")
def deactivate_user(
    request: Request,
    user_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_USER_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound(f"no staff user {user_id}", code="staff_user_not_found")
        if user.id == visitor.principal.id:
            raise Conflict(
                "you cannot deactivate yourself: ask another administrator", code="self_deactivation"
            )
        revoked = staff.deactivate_user(session, container.clock, _actor(visitor), user, reason)
        cases.release_all(session, container.clock, user.id)
        return revoked

    return _change(request, container, visitor, change, done="user", target=user_id)


@router.post("/access/sessions/{session_id}/revoke")
def revoke_staff_session(
    request: Request,
    session_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_USER_MANAGE, csrf_token, post=True)) is not None:
        return stop
    return _revoke_session(request, container, visitor, session_id, reason, Face.CONSOLE)


@router.post("/access/officer-sessions/{portal_session_id}/revoke")
def revoke_officer_session(
    request: Request,
    portal_session_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop
    return _revoke_session(request, container, visitor, portal_session_id, reason, Face.PORTAL)


def _revoke_session(
    request: Request, container: Container, visitor: Visitor, session_id: str, reason: str, face: Face
) -> Response:
    def change(session: Session) -> object:
        found = auth.get_session(session, session_id)
        if found.principal_kind != face.value:
            raise NotFound(f"no {face.value} session {session_id}", code="session_not_found")
        why = auth.reason_given(reason)
        return auth.revoke_session(session, container.clock, _actor(visitor), found, why)

    return _change(request, container, visitor, change, done="session", target=session_id)


@router.post("/access/keys/{key_id}/revoke")
def revoke_key(
    request: Request,
    key_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        return officers.revoke_key(session, container.clock, _actor(visitor), key_id, reason)

    return _change(request, container, visitor, change, done="key", target=key_id)


@router.post("/access/officers/{officer_id}/deactivate")
def deactivate_officer(
    request: Request,
    officer_id: str,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    reason: Text = "",
) -> Response:
    if (stop := refused(request, visitor, Permission.STAFF_AGENCY_MANAGE, csrf_token, post=True)) is not None:
        return stop

    def change(session: Session) -> object:
        officer = session.get(Officer, officer_id)
        if officer is None:
            raise NotFound(f"no officer {officer_id}", code="officer_not_found")
        return officers.deactivate(session, container.clock, _actor(visitor), officer, reason)

    return _change(request, container, visitor, change, done="officer", target=officer_id)


# --- one's own sessions ---------------------------------------------------------------------------------


def sessions_page(
    request: Request,
    container: Container,
    visitor: Visitor,
    *,
    flash: str | None = None,
    error: DomainError | None = None,
) -> HTMLResponse:
    with unit_of_work(container.sessions) as session:
        rows = [
            _session_row(s, visitor.session_id)
            for s in auth.live_sessions(session, container.clock, Face.CONSOLE, visitor.principal.id)
        ]
    return page(
        request,
        "console/sessions.html",
        frame(visitor, "sessions", sessions=rows, flash=flash, error=error),
        status_code=error.status if error else 200,
    )


@router.get("/sessions")
def my_sessions(
    request: Request, container: ContainerDep, visitor: ConsoleVisitor, done: str | None = None
) -> HTMLResponse:
    return sessions_page(request, container, visitor, flash=DONE.get(done or ""))


@router.post("/sessions/revoke")
def end_my_sessions(
    request: Request,
    container: ContainerDep,
    visitor: ConsoleVisitor,
    csrf_token: Csrf = None,
    session_id: Text = "",
) -> Response:
    """End one of one's own other sessions (``session_id``), or all of them (``others``)."""
    if (stop := refused_csrf(request, visitor, csrf_token)) is not None:
        return stop
    try:
        with unit_of_work(container.sessions) as session:
            mine = auth.live_sessions(session, container.clock, Face.CONSOLE, visitor.principal.id)
            others = [s for s in mine if s.id != visitor.session_id]
            if session_id == "others":
                chosen = others
            elif not session_id:
                raise InvalidInput("choose a session to end", field="session_id")
            else:
                chosen = [s for s in others if s.id == session_id]
                if not chosen:
                    raise NotFound(
                        "no other live session of yours has this id (use Log out to end this one)",
                        code="session_not_found",
                    )
            actor = _actor(visitor)
            for found in chosen:
                auth.revoke_session(session, container.clock, actor, found, "ended by its owner")
    except DomainError as exc:
        return sessions_page(request, container, visitor, error=exc)
    return RedirectResponse("/console/sessions?done=mine", status_code=303)


def refused_csrf(request: Request, visitor: Visitor, csrf_token: object) -> HTMLResponse | None:
    """The error page when the form did not come from this session (any signed-in user may end their own
    sessions: no permission is needed)."""
    try:
        check_csrf(visitor, csrf_token)
    except DomainError as exc:
        return error_page(request, visitor, exc)
    return None
