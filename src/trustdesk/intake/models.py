"""Requests that arrive outside the portal and the API: e-mail and the mailroom's scanned letters, kept whole
before anything else is done with them, and the mail the desk sends."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime


class InboundMessage(Base):
    """One message as received (an e-mail, or a letter or fax scanned by the mailroom): stored whole, with
    its SHA-256, before it is parsed, checked or triaged, so that nothing sent to the desk is ever lost."""

    __tablename__ = "inbound_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(16), index=True)  # email | mailroom
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    """When the desk received it: the SMTP transaction, the mailbox's arrival, or the letter's postmark."""
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sender: Mapped[str | None] = mapped_column(String(320))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(998))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    authenticity: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """DKIM, SPF and DMARC results and the agency domain matched (or why none), as staff are shown them."""
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    extracted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What was read from the body and the PDF: references, instruments, phone numbers, user names, links."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    """triage → accepted (became a request) | attached (to an existing request) | rejected."""
    request_id: Mapped[str | None] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    tracking_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    """Given at once to a message attributed to a registered agency (its acknowledgement quotes it); the
    request triage records keeps it."""
    uploaded_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    """The mailroom clerk who scanned it in."""
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundAttachment(Base):
    """A part of an inbound message with a file name (a signed order, usually a PDF)."""

    __tablename__ = "inbound_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    problem: Mapped[str | None] = mapped_column(Text)
    """Why it does not count as a signed order (not a PDF, unreadable, encrypted), if it does not."""


class OutboundMail(Base):
    """A message the desk sends (an acknowledgement, a question, an answer pointing to the portal), queued in
    the transaction that decided it and sent by the background loop, retried until delivered."""

    __tablename__ = "outbound_mail"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # acknowledgement | how_to_reach_us | question | answer | page
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    """Never personal data of users: answers point to the portal's encrypted download."""
    request_id: Mapped[str | None] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    inbound_id: Mapped[str | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    """The inbound message this answers (an acknowledgement, or how to reach the desk)."""
    correspondence_id: Mapped[str | None] = mapped_column(
        ForeignKey("request_correspondence.id"), unique=True
    )
    """The message of the file this mails (a question, an answer): mailed once."""
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
