"""The ``trustdesk`` command line: one unit of work per command, ``--json`` wherever it prints data."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.orm import Session

from trustdesk.app import Container, build_container
from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.config import Environment, PlatformKind, SettingsError, load_settings
from trustdesk.db import unit_of_work
from trustdesk.errors import DomainError, Forbidden, NotFound
from trustdesk.lawful import execution, review, views
from trustdesk.lawful import service as lawful
from trustdesk.lawful.models import LawfulRequest, PreservationHold
from trustdesk.lawful.routes import request_out
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.staff import service as staff
from trustdesk.staff.roles import Permission
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
hold_app = typer.Typer(help="Preservation holds.", no_args_is_help=True)
production_app = typer.Typer(help="Production packages.", no_args_is_help=True)
for sub, name in [
    (hold_app, "hold"),
    (production_app, "production"),
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


def notice_job(c: Container) -> Callable[[], list[str]]:
    """One round of sending the user notices whose time has come, in its own unit of work."""

    def send() -> list[str]:
        with unit_of_work(c.sessions) as session:
            return execution.send_due_notices(session, c.clock, c.connector)

    return send


@app.command()
@handles_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    monitor: Annotated[bool, typer.Option(help="Also run the deadline monitor in this process.")] = True,
) -> None:
    """Serve the web app and API (OpenAPI docs at /docs); on one machine, with the deadline monitor."""
    import threading

    import uvicorn

    from trustdesk.lawful import monitor as deadline_monitor
    from trustdesk.web.app import create_app

    c = container()
    stop = threading.Event()
    if monitor:
        threading.Thread(
            target=deadline_monitor.run_monitor,
            args=(c.sessions, c.clock, c.notifier),
            kwargs={"interval": c.settings.monitor_interval_seconds, "stop": stop, "also": [notice_job(c)]},
            name="deadline-monitor",
            daemon=True,
        ).start()
    try:
        uvicorn.run(
            create_app(c),
            host=host or c.settings.host,
            port=port or c.settings.port,
            log_level="info",
            proxy_headers=False,
        )
    finally:
        stop.set()
        c.engine.dispose()


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
    users: Annotated[
        int | None,
        typer.Option(min=1, max=1_000_000, help="Users on the platform (reference: 200, matrix: 20)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated platform data.")] = 7,
    platform: Annotated[
        PlatformKind | None,
        typer.Option(
            help="matrix: first install, start and seed a local Synapse (docs/matrix.md); "
            "default: the reference platform, or the configured platform."
        ),
    ] = None,
    stop: Annotated[
        bool, typer.Option("--stop", help="With --platform matrix: stop the local Synapse and exit.")
    ] = False,
    var_dir: Annotated[
        Path, typer.Option(help="With --platform matrix: holds synapse/ (its data) and matrix.env.")
    ] = Path("var"),
    synapse_venv: Annotated[
        Path, typer.Option(help="With --platform matrix: Synapse's own virtualenv (made on first use).")
    ] = Path(".venv-synapse"),
    as_json: JsonFlag = False,
) -> None:
    """Load the demo agencies, officers, staff and platform data (once); print their credentials."""
    from trustdesk import demo as demo_data

    if platform is PlatformKind.MATRIX:
        matrix_demo(users or 20, seed, stop=stop, var_dir=var_dir, synapse_venv=synapse_venv, as_json=as_json)
        return
    if stop:
        raise fail("--stop stops the local Synapse: give --platform matrix")
    with work() as (c, session):
        loaded = demo_data.load(c, session, users=users or 200, seed=seed)
    if as_json:
        emit(loaded.as_dict(), True, "")
    else:
        typer.echo(loaded.describe())


def matrix_demo(
    users: int, seed: int, *, stop: bool, var_dir: Path, synapse_venv: Path, as_json: bool
) -> None:
    """`demo --platform matrix`: a local Synapse (left running) seeded with demo users, var/matrix.env, and
    the Trustdesk demo data against it."""
    import subprocess

    from trustdesk import demo as demo_data
    from trustdesk.platform.matrix import devserver

    settings = load_settings()
    if settings.environment is Environment.PRODUCTION:
        raise Forbidden("demo data is never loaded in production", code="demo_in_production")
    data_dir = var_dir / "synapse"
    if stop:
        stopped = (data_dir / devserver.STATE_FILE).exists() and devserver.DevServer(
            synapse_venv / "bin" / "python", data_dir
        ).stop()
        emit({"stopped": stopped}, as_json, f"local Synapse {'stopped' if stopped else 'was not running'}")
        return
    typer.echo(
        f"starting the local Synapse ({data_dir}; installs into {synapse_venv} on first use)", err=True
    )
    try:
        server = devserver.DevServer(devserver.ensure_synapse(synapse_venv.resolve()), data_dir)
        server.start()
        seeded = server.seed_demo(users, seed=seed)
    except (devserver.SynapseUnavailable, devserver.MatrixError, OSError, subprocess.SubprocessError) as exc:
        raise fail(f"the local Synapse did not come up: {exc}") from None
    env = server.env()
    env_file = var_dir / "matrix.env"
    env_file.touch(mode=0o600)
    env_file.write_text(
        "# Trustdesk against the local Synapse of `trustdesk demo --platform matrix` (demo only)\n"
        + "".join(f"{key}={value}\n" for key, value in env.items())
    )
    c = build_container(
        load_settings(
            platform=PlatformKind.MATRIX,
            matrix_base_url=server.base_url,
            matrix_admin_token=server.admin_token,
            matrix_server_name=server.server_name,
            matrix_module_secret=server.module_secret,
        )
    )
    try:
        with unit_of_work(c.sessions) as session:
            loaded = demo_data.load(c, session, users=users, seed=seed)
    finally:
        c.engine.dispose()
    loaded.platform, loaded.platform_name = seeded.counts(), f"Matrix homeserver {server.server_name}"
    user_ids = [server.user_id(devserver.demo_localpart(i)) for i in range(1, seeded.users + 1)]
    matrix = {
        "base_url": server.base_url,
        "server_name": server.server_name,
        "data_dir": str(data_dir),
        "pid": server.running_pid(),
        "env_file": str(env_file),
        "users": user_ids,
        "phones": seeded.phones,
    }
    if as_json:
        emit({**loaded.as_dict(), "matrix": matrix}, True, "")
        return
    typer.echo(loaded.describe())
    typer.echo(
        f"""
Local Synapse at {server.base_url} (server name {server.server_name}, pid {matrix["pid"]}),
data in {data_dir}/, demo users {user_ids[0]}... with phones {seeded.phones[0]}...
It keeps running. Settings in {env_file}; serve Trustdesk against it:
  set -a; . {env_file}; set +a; .venv/bin/trustdesk serve
Stop it:
  .venv/bin/trustdesk demo --platform matrix --stop"""
    )


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
        data.update(views.staff_view(session, request, c.catalogue, c.policy, c.connector))
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
        *recommendation_lines(data["recommendation"]),
        "decision   " + (describe_decision(data["decision"]) if data["decision"] else "-"),
        *[f"  {m['at']} {m['direction']} {m['kind']}: {m['body']}" for m in data["correspondence"]],
        "audit",
    ] + [f"  #{e['seq']} {e['at']} {e['action']} by {e['actor']}" for e in data["audit"]]
    emit(data, as_json, "\n".join(lines))


def recommendation_lines(rec: dict[str, Any]) -> list[str]:
    allowed = ", ".join(rec["allowed_categories"]) or "nothing"
    lines = [f"recommend  {rec['outcome']}: {allowed}  (policy {rec['policy_version'][:12]})"]
    lines += [f"  [{r['rule_id']}] {r['sentence']}" for r in rec["rules_fired"]]
    return lines


def describe_decision(decision: dict[str, Any]) -> str:
    text = f"{decision['outcome']}: {', '.join(decision['categories']) or 'nothing'}"
    if decision["deviates_from_recommendation"]:
        text += f"  (DEVIATES: {decision['justification']})"
    if decision["approved_by"]:
        text += f"  approved {decision['approved_at']}"
    return text


AsUser = Annotated[str, typer.Option("--as", help="E-mail of the staff user acting.")]


@contextmanager
def staff_work(email: str, tracking_number: str) -> Iterator[tuple[Container, Session, Any, LawfulRequest]]:
    with work() as (c, session):
        user = staff.acting_user(session, email)
        yield c, session, user, lawful.get_by_tracking_number(session, tracking_number)


def _status_line(request: LawfulRequest, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    data = {
        "tracking_number": request.tracking_number,
        "status": request.status.value,
        "due_at": request.due_at.isoformat() if request.due_at else None,
        **(extra or {}),
    }
    emit(
        data,
        as_json,
        f"{request.tracking_number}: {request.status.value}"
        + "".join(f"\n{k} {v}" for k, v in (extra or {}).items()),
    )


@request_app.command("decide")
@handles_errors
def request_decide(
    tracking_number: Annotated[str, typer.Argument()],
    as_user: AsUser,
    outcome: Annotated[review.DecisionOutcome, typer.Option(help="comply, partial or refuse.")],
    category: Annotated[
        list[str] | None,
        typer.Option(help="Category to disclose (repeatable); default: the recommendation's."),
    ] = None,
    justification: Annotated[
        str | None, typer.Option(help="Required when deviating from the recommendation.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record the legal reviewer's decision (a disclosure then awaits a second approver)."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        instrument = c.catalogue.get(request.instrument)
        recommendation = review.recommendation_for(request, c.catalogue, c.policy, c.connector)
        decision = review.decide(
            session,
            c.clock,
            user,
            request,
            instrument,
            recommendation,
            outcome=outcome,
            categories=category,
            justification=justification,
        )
        _status_line(
            request,
            as_json,
            {"decision": views.decision_view(decision), "recommendation": recommendation.as_dict()},
        )


@request_app.command("approve")
@handles_errors
def request_approve(
    tracking_number: Annotated[str, typer.Argument()],
    as_user: AsUser,
    reject: Annotated[
        bool, typer.Option("--reject", help="Send the decision back to review instead.")
    ] = False,
    note: Annotated[str | None, typer.Option(help="Why (required with --reject).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Four eyes: a legal approver other than the decider approves (or rejects) a disclosure."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        if reject:
            review.reject(session, c.clock, user, request, note or "")
        else:
            review.approve(session, c.clock, user, request, c.catalogue.get(request.instrument), note)
        _status_line(request, as_json)


@request_app.command("clarify")
@handles_errors
def request_clarify(
    tracking_number: Annotated[str, typer.Argument()],
    as_user: AsUser,
    question: Annotated[str, typer.Option(help="What the authority must clarify.")],
    as_json: JsonFlag = False,
) -> None:
    """Ask the authority a question; the clock stops where the instrument allows."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        review.clarify(session, c.clock, user, request, c.catalogue.get(request.instrument), question)
        _status_line(request, as_json)


@request_app.command("execute")
@handles_errors
def request_execute(
    tracking_number: Annotated[str, typer.Argument()], as_user: AsUser, as_json: JsonFlag = False
) -> None:
    """Carry out the approved decision through the platform: production, preservation or removal."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        report = execution.execute(
            session,
            c.clock,
            user,
            request,
            c.catalogue.get(request.instrument),
            c.connector,
            c.signer,
            c.execution,
        )
        _status_line(
            request,
            as_json,
            {
                "production": report.production_id,
                "holds": report.holds,
                "removals": report.removals,
                "not_found": report.not_found,
            },
        )


@request_app.command("answer")
@handles_errors
def request_answer(
    tracking_number: Annotated[str, typer.Argument()],
    as_user: AsUser,
    message: Annotated[
        str | None, typer.Option(help="The answer; default: a summary of what was done.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer the authority (ends the deadline); user notices due now are sent."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        execution.answer(
            session,
            c.clock,
            user,
            request,
            c.catalogue.get(request.instrument),
            c.connector,
            c.execution,
            message,
        )
        _status_line(request, as_json)


@request_app.command("close")
@handles_errors
def request_close(
    tracking_number: Annotated[str, typer.Argument()], as_user: AsUser, as_json: JsonFlag = False
) -> None:
    """Close an answered, refused or withdrawn request."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        review.close(session, c.clock, user, request)
        _status_line(request, as_json)


@hold_app.command("extend")
@handles_errors
def hold_extend(hold_id: Annotated[str, typer.Argument()], as_user: AsUser) -> None:
    """The one lawful extension of a preservation hold."""
    with work() as (c, session):
        user = staff.acting_user(session, as_user)
        staff.require(user, Permission.STAFF_REQUEST_DECIDE)
        hold = session.get(PreservationHold, hold_id)
        rule = c.catalogue.get(lawful_request_of(session, hold).instrument).hold if hold else None
        if hold is None or rule is None:
            raise NotFound(f"no extendable hold {hold_id}", field="hold")
        hold = execution.extend_hold(session, c.clock, review.staff_actor(user), hold_id, rule, c.connector)
        typer.echo(f"hold {hold.id} now expires {hold.expires_at.isoformat()} (extension {hold.extensions})")


@hold_app.command("release")
@handles_errors
def hold_release(
    hold_id: Annotated[str, typer.Argument()],
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Why the hold ends.")],
) -> None:
    """Release a preservation hold."""
    with work() as (c, session):
        user = staff.acting_user(session, as_user)
        staff.require(user, Permission.STAFF_REQUEST_DECIDE)
        execution.release_hold(session, c.clock, review.staff_actor(user), hold_id, c.connector, reason)
        typer.echo(f"hold {hold_id} released")


def lawful_request_of(session: Session, hold: PreservationHold | None) -> LawfulRequest:
    if hold is None:
        raise NotFound("no such hold", field="hold")
    return session.get_one(LawfulRequest, hold.request_id)


@production_app.command("verify")
@handles_errors
def production_verify(
    package: Annotated[
        Path, typer.Argument(help="The package: encrypted (.age, with --identity) or decrypted tar.")
    ],
    identity: Annotated[Path | None, typer.Option(help="Age identity file to decrypt with.")] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="The platform's published Ed25519 public key (PEM).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a production package: signature, manifest, every file's SHA-256, nothing else inside."""
    from cryptography.hazmat.primitives import serialization

    from trustdesk.lawful.package import PackageError, open_package, verify_package

    try:
        data = package.read_bytes()
        if identity is not None:
            data = open_package(data, identity.read_text())
        trusted = None
        if public_key is not None:
            key = serialization.load_pem_public_key(public_key.read_bytes())
            trusted = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    except (OSError, PackageError, ValueError) as exc:
        raise fail(str(exc)) from None
    report = verify_package(data, trusted)
    result = {
        "ok": report.ok,
        "problems": list(report.problems),
        "notes": list(report.notes),
        "files": list(report.files),
        "trusted_key": report.trusted_key,
    }
    text = (
        ("package VERIFIED" if report.ok else "package FAILED verification")
        + "".join(f"\n  problem: {p}" for p in report.problems)
        + "".join(f"\n  note: {n}" for n in report.notes)
    )
    emit(result, as_json, text)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handles_errors
def sla(as_json: JsonFlag = False) -> None:
    """Open requests by time left: overdue first, then at risk, then on time; paused last."""
    from trustdesk.lawful import monitor

    with work() as (c, session):
        rows = [r.as_dict() for r in monitor.sla(session, c.clock)]
    text = (
        "\n".join(
            f"{r['tracking_number']}  {r['state']:<8} {r['instrument']:<20} {r['status']:<24}"
            f"{'EMERGENCY ' if r['emergency'] else ''}due {r['due_at'] or 'paused'}"
            for r in rows
        )
        or "no open requests"
    )
    emit(rows, as_json, text)


@app.command()
@handles_errors
def monitor(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
) -> None:
    """The deadline monitor: alerts on emergencies, at-risk and overdue requests; sends due user notices."""
    import threading

    from trustdesk.lawful import monitor as deadline_monitor

    c = container()
    send_notices = notice_job(c)
    try:
        if once:
            alerts = deadline_monitor.tick(c.sessions, c.clock, c.notifier)
            typer.echo(f"{len(alerts)} alert(s), {len(send_notices())} user notice(s) sent")
            return
        deadline_monitor.run_monitor(
            c.sessions,
            c.clock,
            c.notifier,
            interval=c.settings.monitor_interval_seconds,
            stop=threading.Event(),
            also=[send_notices],
        )
    finally:
        c.engine.dispose()


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


@app.command()
def totp(
    secret: Annotated[str, typer.Argument(help="A base32 TOTP secret (e.g. a demo account's).")],
) -> None:
    """Print the current 6-digit code of a TOTP secret, as an authenticator app would."""
    import pyotp

    try:
        typer.echo(pyotp.TOTP(secret).now())
    except (ValueError, TypeError) as exc:
        raise fail(f"not a base32 TOTP secret: {exc}") from None


@app.command("public-key")
@handles_errors
def public_key() -> None:
    """Print the platform's Ed25519 public key (PEM) that verifies production packages."""
    from trustdesk.signing.protocol import public_key_pem

    c = container()
    typer.echo(public_key_pem(c.signer.public_key_bytes()).decode().strip())
    typer.echo(f"# key id {c.signer.key_id}", err=True)


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
