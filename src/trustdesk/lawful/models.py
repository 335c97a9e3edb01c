"""Lawful requests, their targets, documents and idempotency records."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.authorities.models import Agency, new_id
from trustdesk.db import Base, UTCDateTime, enum_type
from trustdesk.lawful.vocabulary import (
    AnnexIIIGround,
    ConflictResolution,
    EnforcingAnswer,
    EnforcingGround,
    FirstOrderNotice,
    HoldEnd,
    ValidationStatus,
    WindowKind,
)
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
    non_disclosure_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    statement_of_reasons: Mapped[str | None] = mapped_column(Text)
    redress_information: Mapped[str | None] = mapped_column(Text)
    territorial_scope: Mapped[list[str] | None] = mapped_column(JSON)
    supervisor_contact: Mapped[dict[str, str] | None] = mapped_column(JSON)
    suspect_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    listed_offence: Mapped[str | None] = mapped_column(String(64))
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    catalogue_version: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The validating authority of an order issued by a non-judicial authority (e-Evidence Art. 4).
    validation_status: Mapped[ValidationStatus | None] = mapped_column(enum_type(ValidationStatus))
    validator_kind: Mapped[IssuerKind | None] = mapped_column(enum_type(IssuerKind))
    validator_name: Mapped[str | None] = mapped_column(String(200))
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Offence facts the law's thresholds and exceptions turn on (e-Evidence Arts 5, 8(2)).
    by_information_system: Mapped[bool] = mapped_column(Boolean, default=False)
    sentence_months: Mapped[int | None] = mapped_column(Integer)
    offence_in_issuing_state: Mapped[bool] = mapped_column(Boolean, default=False)
    person_resides_in_issuing_state: Mapped[bool] = mapped_column(Boolean, default=False)
    target_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The desk's internal target: like ``due_at``, but the desk's own questions stop it too."""
    receipt_ground: Mapped[str | None] = mapped_column(String(40))
    """The ground of a refusal on receipt (instrument not applicable or not recognised, jurisdiction
    exited)."""
    # The enforcing authority (e-Evidence Arts 8, 10, 12): None = not concerned.
    enforcing_notification: Mapped[bool | None] = mapped_column(Boolean)
    enforcing_answer: Mapped[EnforcingAnswer | None] = mapped_column(enum_type(EnforcingAnswer))
    enforcing_ground: Mapped[EnforcingGround | None] = mapped_column(enum_type(EnforcingGround))
    enforcing_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    use_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the data produced became unusable (validation refused, objection): recorded, authority told."""
    use_stopped_reason: Mapped[str | None] = mapped_column(String(40))
    tco_first_order_notice: Mapped[FirstOrderNotice | None] = mapped_column(enum_type(FirstOrderNotice))
    claimed_issuer_kind: Mapped[IssuerKind | None] = mapped_column(enum_type(IssuerKind))
    """The kind the request claimed for its issuing authority when it differs from the agency's verified
    kind (``issuer_kind``, on which competence is judged)."""
    signed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    signature_key_id: Mapped[str | None] = mapped_column(String(100))
    """The agency key (RFC 9421 ``keyid``) whose valid signature the submission carried."""
    risk_score: Mapped[int | None] = mapped_column(Integer)
    risk_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """Each fired rule of ``lawful/risk.py``: code, points, sentence."""
    held_for_callback: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Nothing is disclosed before a callback confirms the request (its risk, or the law)."""
    agency: Mapped[Agency] = relationship(lazy="joined")
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


class RequestPause(Base):
    """A stretch during which the deadline clock stops (a clarification the instrument lets pause it)."""

    __tablename__ = "request_pauses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Decision(Base):
    """A reviewer's decision, with the recommendation it followed or deviated from."""

    __tablename__ = "request_decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    decided_by: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    allowed_categories: Mapped[list[str]] = mapped_column(JSON)
    grounds: Mapped[list[str]] = mapped_column(JSON)
    justification: Mapped[str | None] = mapped_column(Text)
    deviates: Mapped[bool] = mapped_column(Boolean)
    recommendation: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approval_note: Mapped[str | None] = mapped_column(Text)
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)


class Correspondence(Base):
    """A message between the authority and the legal team about one request."""

    __tablename__ = "request_correspondence"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))  # to_authority | from_authority
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    author_kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Production(Base):
    """An encrypted, signed production package for the requesting agency."""

    __tablename__ = "productions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipient: Mapped[str] = mapped_column(String(100))
    signer_key_id: Mapped[str] = mapped_column(String(32))
    categories: Mapped[list[str]] = mapped_column(JSON)
    records: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    downloads: Mapped[int] = mapped_column(Integer, default=0)


class PreservationHold(Base):
    """A hold placed through the platform connector on one account's data."""

    __tablename__ = "preservation_holds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(255))
    categories: Mapped[list[str]] = mapped_column(JSON)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    """None once a production request was confirmed (Annex V): kept as long as needed (Art. 11(1))."""
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(32))
    ended: Mapped[HoldEnd | None] = mapped_column(enum_type(HoldEnd))
    production_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    production_reference: Mapped[str | None] = mapped_column(String(100))
    """The production request the authority confirmed: a tracking number here or its own reference."""


class Removal(Base):
    """Content removed or restricted through the connector on an order; kept for the legal period."""

    __tablename__ = "removals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    locator: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(16))
    scope: Mapped[list[str] | None] = mapped_column(JSON)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_account_id: Mapped[str | None] = mapped_column(String(255))
    reinstated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserNotice(Base):
    """A notice to the user whose data was disclosed: scheduled, sent, or withheld with the reason."""

    __tablename__ = "user_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)  # scheduled | sent | withheld
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_notice_id: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class DeadlineAlert(Base):
    """One alert per request and kind, so the monitor never repeats itself."""

    __tablename__ = "deadline_alerts"
    __table_args__ = (UniqueConstraint("request_id", "kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"))
    kind: Mapped[str] = mapped_column(String(16))  # emergency | at_risk | overdue
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LegalWindow(Base):
    """A legal period other than the answer deadline: opened by an event, watched by the monitor, closed
    by another event with its outcome (see ``WindowKind``)."""

    __tablename__ = "legal_windows"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    kind: Mapped[WindowKind] = mapped_column(enum_type(WindowKind))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    """What the window is about when a request has several (a complaint, a removal)."""
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    """None for a window open as long as needed (a retention an authority extended without an end)."""
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)


class PrincipleConflict(Base):
    """A binding order that asked for more than the platform's principles disclose, and how it ended.

    The conflict register per jurisdiction is the evidence a platform needs before leaving a market."""

    __tablename__ = "principle_conflicts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(2), index=True)
    instrument: Mapped[InstrumentCode] = mapped_column(enum_type(InstrumentCode))
    principle_id: Mapped[str] = mapped_column(String(8))
    principle_key: Mapped[str] = mapped_column(String(32))
    categories: Mapped[list[str]] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution: Mapped[ConflictResolution | None] = mapped_column(enum_type(ConflictResolution))
    legal_ground: Mapped[AnnexIIIGround | None] = mapped_column(enum_type(AnnexIIIGround))
    justification: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RemovalComplaint(Base):
    """A content provider's complaint about content removed on a TCO order (Art. 10): answered in 2 weeks."""

    __tablename__ = "removal_complaints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    removal_id: Mapped[str] = mapped_column(ForeignKey("removals.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    """True: the removal was reversed and the content reinstated; False: dismissed."""
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))


class ThreatNotification(Base):
    """DSA Art. 18: information giving rise to a suspicion of a criminal offence involving a threat to
    the life or safety of persons, notified promptly to the law-enforcement or judicial authorities of the
    Member State concerned (else of establishment or of the legal representative, and/or Europol)."""

    __tablename__ = "threat_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    """The review case in which the content was found (safety_cases.id)."""
    country: Mapped[str | None] = mapped_column(String(2))
    """The Member State concerned; None when it cannot be identified (then Europol and the State of the
    legal representative)."""
    recipients: Mapped[list[str]] = mapped_column(JSON)
    facts: Mapped[str] = mapped_column(Text)
    locator: Mapped[str] = mapped_column(String(500))
    account_id: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(32))


class RequestCallback(Base):
    """A call back to the requesting agency on a number from an official directory, never from the request
    itself, to confirm that it really sent the request; who called, whom, and what they said."""

    __tablename__ = "request_callbacks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("lawful_requests.id"), index=True)
    called_at: Mapped[datetime] = mapped_column(UTCDateTime())
    called_by: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    number: Mapped[str] = mapped_column(String(40))
    directory: Mapped[str] = mapped_column(String(300))
    """Where the number comes from (an official directory, the agency's public website), for the record."""
    person_reached: Mapped[str] = mapped_column(String(200))
    confirmed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)


class CredentialNetwork(Base):
    """A network an officer's credential submitted from (IPv4 /24, IPv6 /48): a new one counts as a risk."""

    __tablename__ = "credential_networks"

    credential_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
