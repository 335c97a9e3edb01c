"""`trustdesk triage`: the queue of e-mail and letters waiting for a legal reviewer, and the reviewer's
decisions on them (docs/mail-intake.md, "Triage"): record one as a lawful request, attach it to a request,
or reject it. Each command is one unit of work, audited as the staff member named by ``--as``; a recorded
request's arrival is published after the commit, as on the portal (preservation, on-call paging)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from trustdesk.bus.protocol import Subject
from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, work
from trustdesk.db import unit_of_work
from trustdesk.errors import NotFound
from trustdesk.intake import mailroom, triage
from trustdesk.intake.models import InboundMessage
from trustdesk.lawful.schemas import RequestIn
from trustdesk.staff import service as staff

triage_app = typer.Typer(help="The triage queue of inbound messages.", no_args_is_help=True)

AsUser = Annotated[str, typer.Option("--as", help="E-mail of the legal reviewer deciding.")]


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
        "tracking_number": message.tracking_number,
        "request_id": message.request_id,
        "dkim": verdict.get("dkim"),
        "spf": verdict.get("spf"),
        "dmarc": verdict.get("dmarc"),
        "domain_match": verdict.get("domain_match"),
        "reasons": verdict.get("reasons", []),
        "extracted": message.extracted or {},
        "note": message.note,
    }


def line(item: dict[str, Any]) -> str:
    who = f"agency {item['agency_id']}" if item["agency_id"] else "not attributed"
    return (
        f"{item['id']}  {item['channel']:<8} {item['received_at'][:16]}  {item['sender'] or '-'}  "
        f"dkim={item['dkim']} dmarc={item['dmarc']} {item['domain_match']}  {who}"
        + (f"  [{item['note']}]" if item["note"] else "")
    )


@triage_app.command("list")
@handles_errors
def triage_list(as_json: JsonFlag = False) -> None:
    """The messages waiting in triage, newest first."""
    with work() as (_c, session):
        items = [describe(m) for m in mailroom.list_triage(session)]
    emit(items, as_json, "\n".join(line(i) for i in items) or "nothing waits in triage")


@triage_app.command("show")
@handles_errors
def show(message_id: str, as_json: JsonFlag = False) -> None:
    """One message: its verdict and the reasons, what was read from it, its attachments."""
    with work() as (_c, session):
        message = session.get(InboundMessage, message_id)
        if message is None:
            raise NotFound(f"no inbound message {message_id}", code="inbound_not_found")
        item = describe(message) | {
            "attachments": [
                {"id": a.id, "filename": a.filename, "sha256": a.sha256, "problem": a.problem}
                for a in mailroom.attachments_of(session, message_id)
            ]
        }
    reasons = "\n".join(f"  - {r}" for r in item["reasons"])
    files = "\n".join(
        f"  {a['filename']} {a['sha256'][:12]}  {a['problem'] or 'ok'}" for a in item["attachments"]
    )
    read = json.dumps(item["extracted"], ensure_ascii=False)
    emit(
        item,
        as_json,
        f"{line(item)}\nwhy:\n{reasons}\nread from it: {read}\nattachments:\n{files or '  none'}",
    )


def _request(path: Path) -> RequestIn:
    try:
        return RequestIn.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise fail(f"--request {path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise fail(f"--request {path}: {problems}") from None


@triage_app.command("accept")
@handles_errors
def accept(
    message_id: str,
    as_user: AsUser,
    officer: Annotated[str, typer.Option(help="E-mail of the officer who sent it (of the mail's agency).")],
    request: Annotated[
        Path, typer.Option("--request", help="The request completed from the message, as the API's JSON.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Record the message as a lawful request, received when the message was."""
    from trustdesk.authorities import service as authorities

    body = _request(request)
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            user = staff.acting_user(session, as_user)
            sender = authorities.find_officer(session, officer)
            if sender is None:
                raise fail(f"--officer: no officer {officer}")
            recorded = triage.accept(
                session, c.clock, user, message_id, body, officer_id=sender.id, catalogue=c.catalogue,
                policy=c.policy, replies=c.arrivals.replies, max_document_bytes=c.settings.max_document_bytes,
            )  # fmt: skip
            out: dict[str, Any] = {
                "tracking_number": recorded.tracking_number,
                "request_id": recorded.id,
                "received_at": recorded.received_at.isoformat(),
                "due_at": recorded.due_at.isoformat() if recorded.due_at else None,
                "risk_score": recorded.risk_score,
                "held_for_callback": recorded.held_for_callback,
                "refused_on_receipt": recorded.receipt_ground is not None,
            }
            documents = [d.id for d in recorded.documents]
        if not out["refused_on_receipt"]:  # committed: now its arrival (preservation, on-call page)
            c.bus.publish(Subject.REQUEST_RECEIVED, {"request_id": recorded.id})
        for document_id in documents:
            c.bus.publish(Subject.DOCUMENT_ATTACHED, {"document_id": document_id})
    finally:
        c.engine.dispose()
    held = ", held for a callback" if out["held_for_callback"] else ""
    emit(out, as_json, f"recorded as {out['tracking_number']}, due {out['due_at'] or '-'}{held}")


@triage_app.command("attach")
@handles_errors
def attach(message_id: str, tracking_number: str, as_user: AsUser, as_json: JsonFlag = False) -> None:
    """Attach the message to an existing request as a message from its authority."""
    with work() as (c, session):
        user = staff.acting_user(session, as_user)
        done = triage.attach(session, c.clock, user, message_id, tracking_number, c.catalogue)
        out = {"id": message_id, "tracking_number": done.tracking_number, "status": triage.ATTACHED}
    emit(out, as_json, f"attached to {out['tracking_number']}")


@triage_app.command("reject")
@handles_errors
def reject(
    message_id: str,
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Why it is not a request (told to an acknowledged sender).")],
    as_json: JsonFlag = False,
) -> None:
    """Decide the message is not a request: it stays kept and counted, with the reason."""
    with work() as (c, session):
        user = staff.acting_user(session, as_user)
        message = triage.reject(session, c.clock, user, message_id, reason, c.arrivals.replies)
        out = describe(message)
    emit(out, as_json, f"rejected: {line(out)}")
