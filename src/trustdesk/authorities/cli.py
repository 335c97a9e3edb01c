"""``trustdesk authority``: agencies and their verification (officers: ``officer_cli.py``)."""

from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import keys
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


# --- signing keys (RFC 9421) and supervisors: each change lapses the verification ------------------------

key_app = typer.Typer(
    help="The agency's Ed25519 keys for signed API requests (RFC 9421).", no_args_is_help=True
)
supervisor_app = typer.Typer(
    help="The agency's supervisors, called back on numbers from an official directory.", no_args_is_help=True
)
authority_app.add_typer(key_app, name="key")
authority_app.add_typer(supervisor_app, name="supervisor")


def key_dict(key: Any) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "agency_id": key.agency_id,
        "public_key": key.public_key,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def supervisor_dict(supervisor: Any) -> dict[str, Any]:
    return {
        "id": supervisor.id,
        "agency_id": supervisor.agency_id,
        "name": supervisor.name,
        "title": supervisor.title,
        "phone": supervisor.phone,
        "directory": supervisor.directory,
        "created_at": supervisor.created_at.isoformat(),
        "removed_at": supervisor.removed_at.isoformat() if supervisor.removed_at else None,
    }


def _key_text(value: str) -> str:
    """The key itself, or the contents of the file it names (a PEM file, say)."""
    path = Path(value).expanduser()
    if len(value) < 4096 and "\n" not in value and path.is_file():
        return path.read_text(encoding="ascii", errors="replace")
    return value


@key_app.command("add")
@handles_errors
def key_add(
    agency_id: Annotated[str, typer.Argument(help="The agency's id.")],
    key_id: Annotated[str, typer.Option("--key-id", help="The keyid the agency signs with.")],
    public_key: Annotated[
        str, typer.Option("--public-key", help="A PEM file, or the key (PEM or raw base64url).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Register a signing key the agency sent out of band: its signed requests count as signed. The
    agency's verification lapses: verify it again (`trustdesk authority verify`)."""
    with work() as (c, session):
        key = keys.register_key(session, c.clock, Actor.operator(), agency_id, key_id, _key_text(public_key))
        data = key_dict(key)
    emit(data, as_json, f"{data['key_id']} registered; verify the agency again")


@key_app.command("list")
@handles_errors
def key_list(
    agency_id: Annotated[str, typer.Argument(help="The agency's id.")], as_json: JsonFlag = False
) -> None:
    """List the agency's signing keys, revoked ones included."""
    with work() as (_, session):
        rows = [key_dict(k) for k in keys.list_keys(session, agency_id)]
    text = (
        "\n".join(
            f"{r['key_id']}  {r['public_key']}  added {r['created_at'][:16]}"
            + (f"  REVOKED {r['revoked_at'][:16]}" if r["revoked_at"] else "")
            for r in rows
        )
        or "no signing keys"
    )
    emit(rows, as_json, text)


@key_app.command("revoke")
@handles_errors
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (keyid).")],
    reason: Annotated[str, typer.Option(help="Why the key is revoked.")],
) -> None:
    """Revoke a signing key: requests signed with it are refused (401) from now on."""
    with work() as (c, session):
        key = keys.revoke_key(session, c.clock, Actor.operator(), key_id, reason)
        typer.echo(f"{key.key_id} revoked; verify the agency again")


@supervisor_app.command("add")
@handles_errors
def supervisor_add(
    agency_id: Annotated[str, typer.Argument(help="The agency's id.")],
    name: Annotated[str, typer.Option(help="The supervisor's name.")],
    title: Annotated[str, typer.Option(help="Their rank or function.")],
    phone: Annotated[str, typer.Option(help="Their number, from an official directory.")],
    directory: Annotated[str, typer.Option(help="The official directory the number comes from.")],
    as_json: JsonFlag = False,
) -> None:
    """Add a supervisor to call back on a directory number. The agency's verification lapses."""
    with work() as (c, session):
        supervisor = keys.add_supervisor(
            session, c.clock, Actor.operator(), agency_id,
            name=name, title=title, phone=phone, directory=directory,
        )  # fmt: skip
        data = supervisor_dict(supervisor)
    emit(data, as_json, data["id"])


@supervisor_app.command("list")
@handles_errors
def supervisor_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's (its id).")] = None,
    removed: Annotated[bool, typer.Option("--removed", help="Include removed supervisors.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List supervisors, by agency."""
    with work() as (_, session):
        rows = [supervisor_dict(s) for s in keys.list_supervisors(session, agency, include_removed=removed)]
    text = (
        "\n".join(
            f"{r['id']}  {r['agency_id']}  {r['name']} ({r['title']})  {r['phone']}  [{r['directory']}]"
            + ("  REMOVED" if r["removed_at"] else "")
            for r in rows
        )
        or "no supervisors"
    )
    emit(rows, as_json, text)


@supervisor_app.command("remove")
@handles_errors
def supervisor_remove(supervisor_id: Annotated[str, typer.Argument(help="The supervisor's id.")]) -> None:
    """Remove a supervisor. The agency's verification lapses."""
    with work() as (c, session):
        supervisor = keys.remove_supervisor(session, c.clock, Actor.operator(), supervisor_id)
        typer.echo(f"{supervisor.name} removed; verify the agency again")
