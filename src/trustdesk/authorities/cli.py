"""``trustdesk authority``: agencies and their verification (officers: ``officer_cli.py``)."""

from typing import Annotated, Any

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.cliutil import JsonFlag, emit, handles_errors, work
from trustdesk.vocabulary import IssuerKind

authority_app = typer.Typer(help="Agencies (authorities) that may submit requests.", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    """Attach the agency and officer commands to the root command."""
    app.add_typer(authority_app, name="authority")
    from trustdesk.authorities.officer_cli import officer_app

    app.add_typer(officer_app, name="officer")


@authority_app.command("add")
@handles_errors
def authority_add(
    name: Annotated[str, typer.Option(help="Official name of the agency.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")],
    kind: Annotated[IssuerKind, typer.Option(help="Kind of authority.")],
    domain: Annotated[list[str], typer.Option(help="Official e-mail domain (repeat for several).")],
    as_json: JsonFlag = False,
) -> None:
    """Register an agency, unverified: verify it with `trustdesk authority verify` once a call to a number
    from an official directory has confirmed it (and again whenever its officers or key change)."""
    with work() as (c, session):
        agency = authorities.create_agency(
            session, c.clock, Actor.operator(), name=name, country=country, kind=kind, domains=domain
        )
        data = agency_dict(agency)
    emit(data, as_json, data["id"])


def agency_dict(agency: Any) -> dict[str, Any]:
    return {
        "id": agency.id,
        "name": agency.name,
        "country": agency.country,
        "kind": agency.kind.value,
        "domains": agency.domain_names,
        "verified": agency.verified,
    }


@authority_app.command("verify")
@handles_errors
def authority_verify(
    agency_id: Annotated[str, typer.Argument(help="The agency's id.")],
    number: Annotated[str | None, typer.Option(help="The number called, from an official directory.")] = None,
    directory: Annotated[str | None, typer.Option(help="Where the number comes from.")] = None,
    person: Annotated[str | None, typer.Option(help="Who confirmed, and their role.")] = None,
    note: Annotated[str | None, typer.Option(help="What the call established.")] = None,
    revoke: Annotated[
        str | None, typer.Option("--revoke", help="Withdraw the verification, saying why.")
    ] = None,
) -> None:
    """Verify an agency on a recorded out-of-band check (or withdraw it): only verified agencies' officers
    can submit and read."""
    with work() as (c, session):
        if revoke is not None:
            agency = authorities.unverify_agency(session, c.clock, Actor.operator(), agency_id, revoke)
        else:
            check = authorities.AgencyCheck(
                number=number or "", directory=directory or "", person_reached=person or "", note=note or ""
            )
            agency = authorities.verify_agency(session, c.clock, Actor.operator(), agency_id, check)
        typer.echo(f"{agency.name}: {'verified' if agency.verified else 'not verified'}")


@authority_app.command("list")
@handles_errors
def authority_list(as_json: JsonFlag = False) -> None:
    """List agencies."""
    with work() as (_, session):
        rows = [agency_dict(a) for a in authorities.list_agencies(session)]
    text = (
        "\n".join(
            f"{r['id']}  {r['country']}  {r['kind']:<19} {'verified  ' if r['verified'] else 'unverified'} "
            f"{r['name']}  ({', '.join(r['domains'])})"
            for r in rows
        )
        or "no agencies"
    )
    emit(rows, as_json, text)


@authority_app.command("recipient")
@handles_errors
def authority_recipient(
    agency_id: Annotated[str, typer.Argument(help="The agency's id.")],
    recipient: Annotated[str, typer.Argument(help="The agency's age X25519 recipient (age1...).")],
) -> None:
    """Register the agency's age recipient: productions are encrypted to it."""
    with work() as (c, session):
        agency = authorities.set_recipient(session, c.clock, Actor.operator(), agency_id, recipient)
        typer.echo(f"{agency.name}: productions are encrypted to {agency.age_recipient}")
