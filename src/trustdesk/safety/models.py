"""Safety tables: hash banks and their entries, imports, the change sequence, signals, cases, actions.

The matchers never read these per event: they build their in-memory and memory-mapped structures from
``BankEntry`` and follow its ``seq`` column (every addition, removal and re-addition takes the next
value of ``SafetySequence``) to refresh incrementally.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime, enum_type
from trustdesk.safety.vocabulary import (
    BankAction,
    CaseStatus,
    ChatType,
    ContentKind,
    DsaCategory,
    DsaKeyword,
    HashType,
)
from trustdesk.safety.workflow import AppealStatus, CaseSource

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid alias must be INTEGER


class Bank(Base):
    """A named list of known hashes with what a match means (DSA category) and does (action)."""

    __tablename__ = "safety_banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[DsaCategory] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    action: Mapped[BankAction] = mapped_column(enum_type(BankAction))
    pdq_threshold: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(64))


class SafetySequence(Base):
    """One row: the last change number given to a bank entry. Locked by every change, like the audit head."""

    __tablename__ = "safety_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class BankImport(Base):
    """One import of a hash-list file into a bank, with what it added and refused."""

    __tablename__ = "safety_bank_imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    bank_id: Mapped[int] = mapped_column(ForeignKey("safety_banks.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(200))
    contributor: Mapped[str | None] = mapped_column(String(200))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_added: Mapped[int] = mapped_column(Integer)
    rows_present: Mapped[int] = mapped_column(Integer)
    rows_bad: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BankEntry(Base):
    """One hash in one bank, with its provenance. Withdrawn entries stay, marked removed, for the record."""

    __tablename__ = "safety_bank_entries"
    __table_args__ = (UniqueConstraint("bank_id", "hash_type", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("safety_banks.id"))
    hash_type: Mapped[HashType] = mapped_column(enum_type(HashType))
    value: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(200))
    source_date: Mapped[str | None] = mapped_column(String(10))
    contributor: Mapped[str | None] = mapped_column(String(200))
    import_id: Mapped[str | None] = mapped_column(ForeignKey("safety_bank_imports.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removal_reason: Mapped[str | None] = mapped_column(String(500))
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)


class Signal(Base):
    """One detection: which detector fired on which content, through which bank, rule or model."""

    __tablename__ = "safety_signals"
    __table_args__ = (UniqueConstraint("event_key", "detector", "source", "matched"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_key: Mapped[str] = mapped_column(String(300), index=True)
    detector: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(100))
    matched: Mapped[str] = mapped_column(String(100))
    distance: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    action: Mapped[BankAction] = mapped_column(enum_type(BankAction))
    category: Mapped[DsaCategory | None] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    content_kind: Mapped[ContentKind] = mapped_column(enum_type(ContentKind))
    account_id: Mapped[str] = mapped_column(String(200), index=True)
    chat_id: Mapped[str] = mapped_column(String(200))
    locator: Mapped[str] = mapped_column(String(500))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("safety_cases.id"), index=True)


class Case(Base):
    """A piece of content waiting for a person's decision, with the signals that put it there."""

    __tablename__ = "safety_cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_key: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus), index=True)
    priority: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[DsaCategory | None] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    content_kind: Mapped[ContentKind] = mapped_column(enum_type(ContentKind))
    chat_type: Mapped[ChatType | None] = mapped_column(enum_type(ChatType))
    account_id: Mapped[str] = mapped_column(String(200))
    chat_id: Mapped[str] = mapped_column(String(200))
    locator: Mapped[str] = mapped_column(String(500), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    blur: Mapped[bool] = mapped_column(Boolean)
    auto_removed: Mapped[bool] = mapped_column(Boolean)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[CaseSource] = mapped_column(
        enum_type(CaseSource), default=CaseSource.AUTOMATED, server_default=CaseSource.AUTOMATED.value
    )
    """The strongest source among what put the case here (an authority order, a trusted flagger...)."""
    audience: Mapped[int | None] = mapped_column(Integer)
    """How many people can see the content (a public channel's members): its reach."""
    target_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    """When the case should be decided, from its severity and source."""
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signals: Mapped[list[Signal]] = relationship(order_by=Signal.detected_at, lazy="selectin")


class Enforcement(Base):
    """An automatic action taken on content through the platform connector."""

    __tablename__ = "safety_enforcements"
    __table_args__ = (UniqueConstraint("event_key", "action"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_key: Mapped[str] = mapped_column(String(300))
    action: Mapped[BankAction] = mapped_column(enum_type(BankAction))
    locator: Mapped[str] = mapped_column(String(500))
    account_id: Mapped[str] = mapped_column(String(200))
    category: Mapped[DsaCategory | None] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("safety_cases.id"))


class Evidence(Base):
    """Removed content preserved as evidence: its text and media hashes, kept until ``retain_until``."""

    __tablename__ = "safety_evidence"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    enforcement_id: Mapped[str | None] = mapped_column(ForeignKey("safety_enforcements.id"), unique=True)
    """The automatic removal that preserved it, or (``decision_id``) a reviewer's decision."""
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("safety_decisions.id"), unique=True)
    event_key: Mapped[str] = mapped_column(String(300), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    preserved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    legal_basis: Mapped[str] = mapped_column(String(200))


class NcmecReport(Base):
    """A CyberTipline report queued for known child sexual abuse material (18 U.S.C. § 2258A)."""

    __tablename__ = "safety_ncmec_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    enforcement_id: Mapped[str | None] = mapped_column(ForeignKey("safety_enforcements.id"), unique=True)
    """The automatic removal that found it (a hash match), or None for a reviewer's decision."""
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("safety_decisions.id"), unique=True)
    event_key: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[str] = mapped_column(String(200))
    locator: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)
    """queued → open (submitted, files going in) → reported (finished at NCMEC) | failed."""
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    incident: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    cybertip_id: Mapped[str | None] = mapped_column(String(32))
    """NCMEC's report id, once ``/submit`` answered it."""
    files: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """The files put into the open report so far: NCMEC's file id and whether it is described."""
    file_viewed: Mapped[bool | None] = mapped_column(Boolean)
    """Whether a person at the platform looked at the file (``fileViewedByEsp``); a hash match: no."""
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @classmethod
    def queued(
        cls,
        *,
        event_key: str,
        account_id: str,
        locator: str | None,
        at: datetime,
        file_viewed: bool,
        incident: dict[str, Any],
        enforcement_id: str | None = None,
        decision_id: str | None = None,
    ) -> "NcmecReport":
        """A report queued now, to be sent by the background loop (``safety.ncmec``) at once."""
        return cls(
            enforcement_id=enforcement_id, decision_id=decision_id, event_key=event_key,
            account_id=account_id, locator=locator, status="queued", queued_at=at, next_attempt_at=at,
            attempts=0, file_viewed=file_viewed, incident=incident,
        )  # fmt: skip


class PlatformToken(Base):
    """A service token with which the platform (its Synapse module, say) calls Trustdesk; SHA-256 only."""

    __tablename__ = "platform_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_safety_bank_entries_bank_removed", BankEntry.bank_id, BankEntry.removed_at)


class IngestCursor(Base):
    """How far the ingest loop has read a platform's content stream (advanced once per batch)."""

    __tablename__ = "safety_ingest_cursors"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(200))
    events: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------------------------------
# Due process (DSA Arts 16, 17, 20, 22, 23)


class TrustedFlagger(Base):
    """An organisation awarded trusted-flagger status (DSA Art. 22); its notices are handled first."""

    __tablename__ = "safety_trusted_flaggers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    """The Member State whose Digital Services Coordinator awarded the status."""
    contact_email: Mapped[str] = mapped_column(String(320))
    expertise: Mapped[list[str]] = mapped_column(JSON)
    """The DSA categories it is designated for."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notice(Base):
    """A notice of illegal content (DSA Art. 16), from anyone or from a trusted flagger."""

    __tablename__ = "safety_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("safety_cases.id"), index=True)
    locator: Mapped[str] = mapped_column(String(500), index=True)
    reason: Mapped[str] = mapped_column(Text)
    category: Mapped[DsaCategory] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    notifier_name: Mapped[str | None] = mapped_column(String(200))
    notifier_email: Mapped[str | None] = mapped_column(String(320))
    good_faith: Mapped[bool] = mapped_column(Boolean)
    trusted_flagger_id: Mapped[str | None] = mapped_column(ForeignKey("safety_trusted_flaggers.id"))
    notifier_key: Mapped[str] = mapped_column(String(64), index=True)
    """sha256 of the notifier's e-mail (else of its address): throttling and Art. 23(2) standing."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(24))
    """actioned, not_actioned or manifestly_unfounded, once the case is decided."""
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the key in the link that lets the notifier appeal a rejection (Art. 20(1))."""


class NotifierStanding(Base):
    """Art. 23(2): a notifier who often sends manifestly unfounded notices is warned, then suspended."""

    __tablename__ = "safety_notifier_standing"

    notifier_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    unfounded: Mapped[int] = mapped_column(Integer)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModerationDecision(Base):
    """A person's decision on a case: the restrictions, the ground, the DSA category; reversible."""

    __tablename__ = "safety_decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("safety_cases.id"), index=True)
    decided_by: Mapped[str] = mapped_column(String(36))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    restrictions: Mapped[list[str]] = mapped_column(JSON)
    """What is done (remove, disable, geo_restrict, demote, label, age_restrict, suspend, terminate);
    empty: no action (the notice is not actioned)."""
    territorial_scope: Mapped[list[str] | None] = mapped_column(JSON)
    ground: Mapped[str | None] = mapped_column(String(32))
    legal_ground: Mapped[str | None] = mapped_column(Text)
    tos_ground: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    category: Mapped[DsaCategory | None] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(36))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_reference: Mapped[str | None] = mapped_column(String(32), index=True)
    """The tracking number of the authority order this decision records (``safety/orders.py``)."""


class CaseAction(Base):
    """One step of enforcing a decision through the connector: idempotent, retried with back-off."""

    __tablename__ = "safety_case_actions"
    __table_args__ = (UniqueConstraint("decision_id", "kind", "target"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    decision_id: Mapped[str] = mapped_column(ForeignKey("safety_decisions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), index=True)
    """pending, done or failed (gave up after the last retry)."""
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What a notice step sends (cleared once sent: a statement's text holds its appeal key)."""


class StatementRecord(Base):
    """A statement of reasons (DSA Art. 17) as validated, delivered and kept for submission."""

    __tablename__ = "safety_statements"
    __table_args__ = (UniqueConstraint("decision_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    decision_id: Mapped[str] = mapped_column(ForeignKey("safety_decisions.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(200))
    puid: Mapped[str] = mapped_column(String(500), unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The statement in the EU Transparency Database's schema, exactly as validated."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    appeal_until: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    appeal_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the key in the statement's appeal link (the puid is public, the key is not)."""


class Appeal(Base):
    """An internal complaint against a decision (DSA Art. 20), by the affected user or the notifier."""

    __tablename__ = "safety_appeals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("safety_decisions.id"), index=True)
    appellant: Mapped[str] = mapped_column(String(16))
    """affected_user or notifier."""
    statement_id: Mapped[str | None] = mapped_column(ForeignKey("safety_statements.id"))
    notice_id: Mapped[str | None] = mapped_column(ForeignKey("safety_notices.id"))
    body: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[AppealStatus] = mapped_column(enum_type(AppealStatus), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Exposure(Base):
    """A reviewer saw a case's content: counted per day for the most harmful categories (wellness)."""

    __tablename__ = "safety_exposures"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("safety_cases.id"))
    category: Mapped[DsaCategory | None] = mapped_column(enum_type(DsaCategory))
    keyword: Mapped[DsaKeyword | None] = mapped_column(enum_type(DsaKeyword))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
