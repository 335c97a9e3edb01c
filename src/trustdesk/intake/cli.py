"""``trustdesk mail | mailroom | triage``: receiving mail and letters from the command line.

- ``mail listen [--host --port]``: the SMTP listener for the channel directory's e-mail addresses
  (``TRUSTDESK_CHANNELS_FILE``, docs/channels.md);
- ``mail poll [--once]``: the IMAP mailbox poller (``TRUSTDESK_IMAP_*``);
- ``mail receive FILE.eml``: feed one message (from a maildir, an export, a test);
- ``mail outbox [--status queued|sent|failed] [--json]``, ``mail send``, ``mail retry ID``: the desk's
  outgoing mail (``outbound``);
- ``mailroom upload FILE.pdf --as EMAIL --postmark YYYY-MM-DD --sender "…" [--address "…"]``;
- ``triage list [--json]``: what waits in triage, with the authenticity verdicts.
"""

import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, long_running_container, work
from trustdesk.db import unit_of_work
from trustdesk.intake import imap_poller, listeners, mailroom, outbound, smtp_server, store, triage_cli
from trustdesk.intake.models import OutboundMail
from trustdesk.intake.triage_cli import describe, line
from trustdesk.staff import service as staff

mail_app = typer.Typer(
    help="E-mail: the SMTP listener, the mailbox poller, and the desk's outbox.", no_args_is_help=True
)
mailroom_app = typer.Typer(help="Scanned letters and faxes.", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    """Attach the intake commands to the root command."""
    app.add_typer(mail_app, name="mail")
    app.add_typer(mailroom_app, name="mailroom")
    app.add_typer(triage_cli.triage_app, name="triage")


@mail_app.command("listen")
@handles_errors
def listen(
    host: Annotated[str, typer.Option(help="Address to listen on (behind the MX).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2525,
) -> None:
    """Receive mail for the desk's addresses until interrupted; 250 only after the message is committed (and
    triaged: acknowledged, answered or attached; an emergency pages the person on call), as in `serve`."""
    c = long_running_container()
    addresses = c.channels.intake_addresses  # the channel directory's: at least one, checked at start
    listener = smtp_server.controller(listeners.handler_for(c), host, port)
    listener.start()
    typer.echo(f"listening on {host}:{port} for {', '.join(addresses)}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        listener.stop()
        c.engine.dispose()


@mail_app.command("poll")
@handles_errors
def poll(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.", min=5, max=3600)] = 60.0,
) -> None:
    """Fetch the mailbox's unseen messages, store each, flag it seen after the commit."""
    c = long_running_container()
    try:
        box = imap_poller.Mailbox.from_settings(c.settings)
    except imap_poller.MailboxError as exc:
        c.engine.dispose()
        raise fail(str(exc)) from None
    try:
        if once:
            done = imap_poller.poll_once(c.sessions, c.clock, box, c.arrivals)
            typer.echo(f"{len(done.stored)} stored, {done.failed} left unseen for the next round")
            if done.failed:
                raise typer.Exit(1)
            return
        stop = threading.Event()
        try:
            imap_poller.poll_forever(c.sessions, c.clock, box, interval, stop, c.arrivals)
        except KeyboardInterrupt:
            stop.set()
    except (imap_poller.MailboxError, OSError) as exc:
        raise fail(f"the mailbox: {exc}") from None
    finally:
        c.engine.dispose()


@mail_app.command("receive")
@handles_errors
def receive(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    to: Annotated[str | None, typer.Option("--to", help="The desk's address it was sent to.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Feed one message (RFC 5322 file) into the intake, as if it had arrived (triaged, and an emergency
    paged, as on the listener); SPF is not checked."""
    raw = file.read_bytes()
    c = container()
    try:
        if len(raw) > c.settings.mail_max_bytes:
            raise fail(f"{file} is larger than TRUSTDESK_MAIL_MAX_BYTES ({c.settings.mail_max_bytes} bytes)")
        with unit_of_work(c.sessions) as session:
            known = store.find_duplicate(session, raw) is not None
            message = store.receive(
                session, c.clock, raw, channel=store.EMAIL, recipient=to, titles=c.arrivals.titles
            )
            urgent = c.arrivals.triage(session, c.clock, message)
            item = describe(message) | {"already_received": known}
        c.arrivals.after_commit(item["id"], urgent)
    finally:
        c.engine.dispose()
    emit(item, as_json, ("already received: " if known else "stored: ") + line(item))


@mailroom_app.command("upload")
@handles_errors
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_user: Annotated[str, typer.Option("--as", help="E-mail of the staff user scanning it in.")],
    postmark: Annotated[str, typer.Option(help="The postmark date, YYYY-MM-DD: the date of receipt.")],
    sender: Annotated[str, typer.Option(help="Who sent the letter.")],
    address: Annotated[str, typer.Option(help="The sender's postal address.")] = "",
    note: Annotated[str, typer.Option(help="A note for the legal reviewer.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Scan a letter or fax (PDF) into the triage queue."""
    try:
        stamped = date.fromisoformat(postmark)
    except ValueError:
        raise fail("--postmark is a date: YYYY-MM-DD") from None
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            user = staff.acting_user(session, as_user)
            message = mailroom.upload_letter(
                session, c.clock, user, file.read_bytes(), file.name, postmark=stamped, sender_name=sender,
                sender_address=address, note=note, max_bytes=c.settings.max_document_bytes,
                titles=c.arrivals.titles,
            )  # fmt: skip
            urgent = c.arrivals.triage(session, c.clock, message)
            item = describe(message)
        c.arrivals.after_commit(item["id"], urgent)  # an emergency letter pages the person on call
    finally:
        c.engine.dispose()
    emit(item, as_json, "in triage: " + line(item))


def describe_mail(mail: OutboundMail) -> dict[str, Any]:
    return {
        "id": mail.id,
        "kind": mail.kind,
        "status": mail.status,
        "to": mail.to,
        "subject": mail.subject,
        "message_id": mail.message_id,
        "request_id": mail.request_id,
        "attempts": mail.attempts,
        "created_at": mail.created_at.isoformat(),
        "next_attempt_at": mail.next_attempt_at.isoformat() if mail.next_attempt_at else None,
        "sent_at": mail.sent_at.isoformat() if mail.sent_at else None,
        "last_error": mail.last_error,
    }


def _mail_line(item: dict[str, Any]) -> str:
    when = item["sent_at"] or item["next_attempt_at"] or item["created_at"]
    return (
        f"{item['id']}  {item['status']:<6} {item['kind']:<15} {when[:16]}  attempts={item['attempts']}  "
        f"{item['to']}  {item['subject']}" + (f"  error: {item['last_error']}" if item["last_error"] else "")
    )


@mail_app.command("outbox")
@handles_errors
def outbox(
    status: Annotated[
        str | None, typer.Option(help=f"Only this status: {', '.join(outbound.STATUSES)}.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The desk's outgoing mail, newest first, with the attempts and the last error."""
    with work() as (_c, session):
        items = [describe_mail(m) for m in outbound.list_outbox(session, status=status)]
    emit(items, as_json, "\n".join(_mail_line(i) for i in items) or "the outbox is empty")


@mail_app.command("send")
@handles_errors
def send() -> None:
    """One round now: queue the file's new messages to authorities, then send what is due."""
    c = container()
    try:
        if outbound.sender_from_settings(c.settings) is None:
            raise fail("set TRUSTDESK_SMTP_HOST (the relay for outgoing mail): until then mail stays queued")
        sent = outbound.outbox_job(c)()
        with unit_of_work(c.sessions) as session:
            waiting = [m for m in outbound.list_outbox(session, status=outbound.QUEUED) if m.last_error]
        typer.echo(f"{sent} sent")
        for mail in waiting:
            typer.echo(f"not sent yet: {_mail_line(describe_mail(mail))}")
    finally:
        c.engine.dispose()


@mail_app.command("retry")
@handles_errors
def retry(mail_id: Annotated[str, typer.Argument(help="The id of a failed mail.")]) -> None:
    """Queue a failed mail again, due now, once its cause is fixed."""
    with work() as (c, session):
        mail = outbound.retry(session, c.clock, mail_id)
        typer.echo(f"{mail.id}: queued again")
