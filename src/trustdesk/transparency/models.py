"""The transparency log, the published reports and the submissions to the EU Transparency Database."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.authorities.models import new_id
from trustdesk.db import Base, UTCDateTime


class TlogEntry(Base):
    """A leaf of the public transparency log: a request's receipt (a salted commitment, no personal data)
    or a head of the audit chain. Written with the record it commits to; given its ``leaf_index`` in the
    Merkle tree by the sequencer, in order of arrival."""

    __tablename__ = "tlog_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # receipt | audit_head
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    """The request's id, or the audit event's sequence number (never published)."""
    leaf: Mapped[str] = mapped_column(String(2000))
    """The leaf's exact content (canonical JSON); its RFC 9162 leaf hash is ``leaf_hash``."""
    leaf_hash: Mapped[str] = mapped_column(String(64), unique=True)
    salt: Mapped[str | None] = mapped_column(String(64))
    """A receipt's salt (hex), given to the authority with its acknowledgement; never published."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sequenced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TlogHead(Base):
    """A signed tree head, as a C2SP ``tlog-checkpoint`` signed note."""

    __tablename__ = "tlog_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    checkpoint: Mapped[str] = mapped_column(Text)


class Report(Base):
    """A transparency report for a period and scope: its canonical JSON document, signed; versions are kept,
    never overwritten."""

    __tablename__ = "transparency_reports"
    __table_args__ = (UniqueConstraint("period", "scope", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    period: Mapped[str] = mapped_column(String(16), index=True)  # 2026-H1, 2026-Q3, 2026
    scope: Mapped[str] = mapped_column(String(8))  # global, or an ISO 3166-1 country code
    version: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    document: Mapped[str] = mapped_column(Text)
    """The canonical JSON document the signature covers."""
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(64))
    tree_size: Mapped[int | None] = mapped_column(BigInteger)
    """The signed tree head the report includes."""
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReportFile(Base):
    """One rendering of a report (an EU template CSV, the country table, ...), covered by its document."""

    __tablename__ = "transparency_report_files"

    report_id: Mapped[str] = mapped_column(ForeignKey("transparency_reports.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))


class SorSubmission(Base):
    """A statement of reasons on its way to the EU Transparency Database (DSA Art. 24(5))."""

    __tablename__ = "sor_submissions"

    statement_id: Mapped[str] = mapped_column(ForeignKey("safety_statements.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | submitted | rejected
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    remote_id: Mapped[str | None] = mapped_column(String(100))
    """The database's own id of the statement, once accepted."""
