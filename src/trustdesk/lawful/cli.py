"""``trustdesk request | hold | production | sla | monitor``: the lawful desk from the command line."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit import service as audit
from trustdesk.cliutil import JsonFlag, emit, fail, handles_errors, long_running_container, work
from trustdesk.db import unit_of_work
from trustdesk.errors import NotFound
from trustdesk.lawful import callbacks, execution, holds, review, views
from trustdesk.lawful import service as lawful
from trustdesk.lawful.facts import legal_representative_zone
from trustdesk.lawful.models import LawfulRequest, PreservationHold
from trustdesk.lawful.routes import request_out
from trustdesk.lawful.vocabulary import ClarificationKind
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.staff import service as staff
from trustdesk.staff.roles import Permission

request_app = typer.Typer(help="Lawful requests.", no_args_is_help=True)
hold_app = typer.Typer(help="Preservation holds.", no_args_is_help=True)
production_app = typer.Typer(help="Production packages.", no_args_is_help=True)
sla_app = typer.Typer()


def mount(app: typer.Typer) -> None:
    """Attach the lawful commands to the root command."""
    app.add_typer(request_app, name="request")
    app.add_typer(hold_app, name="hold")
    app.add_typer(production_app, name="production")
    from trustdesk.lawful.removal_cli import removal_app  # it builds on this module's helpers

    app.add_typer(removal_app, name="removal")
    from trustdesk.lawful.threat_cli import threat_app

    app.add_typer(threat_app, name="threat")
    app.registered_commands.extend(sla_app.registered_commands)


def notice_job(c: Container) -> Callable[[], list[str]]:
    """One round of sending the user notices whose time has come, in its own unit of work."""

    def send() -> list[str]:
        with unit_of_work(c.sessions) as session:
            return execution.send_due_notices(session, c.clock, c.connector)

    return send


def lapse_job(c: Container) -> Callable[[], list[str]]:
    """One round of ending the preservation holds whose period ran out (``holds.lapse_holds``)."""

    def lapse() -> list[str]:
        with unit_of_work(c.sessions) as session:
            return holds.lapse_holds(session, c.clock, c.connector)

    return lapse


def monitor_jobs(c: Container) -> list[Callable[[], list[str]]]:
    """The lawful desk's periodic jobs after each deadline-monitor round: due user notices, lapsed holds,
    expired productions (`trustdesk monitor` runs these; `trustdesk serve` runs them with the others)."""
    return [notice_job(c), lapse_job(c), purge_job(c)]


def purge_job(c: Container) -> Callable[[], list[str]]:
    """One round of deleting expired production packages (``execution.purge_expired_productions``)."""

    def purge() -> list[str]:
        with unit_of_work(c.sessions) as session:
            return execution.purge_expired_productions(session, c.clock, limit=100)

    return purge


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
        + (", ".join(f"{d['id']} {d['filename']} sha256:{d['sha256']}" for d in data["documents"]) or "-"),
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


@request_app.command("document")
@handles_errors
def request_document(
    tracking_number: Annotated[str, typer.Argument()],
    document_id: Annotated[str, typer.Argument(help="The document's id (`request show`).")],
    as_user: AsUser,
    out: Annotated[Path, typer.Option(help="Where to write the PDF (a new file).")],
) -> None:
    """Open a request's signed order (recorded in the audit log as read by you) into a new file."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        document = lawful.open_document(session, c.clock, user, request, document_id)
        try:
            with out.open("xb") as file:
                file.write(document.content)
        except OSError as exc:
            raise fail(f"--out: {exc}") from None
    typer.echo(f"{out}: {document.filename}, {document.size} bytes, sha256 {document.sha256}")


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
    documents_confirmed: Annotated[
        bool,
        typer.Option(
            "--documents-confirmed",
            help="You opened the signed order (`request document`) and it is the order this request "
            "describes: needed to comply, in full or in part.",
        ),
    ] = False,
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
            documents_confirmed=documents_confirmed,
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
            instrument = c.catalogue.get(request.instrument)
            zone = legal_representative_zone(c.policy, request.agency.country)
            review.approve(session, c.clock, user, request, instrument, note, zone=zone)
        _status_line(request, as_json)


@request_app.command("callback")
@handles_errors
def request_callback(
    tracking_number: Annotated[str, typer.Argument()],
    as_user: AsUser,
    number: Annotated[
        str, typer.Option(help="The number called: from an official directory, not the request.")
    ],
    directory: Annotated[str, typer.Option(help="Where the number comes from.")],
    person: Annotated[str, typer.Option(help="Who answered, and their role.")],
    note: Annotated[str, typer.Option(help="What the call established.")],
    confirmed: Annotated[
        bool, typer.Option("--confirmed/--failed", help="Did the agency confirm that it sent the request?")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Record a callback verification; --failed refuses the request and locks the agency (an incident)."""
    body = callbacks.CallbackIn(
        number=number, directory=directory, person_reached=person, confirmed=confirmed, note=note
    )
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        callbacks.record_callback(session, c.clock, user, request, body)
        _status_line(request, as_json)
    if not confirmed:
        callbacks.alert_failed_callback(c.sessions, c.notifier, tracking_number)


@request_app.command("clarify")
@handles_errors
def request_clarify(
    tracking_number: Annotated[str, typer.Argument()],
    as_user: AsUser,
    question: Annotated[str, typer.Option(help="What the authority must clarify.")],
    kind: Annotated[
        ClarificationKind,
        typer.Option(
            help="incomplete_order: the order lacks what the law requires (the legal deadline stops where "
            "the instrument allows); desk_question: the desk's own question (only the internal target stops)."
        ),
    ] = ClarificationKind.INCOMPLETE_ORDER,
    as_json: JsonFlag = False,
) -> None:
    """Ask the authority a question; what it stops depends on its kind."""
    with staff_work(as_user, tracking_number) as (c, session, user, request):
        instrument = c.catalogue.get(request.instrument)
        review.clarify(session, c.clock, user, request, instrument, question, kind=kind)
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
        hold = holds.extend_hold(session, c.clock, review.staff_actor(user), hold_id, rule, c.connector)
        until = hold.expires_at.isoformat() if hold.expires_at else "when no longer needed"
        typer.echo(f"hold {hold.id} now expires {until} (extension {hold.extensions})")


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
        holds.release_hold(session, c.clock, review.staff_actor(user), hold_id, c.connector, reason)
        typer.echo(f"hold {hold_id} released")


def lawful_request_of(session: Session, hold: PreservationHold | None) -> LawfulRequest:
    if hold is None:
        raise NotFound("no such hold", field="hold")
    return session.get_one(LawfulRequest, hold.request_id)


@production_app.command("purge")
@handles_errors
def production_purge(as_json: JsonFlag = False) -> None:
    """Delete the encrypted packages whose download link expired; their hash record and audit events stay
    (serve does this in its background loop too)."""
    with work() as (c, session):
        purged = execution.purge_expired_productions(session, c.clock, execution.Actor.operator())
    emit({"purged": purged}, as_json, f"{len(purged)} expired production package(s) deleted")


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

    from trustdesk.lawful.package import PackageError, open_package
    from trustdesk.lawful.package_check import verify_package

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


@sla_app.command()
@handles_errors
def conflicts(as_json: JsonFlag = False) -> None:
    """The conflict register: per jurisdiction, the orders that conflicted with the principles, and how
    each ended (open, complied, refused, challenged, withdrawn)."""
    from trustdesk.web.console.conflicts import register

    with work() as (_, session):
        found = register(session)
    data = [
        {
            "jurisdiction": entry.jurisdiction,
            "orders": entry.orders,
            "lines": [
                {
                    "instrument": line.instrument,
                    "principle": line.principle_id,
                    "principle_key": line.principle_key,
                    "conflicts": line.orders,
                    "outcomes": line.outcomes,
                }
                for line in entry.lines
            ],
        }
        for entry in found
    ]
    text = (
        "\n".join(
            f"{entry.jurisdiction}  {entry.orders} order(s) in conflict\n"
            + "\n".join(
                f"  {line.instrument:<20} {line.principle_id:<6} {line.orders} conflict(s): "
                + ", ".join(f"{k} {v}" for k, v in line.outcomes.items() if v)
                for line in entry.lines
            )
            for entry in found
        )
        or "no conflicts recorded"
    )
    emit(data, as_json, text)


@sla_app.command()
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


@sla_app.command()
@handles_errors
def monitor(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
) -> None:
    """The deadline monitor: alerts on emergencies, at-risk and overdue requests; sends due user notices,
    lapses holds and purges expired productions. In production it refuses to start while demo data exists."""
    import threading

    from trustdesk.lawful import monitor as deadline_monitor

    c = long_running_container()
    send_notices = notice_job(c)
    lapse_holds = lapse_job(c)
    purge = purge_job(c)
    try:
        if once:
            alerts = deadline_monitor.tick(c.sessions, c.clock, c.notifier)
            notices = send_notices()
            typer.echo(
                f"{len(alerts)} alert(s), {len(notices)} user notice(s) sent, "
                f"{len(lapse_holds())} hold(s) lapsed, {len(purge())} expired production(s) purged"
            )
            return
        deadline_monitor.run_monitor(
            c.sessions,
            c.clock,
            c.notifier,
            interval=c.settings.monitor_interval_seconds,
            stop=threading.Event(),
            also=[send_notices, lapse_holds, purge],
        )
    finally:
        c.engine.dispose()
