"""The root ``trustdesk`` command: serve, worker, demo, db, audit.

Each domain mounts its own commands (``authorities/cli.py``, ``staff/cli.py``, ``lawful/cli.py``,
``safety/cli.py``, ``transparency/cli.py``).
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.app import Container, build_container
from trustdesk.audit import service as audit
from trustdesk.authorities import cli as authorities_cli
from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, long_running_container, work
from trustdesk.config import Environment, PlatformKind, load_settings
from trustdesk.db import unit_of_work
from trustdesk.dossier import cli as dossier_cli
from trustdesk.errors import Forbidden
from trustdesk.intake import cli as intake_cli
from trustdesk.lawful import cli as lawful_cli
from trustdesk.oncall import cli as oncall_cli
from trustdesk.oncall.paging import escalation_job
from trustdesk.safety import cli as safety_cli
from trustdesk.safety import demo as safety_demo
from trustdesk.safety import moderation_cli, ncmec_cli
from trustdesk.staff import cli as staff_cli
from trustdesk.transparency import cli as transparency_cli
from trustdesk.transparency import demo as transparency_demo
from trustdesk.transparency import report_cli, tlog_cli

app = typer.Typer(
    help="Trustdesk: lawful requests, content safety and transparency for a messaging platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
worker_app = typer.Typer(
    help="Background workers (with TRUSTDESK_BUS=nats, any number of each).", no_args_is_help=True
)
for sub, name in [
    (db_app, "db"),
    (audit_app, "audit"),
    (worker_app, "worker"),
]:
    app.add_typer(sub, name=name)
authorities_cli.mount(app)
staff_cli.mount(app)
lawful_cli.mount(app)
safety_cli.mount(app)
transparency_cli.mount(app)
report_cli.mount(app)
tlog_cli.mount(app)
oncall_cli.mount(app)
dossier_cli.mount(app)
intake_cli.mount(app)


@app.command()
@handles_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    monitor: Annotated[bool, typer.Option(help="Also run the deadline monitor in this process.")] = True,
    ingest: Annotated[
        bool | None,
        typer.Option(help="Also follow the platform's content stream (default: with the in-process bus)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="HTTP worker processes (they share the memory-mapped index).")
    ] = 1,
) -> None:
    """Serve the web app and API (OpenAPI docs at /docs); on one machine, with the deadline monitor and
    the content scanner."""
    import threading

    import uvicorn

    from trustdesk.config import BusKind
    from trustdesk.intake.listeners import start_mail_intake
    from trustdesk.intake.outbound import outbox_job
    from trustdesk.lawful import monitor as deadline_monitor
    from trustdesk.safety.ingest import run_ingest
    from trustdesk.web.app import create_app

    c = long_running_container()
    stop = threading.Event()
    if monitor:
        threading.Thread(
            target=deadline_monitor.run_monitor,
            args=(c.sessions, c.clock, c.notifier),
            kwargs={
                "interval": c.settings.monitor_interval_seconds,
                "stop": stop,
                "also": [
                    *lawful_cli.monitor_jobs(c),
                    moderation_cli.enforcement_job(c),
                    ncmec_cli.ncmec_job(c),
                    transparency_cli.sor_job(c),
                    tlog_cli.tlog_job(c),
                    escalation_job(c),
                    outbox_job(c),
                ],
            },
            name="deadline-monitor",
            daemon=True,
        ).start()
    if ingest if ingest is not None else c.settings.bus is BusKind.MEMORY:
        threading.Thread(
            target=run_ingest,
            args=(c.sessions, c.clock, c.connector, c.publish_content),
            kwargs={"interval": 2.0, "stop": stop},
            name="content-ingest",
            daemon=True,
        ).start()
    stop_mail = start_mail_intake(c, stop)  # the SMTP listener and the IMAP poller, when configured
    c.warm_up()  # with several workers: the shared index is built once, before they open it
    if c.settings.bus is BusKind.NATS:  # serve this process's queue groups (lawful arrivals) too
        threading.Thread(target=c.bus.run, name="bus", daemon=True).start()
    try:
        if workers == 1:
            uvicorn.run(create_app(c), host=host or c.settings.host, port=port or c.settings.port,
                        log_level="info", proxy_headers=False)  # fmt: skip
        else:
            serve_workers(workers, host or c.settings.host, port or c.settings.port)
    finally:
        stop.set()
        stop_mail()
        c.bus.stop()
        c.bus.close()
        c.engine.dispose()


def serve_workers(workers: int, host: str, port: int) -> None:
    """``workers`` uvicorn processes on one listening socket, each with its own container.

    The socket is made here, with its protocol named (IPPROTO_TCP), because asyncio sets TCP_NODELAY only
    on connections of such sockets: uvicorn's own (``socket.socket(AF_INET, SOCK_STREAM)``) leaves it
    unset, and Nagle's algorithm against delayed ACKs adds 40 ms to every keep-alive request.
    """
    import socket

    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(
        "trustdesk.web.app:app_from_settings", factory=True, workers=workers, host=host, port=port,
        log_level="info", proxy_headers=False,
    )  # fmt: skip
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()


@worker_app.command("scan")
@handles_errors
def worker_scan() -> None:
    """Consume content events as a member of the scanner group until SIGTERM or SIGINT."""
    import signal

    from trustdesk.bus.protocol import Subject
    from trustdesk.safety.worker import GROUP, scan_handler

    c = long_running_container()
    try:
        c.warm_up()
        c.bus.subscribe_batch(Subject.CONTENT_POSTED, GROUP, scan_handler(c))
        typer.echo(f"scanning content events (group {GROUP}, bus {c.settings.bus.value})", err=True)
        c.bus.run(signals=(signal.SIGTERM, signal.SIGINT))
    finally:
        c.bus.close()
        c.engine.dispose()


@worker_app.command("ingest")
@handles_errors
def worker_ingest(
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between looks at a drained stream.")
    ] = 2.0,
) -> None:
    """Follow the platform's content stream and put each event on the bus, until SIGTERM or SIGINT."""
    import signal
    import threading

    from trustdesk.safety.ingest import run_ingest

    c = long_running_container()
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    try:
        run_ingest(c.sessions, c.clock, c.connector, c.publish_content, interval=interval, stop=stop)
    finally:
        c.bus.close()
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

    if platform is PlatformKind.MATRIX:
        matrix_demo(users or 20, seed, stop=stop, var_dir=var_dir, synapse_venv=synapse_venv, as_json=as_json)
        return
    if stop:
        raise fail("--stop stops the local Synapse: give --platform matrix")
    c = container()
    try:
        loaded, safety = _load_demo(c, users=users or 200, seed=seed)
    finally:
        c.engine.dispose()
    if as_json:
        emit({**loaded.as_dict(), **{k: v.as_dict() for k, v in safety.items()}}, True, "")
    else:
        typer.echo(loaded.describe() + "\n\n" + "\n".join(s.describe() for s in safety.values()))


def _load_demo(c: Container, *, users: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """The demo data, each part in its own transactions: the lawful desk (then its arrivals announced),
    content safety, due process, the transparency log and reports published from them, the mailroom and
    a dossier."""
    from trustdesk import demo as demo_data
    from trustdesk.intake import demo as intake_demo
    from trustdesk.safety import moderation_demo

    with unit_of_work(c.sessions) as session:
        loaded = demo_data.load(c, session, users=users, seed=seed)
    demo_data.announce(c, loaded)
    safety = safety_demo.load(c)
    moderation = moderation_demo.load(c, "moderator@platform.example")
    transparency = transparency_demo.publish_demo(c)
    mail = intake_demo.load(c)  # after the log's first head: the dossier proves every receipt in it
    return loaded, {"safety": safety, "moderation": moderation, "transparency": transparency, "mail": mail}


def matrix_demo(
    users: int, seed: int, *, stop: bool, var_dir: Path, synapse_venv: Path, as_json: bool
) -> None:
    """`demo --platform matrix`: a local Synapse (left running) seeded with demo users, var/matrix.env, and
    the Trustdesk demo data against it."""
    import subprocess

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
        loaded, safety = _load_demo(c, users=users, seed=seed)
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
        emit({**loaded.as_dict(), **{k: v.as_dict() for k, v in safety.items()}, "matrix": matrix}, True, "")
        return
    typer.echo(loaded.describe() + "\n\n" + "\n".join(s.describe() for s in safety.values()))
    typer.echo(
        f"""
Local Synapse at {server.base_url} (server name {server.server_name}, pid {matrix["pid"]}),
data in {data_dir}/, demo users {user_ids[0]}... with phones {seeded.phones[0]}...
It keeps running. Settings in {env_file}; serve Trustdesk against it:
  set -a; . {env_file}; set +a; .venv/bin/trustdesk serve
Stop it:
  .venv/bin/trustdesk demo --platform matrix --stop"""
    )


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
    """Print the platform's Ed25519 public key (PEM) that verifies production packages and the audit log."""
    from trustdesk.signing.protocol import public_key_pem

    c = container()
    typer.echo(public_key_pem(c.signer.public_key_bytes()).decode().strip())
    typer.echo(f"# key id {c.signer.key_id}", err=True)


@audit_app.command("verify")
@handles_errors
def audit_verify(
    public_key: Annotated[
        Path | None,
        typer.Option(help="The platform's published public key (PEM); default: the key of this deployment."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Prove the audit log untouched: every hash, every signature against the platform's key, and every head
    anchored in the public transparency log, so that a chain rewritten and recomputed in the database (even
    re-signed with a stolen key) is found. Exit 0 if intact, 1 naming the first bad
    event otherwise."""
    from trustdesk.signing.protocol import SignerError, public_key_from_pem
    from trustdesk.transparency.tlog.checks import check_audit_anchors

    with work() as (c, session):
        try:
            key = public_key_from_pem(public_key.read_bytes()) if public_key else c.signer.public_key_bytes()
        except (OSError, SignerError) as exc:
            raise fail(f"--public-key: {exc}") from None
        verdict = audit.verify(session, key)
        anchors, anchor_problems = check_audit_anchors(session)  # the heads published in the log
    data = {
        "ok": verdict.ok and not anchor_problems,
        "checked": verdict.checked,
        "signed": verdict.signed,
        "first_bad_event": verdict.first_bad_seq,
        "reason": verdict.reason,
        "log_anchors": anchors,
        "log_anchor_problems": anchor_problems,
    }
    if verdict.ok and anchor_problems:
        emit(data, as_json, "audit log BROKEN against the transparency log: " + "; ".join(anchor_problems))
        raise typer.Exit(1)
    if verdict.ok:
        unsigned = verdict.checked - verdict.signed
        note = f" ({unsigned} from before signing began)" if unsigned else ""
        emit(
            data,
            as_json,
            f"audit log intact: {verdict.checked} events verified, {verdict.signed} signed{note}; "
            f"{anchors} head(s) anchored in the transparency log match",
        )
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
