"""``trustdesk mail | mailroom | triage``: receiving mail and letters from the command line.

- ``mail listen [--host --port]``: the SMTP listener for ``TRUSTDESK_INTAKE_ADDRESSES``;
- ``mail poll [--once]``: the IMAP mailbox poller (``TRUSTDESK_IMAP_*``);
- ``mail receive FILE.eml``: feed one message (from a maildir, an export, a test);
- ``mailroom upload FILE.pdf --as EMAIL --postmark YYYY-MM-DD --sender "…" [--address "…"]``;
- ``triage list [--json]``: what waits in triage, with the authenticity verdicts.
"""

import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.cliutil import JsonFlag, emit, fail, handles_errors, long_running_container, work
from trustdesk.intake import imap_poller, mailroom, smtp_server, store
from trustdesk.intake.models import InboundMessage
from trustdesk.staff import service as staff

mail_app = typer.Typer(help="E-mail intake: the SMTP listener, the mailbox poller.", no_args_is_help=True)
mailroom_app = typer.Typer(help="Scanned letters and faxes.", no_args_is_help=True)
triage_app = typer.Typer(help="The triage queue of inbound messages.", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    """Attach the intake commands to the root command."""
    app.add_typer(mail_app, name="mail")
    app.add_typer(mailroom_app, name="mailroom")
    app.add_typer(triage_app, name="triage")


def describe(message: InboundMessage) -> dict[str, Any]:
    verdict = message.authenticity or {}
    return {
        "id": message.id,
        "channel": message.channel,
        "received_at": message.received_at.isoformat(),
        "sender": message.sender,
        "subject": message.subject,
        "sha256": message.sha256,
        "status": message.status,
        "agency_id": message.agency_id,
        "dkim": verdict.get("dkim"),
        "spf": verdict.get("spf"),
        "dmarc": verdict.get("dmarc"),
        "domain_match": verdict.get("domain_match"),
        "reasons": verdict.get("reasons", []),
        "extracted": message.extracted or {},
        "note": message.note,
    }


def _line(item: dict[str, Any]) -> str:
    who = f"agency {item['agency_id']}" if item["agency_id"] else "not attributed"
    return (
        f"{item['id']}  {item['channel']:<8} {item['received_at'][:16]}  {item['sender'] or '-'}  "
        f"dkim={item['dkim']} dmarc={item['dmarc']} {item['domain_match']}  {who}"
        + (f"  [{item['note']}]" if item["note"] else "")
    )


@mail_app.command("listen")
@handles_errors
def listen(
    host: Annotated[str, typer.Option(help="Address to listen on (behind the MX).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2525,
) -> None:
    """Receive mail for the desk's addresses until interrupted; 250 only after the message is committed."""
    c = long_running_container()
    if not c.settings.intake_addresses:
        c.engine.dispose()
        raise fail("set TRUSTDESK_INTAKE_ADDRESSES (e.g. lawful@trustdesk.example): no address is accepted")
    handler = smtp_server.IntakeHandler(
        c.sessions, c.clock, c.settings.intake_addresses, c.settings.mail_max_bytes,
        titles=store.catalogue_titles(c.catalogue),
    )  # fmt: skip
    listener = smtp_server.controller(handler, host, port)
    listener.start()
    typer.echo(f"listening on {host}:{port} for {', '.join(c.settings.intake_addresses)}")
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
    titles = store.catalogue_titles(c.catalogue)
    try:
        if once:
            done = imap_poller.poll_once(c.sessions, c.clock, box, titles=titles)
            typer.echo(f"{len(done.stored)} stored, {done.failed} left unseen for the next round")
            if done.failed:
                raise typer.Exit(1)
            return
        stop = threading.Event()
        try:
            imap_poller.poll_forever(c.sessions, c.clock, box, interval, stop, titles=titles)
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
    """Feed one message (RFC 5322 file) into the intake, as if it had arrived; SPF is not checked."""
    raw = file.read_bytes()
    with work() as (c, session):
        if len(raw) > c.settings.mail_max_bytes:
            raise fail(f"{file} is larger than TRUSTDESK_MAIL_MAX_BYTES ({c.settings.mail_max_bytes} bytes)")
        known = store.find_duplicate(session, raw) is not None
        message = store.receive(
            session,
            c.clock,
            raw,
            channel=store.EMAIL,
            recipient=to,
            titles=store.catalogue_titles(c.catalogue),
        )
        item = describe(message) | {"already_received": known}
    emit(item, as_json, ("already received: " if known else "stored: ") + _line(item))


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
    with work() as (c, session):
        user = staff.acting_user(session, as_user)
        message = mailroom.upload_letter(
            session, c.clock, user, file.read_bytes(), file.name, postmark=stamped, sender_name=sender,
            sender_address=address, note=note, max_bytes=c.settings.max_document_bytes,
            titles=store.catalogue_titles(c.catalogue),
        )  # fmt: skip
        item = describe(message)
    emit(item, as_json, "in triage: " + _line(item))


@triage_app.command("list")
@handles_errors
def triage_list(as_json: JsonFlag = False) -> None:
    """The messages waiting in triage, newest first."""
    with work() as (_c, session):
        items = [describe(m) for m in mailroom.list_triage(session)]
    emit(items, as_json, "\n".join(_line(i) for i in items) or "nothing waits in triage")
