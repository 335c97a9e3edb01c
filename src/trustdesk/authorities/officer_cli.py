"""``trustdesk officer``: officers of agencies, their API keys and access."""

from typing import Annotated

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.cliutil import JsonFlag, emit, handles_errors, work

officer_app = typer.Typer(help="Officers of agencies and their API keys.", no_args_is_help=True)


@officer_app.command("add")
@handles_errors
def officer_add(
    authority: Annotated[str, typer.Option(help="The agency's id.")],
    name: Annotated[str, typer.Option(help="The officer's name.")],
    email: Annotated[str, typer.Option(help="Official e-mail, on one of the agency's domains.")],
    as_json: JsonFlag = False,
) -> None:
    """Add an officer and print their API key (shown this once; only its hash is stored)."""
    with work() as (c, session):
        new = authorities.add_officer(
            session, c.clock, Actor.operator(), agency_id=authority, name=name, email=email
        )
        data = {
            "id": new.officer.id,
            "email": new.officer.email,
            "agency_id": authority,
            "api_key": new.api_key,
        }
    emit(data, as_json, f"officer {data['id']}\napi_key {data['api_key']}  (shown once: store it now)")
