"""``trustdesk user`` and ``trustdesk session``: staff users, their roles, API tokens, sessions and
enrolment links."""

from typing import Annotated, Any

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.auth import enrolment
from trustdesk.auth import service as auth
from trustdesk.auth.models import WebSession
from trustdesk.auth.service import Face
from trustdesk.cliutil import JsonFlag, emit, handles_errors, work
from trustdesk.config import public_url
from trustdesk.safety import cases
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffToken

user_app = typer.Typer(help="Staff users, their roles, tokens and sessions.", no_args_is_help=True)
session_app = typer.Typer(help="Browser sessions of the portal and the console.", no_args_is_help=True)

Reason = Annotated[str, typer.Option(help="Why (kept in the audit log).")]


def mount(app: typer.Typer) -> None:
    """Attach the staff commands (and the session command, which serves officers too) to the root."""
    app.add_typer(user_app, name="user")
    app.add_typer(session_app, name="session")


def enrolment_text(url: str) -> str:
    return (
        f"enrolment link {url}\n  (shown once, valid {int(enrolment.LIFETIME.total_seconds() // 3600)} h, "
        "single use: there the account chooses its password and enrols its authenticator app)"
    )


@user_app.command("add")
@handles_errors
def user_add(
    email: Annotated[str, typer.Option(help="The staff member's e-mail.")],
    role: Annotated[
        list[str], typer.Option(help="admin, legal_reviewer, legal_approver or moderator (repeatable).")
    ],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a staff user; prints a one-time enrolment link (no password is ever shown)."""
    with work() as (c, session):
        new = staff.add_user(session, c.clock, Actor.operator(), email=email, roles=list(role), name=name)
        token = enrolment.issue(session, c.clock, Actor.operator(), new.user)
        url = enrolment.link(public_url(c.settings), token)
        data = {
            "id": new.user.id,
            "email": new.user.email,
            "roles": sorted(r.value for r in new.user.roles),
            "enrolment_url": url,
        }
    emit(data, as_json, f"staff user {data['id']}\n{enrolment_text(url)}")


@user_app.command("enrol")
@handles_errors
def user_enrol(
    email: Annotated[str, typer.Argument(help="The staff user's e-mail.")], as_json: JsonFlag = False
) -> None:
    """A fresh enrolment link (earlier unused ones stop working; existing credentials are replaced only
    when the link is used)."""
    with work() as (c, session):
        user = staff.get_user(session, email)
        token = enrolment.issue(session, c.clock, Actor.operator(), user)
        data = {"email": user.email, "enrolment_url": enrolment.link(public_url(c.settings), token)}
    emit(data, as_json, enrolment_text(data["enrolment_url"]))


@user_app.command("token")
@handles_errors
def user_token(
    email: Annotated[str, typer.Option(help="The staff user's e-mail.")],
    scope: Annotated[
        list[str],
        typer.Option(help="A permission the token may use (repeatable), or `all`: every one of the user's."),
    ],
    days: Annotated[
        int, typer.Option(help=f"Lifetime in days (at most {staff.MAX_TOKEN_DAYS}).")
    ] = staff.DEFAULT_TOKEN_DAYS,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Issue a staff API token (shown once) with an explicit scope and an expiry."""
    with work() as (c, session):
        user = staff.acting_user(session, email)
        record, token = staff.new_token(
            session, c.clock, Actor.operator(), user, scope=" ".join(scope), days=days, label=label
        )
        data = {"email": user.email, "token": token, **token_row(record)}
    emit(
        data,
        as_json,
        f"token {token}  (shown once)\nid {data['id']}  scope {data['scope']}  expires {data['expires_at']}",
    )


def token_row(token: StaffToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "label": token.label,
        "scope": token.scope,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@user_app.command("tokens")
@handles_errors
def user_tokens(
    email: Annotated[str, typer.Option(help="The staff user's e-mail.")], as_json: JsonFlag = False
) -> None:
    """A staff user's API tokens: id, label, scope, created, expires, revoked (never the token itself)."""
    with work() as (_, session):
        rows = [token_row(t) for t in staff.list_tokens(session, staff.get_user(session, email))]
    lines = [
        f"{r['id']}  {r['label'] or '-'}  scope {r['scope']}  created {r['created_at']}  "
        f"expires {r['expires_at']}  " + (f"revoked {r['revoked_at']}" if r["revoked_at"] else "live")
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no tokens")


@user_app.command("revoke-token")
@handles_errors
def user_revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `user tokens`).")], reason: Reason
) -> None:
    """Revoke one staff API token: its next call gets 401."""
    with work() as (c, session):
        token = staff.revoke_token(session, c.clock, Actor.operator(), token_id, reason)
        text = f"token {token.id} of {token.user.email} revoked"
    typer.echo(text)


@user_app.command("deactivate")
@handles_errors
def user_deactivate(
    email: Annotated[str, typer.Argument(help="The staff user's e-mail.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """Deactivate a staff user: every token revoked, every session ended, unused enrolment links voided,
    their case claims released, at once."""
    with work() as (c, session):
        user = staff.get_user(session, email)
        revoked = staff.deactivate_user(session, c.clock, Actor.operator(), user, reason)
        cases.release_all(session, c.clock, user.id)
        data = {"email": user.email, "active": False, **revoked}
    emit(
        data,
        as_json,
        f"{user.email} deactivated: {len(revoked['tokens'])} token(s) revoked, "
        f"{len(revoked['sessions'])} session(s) ended",
    )


def session_row(found: WebSession) -> dict[str, Any]:
    return {
        "id": found.id,
        "face": found.principal_kind,
        "created_at": found.created_at.isoformat(),
        "last_seen_at": found.last_seen_at.isoformat(),
        "expires_at": found.expires_at.isoformat(),
    }


def session_lines(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['id']}  {r['face']}  since {r['created_at']}  last seen {r['last_seen_at']}" for r in rows
    )


@user_app.command("sessions")
@handles_errors
def user_sessions(
    email: Annotated[str, typer.Argument(help="The staff user's e-mail.")], as_json: JsonFlag = False
) -> None:
    """A staff user's live console sessions."""
    with work() as (c, session):
        user = staff.get_user(session, email)
        rows = [session_row(s) for s in auth.live_sessions(session, c.clock, Face.CONSOLE, user.id)]
    emit(rows, as_json, session_lines(rows) or "no live sessions")


@user_app.command("revoke-sessions")
@handles_errors
def user_revoke_sessions(
    email: Annotated[str, typer.Argument(help="The staff user's e-mail.")], reason: Reason
) -> None:
    """End every console session of a staff user (they log in again; tokens are untouched)."""
    with work() as (c, session):
        user = staff.get_user(session, email)
        ended = auth.revoke_sessions(session, c.clock, Actor.operator(), Face.CONSOLE, user.id, _why(reason))
        cases.release_all(session, c.clock, user.id)
    typer.echo(f"{len(ended)} session(s) of {user.email} ended")


def _why(reason: str) -> str:
    return auth.reason_given(reason)


@session_app.command("revoke")
@handles_errors
def session_revoke(
    session_id: Annotated[
        str, typer.Argument(help="The session's id (from `user sessions` or `officer keys`).")
    ],
    reason: Reason,
) -> None:
    """End one browser session (portal or console): its cookie stops working on the next request."""
    with work() as (c, session):
        found = auth.get_session(session, session_id)
        auth.revoke_session(session, c.clock, Actor.operator(), found, _why(reason))
    typer.echo(f"session {session_id} ended")
