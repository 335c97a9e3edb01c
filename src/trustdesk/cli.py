"""The ``trustdesk`` command line: one unit of work per command, ``--json`` wherever it prints data."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.orm import Session

from trustdesk.app import Container, build_container
from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.config import SettingsError, load_settings
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError
from trustdesk.lawful import service as lawful
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.routes import request_out
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.staff import service as staff
from trustdesk.vocabulary import IssuerKind

app = typer.Typer(
    help="Trustdesk: lawful requests, content safety and transparency for a messaging platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
authority_app = typer.Typer(help="Agencies (authorities) that may submit requests.", no_args_is_help=True)
officer_app = typer.Typer(help="Officers of agencies and their API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)
request_app = typer.Typer(help="Lawful requests.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
for sub, name in [
    (db_app, "db"),
    (authority_app, "authority"),
    (officer_app, "officer"),
    (user_app, "user"),
    (request_app, "request"),
    (audit_app, "audit"),
]:
    app.add_typer(sub, name=name)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Expected failures print one clear line and exit 2; the rolled-back transaction changed nothing."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            where = f" ({exc.field})" if exc.field else ""
            raise fail(f"{exc.message}{where}") from None
        except SettingsError as exc:
            raise fail(str(exc)) from None

    return wrapper


def container() -> Container:
    return build_container(load_settings())


@contextmanager
def work() -> Iterator[tuple[Container, Session]]:
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            yield c, session
    finally:
        c.engine.dispose()


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)


@app.command()
@handles_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Serve the web app and API (OpenAPI docs at /docs)."""
    import uvicorn

    from trustdesk.web.app import create_app

    c = container()
    uvicorn.run(
        create_app(c),
        host=host or c.settings.host,
        port=port or c.settings.port,
        log_level="info",
        proxy_headers=False,
    )


@db_app.command("upgrade")
@handles_errors
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Create or migrate the database schema."""
    from trustdesk import migrations

    settings = load_settings()
    migrations.upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {migrations.current(settings.database_url)}")


@app.command()
@handles_errors
def demo(
    users: Annotated[int, typer.Option(min=1, max=1_000_000, help="Users on the reference platform.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the generated platform data.")] = 7,
    as_json: JsonFlag = False,
) -> None:
    """Load the demo agencies, officers, staff and platform data (once); print their credentials."""
    from trustdesk import demo as demo_data

    with work() as (c, session):
        loaded = demo_data.load(c, session, users=users, seed=seed)
    if as_json:
        emit(loaded.as_dict(), True, "")
    else:
        typer.echo(loaded.describe())


@authority_app.command("add")
@handles_errors
def authority_add(
    name: Annotated[str, typer.Option(help="Official name of the agency.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")],
    kind: Annotated[IssuerKind, typer.Option(help="Kind of authority.")],
    domain: Annotated[list[str], typer.Option(help="Official e-mail domain (repeat for several).")],
    unverified: Annotated[
        bool, typer.Option("--unverified", help="Record it without verifying it yet.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Register an agency; by default the operator's act of adding it verifies it."""
    with work() as (c, session):
        agency = authorities.create_agency(
            session,
            c.clock,
            Actor.operator(),
            name=name,
            country=country,
            kind=kind,
            domains=domain,
            verified=not unverified,
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
    revoke: Annotated[bool, typer.Option("--revoke", help="Withdraw the verification.")] = False,
) -> None:
    """Mark an agency verified (or withdraw it): only verified agencies' requests are accepted."""
    with work() as (c, session):
        agency = authorities.set_verified(session, c.clock, Actor.operator(), agency_id, not revoke)
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


def _time_left(request: LawfulRequest, now: datetime) -> str:
    if request.due_at is None:
        return "paused"
    seconds = int((request.due_at - now).total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 86400}d{seconds % 86400 // 3600:02d}h{seconds % 3600 // 60:02d}m"


@request_app.command("list")
@handles_errors
def request_list(
    status: Annotated[
        list[RequestStatus] | None, typer.Option(help="Only these statuses (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List requests, newest first, with their deadlines."""
    with work() as (c, session):
        now = c.clock()
        requests = lawful.list_requests(session, statuses=status or (), limit=limit)
        rows = [
            {
                "tracking_number": r.tracking_number,
                "status": r.status.value,
                "instrument": r.instrument.value,
                "emergency": r.emergency,
                "agency_id": r.agency_id,
                "received_at": r.received_at.isoformat(),
                "due_at": r.due_at.isoformat() if r.due_at else None,
                "time_left": _time_left(r, now),
            }
            for r in requests
        ]
    text = (
        "\n".join(
            f"{r['tracking_number']}  {r['instrument']:<20} {r['status']:<14} "
            f"{'EMERGENCY ' if r['emergency'] else ''}due {r['due_at']}  ({r['time_left']} left)"
            for r in rows
        )
        or "no requests"
    )
    emit(rows, as_json, text)


@request_app.command("show")
@handles_errors
def request_show(tracking_number: Annotated[str, typer.Argument()], as_json: JsonFlag = False) -> None:
    """Show one request with its deadline and audit trail."""
    with work() as (c, session):
        request = lawful.get_by_tracking_number(session, tracking_number)
        data = request_out(request, c.catalogue).model_dump(mode="json", by_alias=True)
        data["agency_id"] = request.agency_id
        data["time_left"] = _time_left(request, c.clock())
        data["audit"] = [
            {
                "seq": e.seq,
                "at": e.occurred_at.isoformat(),
                "action": e.action,
                "actor": f"{e.actor_kind}:{e.actor_id or '-'}",
            }
            for e in audit.events_for(session, "lawful_request", request.id)
        ]
    lines = [
        f"{data['tracking_number']}  {data['instrument']} ({data['instrument_title']})",
        f"status     {data['status']}{'  EMERGENCY' if data['emergency'] else ''}",
        (
            f"reference  {data['reference']}  from {data['issuing_authority']['name']} "
            f"({data['issuing_authority']['kind']}, {data['issuing_authority']['country']})"
        ),
        f"received   {data['received_at']}",
        f"due        {data['due_at']}  ({data['time_left']} left)",
        "targets    " + ", ".join(f"{t['type']}:{t['value']}" for t in data["targets"]),
        "categories " + (", ".join(data["data_categories"]) or "-"),
        "documents  "
        + (", ".join(f"{d['filename']} sha256:{d['sha256']}" for d in data["documents"]) or "-"),
        "audit",
    ] + [f"  #{e['seq']} {e['at']} {e['action']} by {e['actor']}" for e in data["audit"]]
    emit(data, as_json, "\n".join(lines))


@audit_app.command("verify")
@handles_errors
def audit_verify(as_json: JsonFlag = False) -> None:
    """Prove the audit log untouched: exit 0 if intact, 1 naming the first bad event otherwise."""
    with work() as (_, session):
        verdict = audit.verify(session)
    data = {
        "ok": verdict.ok,
        "checked": verdict.checked,
        "first_bad_event": verdict.first_bad_seq,
        "reason": verdict.reason,
    }
    if verdict.ok:
        emit(data, as_json, f"audit log intact: {verdict.checked} events verified")
        return
    emit(
        data,
        as_json,
        f"audit log BROKEN at event #{verdict.first_bad_seq}: {verdict.reason} "
        f"({verdict.checked} events verified before it)",
    )
    raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point alias
    app(prog_name="trustdesk")


if __name__ == "__main__":  # pragma: no cover
    main()
