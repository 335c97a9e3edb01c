"""``trustdesk user``: staff users, their roles and API tokens."""

from typing import Annotated

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.cliutil import JsonFlag, emit, handles_errors, work
from trustdesk.staff import service as staff

user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    """Attach the staff commands to the root command."""
    app.add_typer(user_app, name="user")


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
    """Add a staff user; prints a generated password once."""
    with work() as (c, session):
        new = staff.add_user(session, c.clock, Actor.operator(), email=email, roles=list(role), name=name)
        data = {
            "id": new.user.id,
            "email": new.user.email,
            "roles": sorted(r.value for r in new.user.roles),
            "password": new.password,
        }
    emit(data, as_json, f"staff user {data['id']}\npassword {data['password']}  (shown once)")


@user_app.command("token")
@handles_errors
def user_token(
    email: Annotated[str, typer.Option(help="The staff user's e-mail.")], as_json: JsonFlag = False
) -> None:
    """Issue a staff API token (shown once)."""
    with work() as (c, session):
        user = staff.acting_user(session, email)
        token = staff.issue_token(session, c.clock, Actor.operator(), user)
    emit({"email": email, "token": token}, as_json, f"token {token}  (shown once)")
