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
    locator: Mapped[str] = mapped_column(String(500))
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    blur: Mapped[bool] = mapped_column(Boolean)
    auto_removed: Mapped[bool] = mapped_column(Boolean)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
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
    enforcement_id: Mapped[str] = mapped_column(ForeignKey("safety_enforcements.id"), unique=True)
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
    enforcement_id: Mapped[str] = mapped_column(ForeignKey("safety_enforcements.id"), unique=True)
    event_key: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    incident: Mapped[dict[str, Any]] = mapped_column(JSON)


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
