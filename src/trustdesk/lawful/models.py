"""Lawful requests, their targets, documents and idempotency records."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime, enum_type
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.vocabulary import InstrumentCode, IssuerKind, TargetType


class LawfulRequest(Base):
    __tablename__ = "lawful_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tracking_number: Mapped[str] = mapped_column(String(32), unique=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    officer_id: Mapped[str] = mapped_column(ForeignKey("officers.id"), index=True)
    instrument: Mapped[InstrumentCode] = mapped_column(enum_type(InstrumentCode))
    reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[RequestStatus] = mapped_column(enum_type(RequestStatus), index=True)
    emergency: Mapped[bool] = mapped_column(Boolean)
    emergency_justification: Mapped[str | None] = mapped_column(Text)
    issuer_name: Mapped[str] = mapped_column(String(200))
    issuer_kind: Mapped[IssuerKind] = mapped_column(enum_type(IssuerKind))
    issuer_country: Mapped[str] = mapped_column(String(2))
    legal_basis: Mapped[str] = mapped_column(Text)
    offence_description: Mapped[str | None] = mapped_column(Text)
    offence_max_penalty_years: Mapped[int | None] = mapped_column(Integer)
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confidential_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    catalogue_version: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    targets: Mapped[list["RequestTarget"]] = relationship(
        cascade="all, delete-orphan", order_by="RequestTarget.position", lazy="selectin"
    )
    documents: Mapped[list["RequestDocument"]] = relationship(
        cascade="all, delete-orphan", order_by="RequestDocument.uploaded_at", lazy="selectin"
    )


class RequestTarget(Base):
    __tablename__ = "request_targets"

    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[TargetType] = mapped_column(enum_type(TargetType))
    value: Mapped[str] = mapped_column(String(500))


class RequestDocument(Base):
    """A signed legal document, kept in the database so it shares the request's transaction and backups."""

    __tablename__ = "request_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(ForeignKey("officers.id"))


class IdempotencyRecord(Base):
    """Claims an officer's Idempotency-Key before the request is created, so a retry finds it."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("officer_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    officer_id: Mapped[str] = mapped_column(ForeignKey("officers.id"))
    key: Mapped[str] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
