"""``trustdesk officer``: officers of agencies, their API keys, sessions and enrolment links."""

from typing import Annotated, Any

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.auth import enrolment
from trustdesk.auth import service as auth
from trustdesk.auth.service import Face
from trustdesk.authorities import access
from trustdesk.authorities import service as authorities
from trustdesk.authorities.models import ApiKey
from trustdesk.cliutil import JsonFlag, emit, handles_errors, work
from trustdesk.config import public_url
from trustdesk.staff.cli import Reason, enrolment_text, session_lines, session_row

officer_app = typer.Typer(help="Officers of agencies, their API keys and access.", no_args_is_help=True)
Who = Annotated[str, typer.Argument(help="The officer's id or e-mail.")]


@officer_app.command("add")
@handles_errors
def officer_add(
    authority: Annotated[str, typer.Option(help="The agency's id.")],
    name: Annotated[str, typer.Option(help="The officer's name.")],
    email: Annotated[str, typer.Option(help="Official e-mail, on one of the agency's domains.")],
    as_json: JsonFlag = False,
) -> None:
    """Add an officer; prints their API key (shown this once; only its hash is stored) and a one-time
    enrolment link for the portal (password and authenticator chosen by the officer)."""
    with work() as (c, session):
        new = authorities.add_officer(
            session, c.clock, Actor.operator(), agency_id=authority, name=name, email=email
        )
        token = enrolment.issue(session, c.clock, Actor.operator(), new.officer)
        data = {
            "id": new.officer.id,
            "email": new.officer.email,
            "agency_id": authority,
            "api_key": new.api_key,
            "enrolment_url": enrolment.link(public_url(c.settings), token),
        }
    emit(
        data,
        as_json,
        f"officer {data['id']}\napi_key {data['api_key']}  (shown once: store it now)\n"
        + enrolment_text(data["enrolment_url"]),
    )


@officer_app.command("enrol")
@handles_errors
def officer_enrol(officer: Who, as_json: JsonFlag = False) -> None:
    """A fresh portal enrolment link (earlier unused ones stop working; existing credentials are replaced
    only when the link is used)."""
    with work() as (c, session):
        found = access.get_officer(session, officer)
        token = enrolment.issue(session, c.clock, Actor.operator(), found)
        data = {"email": found.email, "enrolment_url": enrolment.link(public_url(c.settings), token)}
    emit(data, as_json, enrolment_text(data["enrolment_url"]))


def key_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@officer_app.command("keys")
@handles_errors
def officer_keys(officer: Who, as_json: JsonFlag = False) -> None:
    """An officer's API keys (never the keys themselves) and live portal sessions."""
    with work() as (c, session):
        found = access.get_officer(session, officer)
        key_rows = [key_row(k) for k in access.keys_of(session, found)]
        session_rows = [session_row(s) for s in auth.live_sessions(session, c.clock, Face.PORTAL, found.id)]
        active = found.active
        data = {
            "id": found.id,
            "email": found.email,
            "active": active,
            "keys": key_rows,
            "sessions": session_rows,
        }
    keys = "\n".join(
        f"key {k['id']}  created {k['created_at']}  "
        + (f"revoked {k['revoked_at']}" if k["revoked_at"] else "live")
        for k in key_rows
    )
    sessions = session_lines(session_rows)
    state = "active" if active else "deactivated"
    emit(
        data,
        as_json,
        f"{data['email']} ({state})\n{keys or 'no keys'}\n"
        + (f"sessions:\n{sessions}" if sessions else "no live sessions"),
    )


@officer_app.command("issue-key")
@handles_errors
def officer_issue_key(officer: Who, as_json: JsonFlag = False) -> None:
    """Issue another API key (shown once); the officer's other keys stay valid until revoked."""
    with work() as (c, session):
        key, plaintext = access.issue_key(
            session, c.clock, Actor.operator(), access.get_officer(session, officer)
        )
        data = {"id": key.id, "officer_id": key.officer_id, "api_key": plaintext}
    emit(data, as_json, f"key {data['id']}\napi_key {plaintext}  (shown once: store it now)")


@officer_app.command("revoke-key")
@handles_errors
def officer_revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `officer keys`).")], reason: Reason
) -> None:
    """Revoke one API key: its next call gets 401."""
    with work() as (c, session):
        key = access.revoke_key(session, c.clock, Actor.operator(), key_id, reason)
        text = f"key {key.id} of {key.officer.email} revoked"
    typer.echo(text)


@officer_app.command("revoke-sessions")
@handles_errors
def officer_revoke_sessions(officer: Who, reason: Reason) -> None:
    """End every portal session of an officer (their API keys are untouched)."""
    with work() as (c, session):
        found = access.get_officer(session, officer)
        why = auth.reason_given(reason)
        ended = auth.revoke_sessions(session, c.clock, Actor.operator(), Face.PORTAL, found.id, why)
    typer.echo(f"{len(ended)} session(s) of {found.email} ended")


@officer_app.command("deactivate")
@handles_errors
def officer_deactivate(officer: Who, reason: Reason, as_json: JsonFlag = False) -> None:
    """Deactivate an officer: every API key revoked, every portal session ended and unused enrolment links
    voided, at once."""
    with work() as (c, session):
        found = access.get_officer(session, officer)
        revoked = access.deactivate(session, c.clock, Actor.operator(), found, reason)
        data = {"email": found.email, "active": False, **revoked}
    emit(
        data,
        as_json,
        f"{data['email']} deactivated: {len(revoked['api_keys'])} key(s) revoked, "
        f"{len(revoked['sessions'])} session(s) ended",
    )
