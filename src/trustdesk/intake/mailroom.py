"""The mailroom: a letter or fax, scanned to PDF by a staff member, joins the same triage queue as e-mail.

Date of receipt: the **postmark** (at 00:00 UTC of that day), as the issue asks — the desk counts from when
the authority sent it, never later than when it arrived; a postmark in the future or before the desk's
records could begin is refused. The clerk's upload time is ``created_at``; the audit event records both.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, ActorKind, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.intake import store
from trustdesk.intake.models import InboundAttachment, InboundMessage
from trustdesk.staff.models import StaffUser
from trustdesk.staff.roles import Permission
from trustdesk.staff.service import require

__all__ = [
    "attachment_headers",
    "list_triage",
    "open_attachment",
    "received_on",
    "upload_letter",
]

MAX_NAME: Final = 200
MAX_ADDRESS: Final = 500
MAX_NOTE: Final = 2000
OLDEST_POSTMARK: Final = timedelta(days=366)
"""A postmark more than a year old is a typing error more often than a letter found behind a cabinet."""


def received_on(postmark: date, now: datetime) -> datetime:
    """The date of receipt of a letter stamped ``postmark``: that day at 00:00 UTC."""
    at = datetime.combine(postmark, time(0, 0), tzinfo=UTC)
    if at.date() > now.astimezone(UTC).date():
        raise InvalidInput(f"the postmark {postmark.isoformat()} is in the future", field="postmark")
    if now - at > OLDEST_POSTMARK:
        raise InvalidInput(f"the postmark {postmark.isoformat()} is more than a year old", field="postmark")
    return at


def _text(value: str, limit: int, field: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field.replace('_', ' ')} is required", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field.replace('_', ' ')} has at most {limit} characters", field=field)
    return value


def upload_letter(
    session: Session,
    clock: Clock,
    user: StaffUser,
    pdf: bytes,
    filename: str,
    *,
    postmark: date,
    sender_name: str,
    sender_address: str = "",
    note: str = "",
    max_bytes: int = 20 * 1_048_576,
    titles: list[tuple[str, str]] | None = None,
) -> InboundMessage:
    """Scan a letter into the triage queue (``staff:mailroom:upload``). A file that is not a PDF is
    refused; a PDF that does not parse is kept, with its problem shown."""
    require(user, Permission.STAFF_MAILROOM_UPLOAD)
    name = _text(sender_name, MAX_NAME, "sender_name", required=True)
    address = _text(sender_address, MAX_ADDRESS, "sender_address")
    remark = _text(note, MAX_NOTE, "note")
    if not pdf:
        raise InvalidInput("the scan is empty", field="file")
    if len(pdf) > max_bytes:
        raise InvalidInput(f"the scan is larger than {max_bytes:,} bytes", field="file")
    if not pdf.startswith(b"%PDF-"):
        raise InvalidInput("the scan must be a PDF", code="unsupported_media_type", field="file")
    received_at = received_on(postmark, clock())
    earlier = store.find_duplicate(session, pdf, store.MAILROOM)
    if earlier is not None:
        raise Conflict(
            f"this scan is already in the queue (uploaded {earlier.created_at:%Y-%m-%d %H:%M} UTC)",
            code="letter_already_uploaded",
            field="file",
        )
    remarks = (f"postmark {postmark.isoformat()}", address and f"from {address}", remark)
    filename = (filename or "letter.pdf").replace('"', "").replace("/", "_").replace("\\", "_")[:255]
    message = store.receive(
        session, clock, pdf, channel=store.MAILROOM, envelope_from=name, received_at=received_at,
        uploaded_by=user.id, filename=filename,
        note="; ".join(p for p in remarks if p),
        titles=titles or [],
    )  # fmt: skip
    if message.extracted is not None:
        message.extracted = message.extracted | {"sender_address": address, "postmark": postmark.isoformat()}
    return message


def list_triage(session: Session, *, limit: int = 200) -> list[InboundMessage]:
    """The messages waiting in triage, newest received first."""
    return list(
        session.scalars(
            select(InboundMessage)
            .where(InboundMessage.status == store.TRIAGE)
            .order_by(InboundMessage.received_at.desc(), InboundMessage.id)
            .limit(limit)
        )
    )


def attachments_of(session: Session, message_id: str) -> list[InboundAttachment]:
    return list(
        session.scalars(
            select(InboundAttachment)
            .where(InboundAttachment.message_id == message_id)
            .order_by(InboundAttachment.position)
        )
    )


def open_attachment(session: Session, clock: Clock, user: StaffUser, attachment_id: str) -> InboundAttachment:
    """A staff member opens an attachment of an inbound message (audited: who read which file, when)."""
    require(user, Permission.STAFF_REQUEST_READ)
    attachment = session.get(InboundAttachment, attachment_id)
    if attachment is None:
        raise NotFound(f"no attachment {attachment_id}", code="attachment_not_found")
    audit.record(
        session, clock, Actor(ActorKind.STAFF, user.id), AuditAction.INBOUND_ATTACHMENT_VIEW,
        subject_type="inbound_message", subject_id=attachment.message_id,
        data={"after": {"attachment_id": attachment.id, "sha256": attachment.sha256, "viewed_by": user.id}},
    )  # fmt: skip
    return attachment


def attachment_headers(attachment: InboundAttachment) -> dict[str, Any]:
    """Served as a download, never rendered in Trustdesk's origin, sandboxed for a browser that would."""
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in attachment.filename) or "attachment"
    return {
        "Content-Disposition": f'attachment; filename="{safe}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
