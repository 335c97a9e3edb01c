"""Hash banks: create, import lists into, withdraw entries from, and describe them.

Every change of an entry takes the next number of the safety sequence (``BankEntry.seq``), in the same
transaction as its audit event, so that matchers can follow the banks incrementally: whatever has a
``seq`` above their watermark changed since they last looked.
"""

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import Clock
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.safety.importers import ImportFormat, ImportRow, RowError, read_rows, scan_file
from trustdesk.safety.models import Bank, BankEntry, BankImport, SafetySequence
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword, HashType

DEFAULT_PDQ_THRESHOLD = 31
MAX_PDQ_THRESHOLD = 63
BATCH = 5_000
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_HEX = re.compile(r"[0-9a-f]+")
_SEQUENCE_ID = 1
MAX_ERRORS_SHOWN = 20


def _actor_id(actor: Actor) -> str | None:
    return actor.id or actor.kind.value


def create_bank(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    name: str,
    category: DsaCategory,
    action: BankAction,
    keyword: DsaKeyword | None = None,
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD,
    description: str | None = None,
) -> Bank:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "a bank name is 1-64 characters: lower-case letters, digits, '.', '_' or '-'", field="name"
        )
    if not 0 <= pdq_threshold <= MAX_PDQ_THRESHOLD:
        raise InvalidInput(f"the PDQ threshold is 0..{MAX_PDQ_THRESHOLD} bits", field="threshold")
    if session.scalar(select(Bank.id).where(Bank.name == name)) is not None:
        raise Conflict(f"a bank named {name!r} exists already", field="name")
    bank = Bank(
        name=name,
        category=category,
        keyword=keyword,
        action=action,
        pdq_threshold=pdq_threshold,
        description=description,
        created_at=clock(),
        created_by=_actor_id(actor),
    )
    session.add(bank)
    session.flush()
    audit.record(
        session,
        clock,
        actor,
        AuditAction.BANK_CREATE,
        subject_type="bank",
        subject_id=str(bank.id),
        data={
            "name": name,
            "category": category.value,
            "keyword": keyword.value if keyword else None,
            "action": action.value,
            "pdq_threshold": pdq_threshold,
        },
    )
    return bank


def get_bank(session: Session, name: str) -> Bank:
    bank = session.scalar(select(Bank).where(Bank.name == name))
    if bank is None:
        raise NotFound(f"no bank named {name!r}", field="name")
    return bank


def list_banks(session: Session) -> list[Bank]:
    return list(session.scalars(select(Bank).order_by(Bank.name)))


def entry_counts(session: Session) -> dict[int, dict[str, int]]:
    """Active entries per bank and hash type, and withdrawn ones under ``"removed"``."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(BankEntry.bank_id, BankEntry.hash_type, BankEntry.removed_at.is_(None), func.count()).group_by(
            BankEntry.bank_id, BankEntry.hash_type, BankEntry.removed_at.is_(None)
        )
    )
    for bank_id, hash_type, active, count in rows:
        per_bank = counts.setdefault(bank_id, {})
        key = hash_type.value if active else "removed"
        per_bank[key] = per_bank.get(key, 0) + count
    return counts


def next_seqs(session: Session, count: int) -> int:
    """Reserve ``count`` consecutive change numbers and return the first; the row lock orders writers."""
    row = session.execute(
        select(SafetySequence).where(SafetySequence.id == _SEQUENCE_ID).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = SafetySequence(id=_SEQUENCE_ID, value=0)
        session.add(row)
    first = row.value + 1
    row.value += count
    session.flush()
    return first


@dataclass
class ImportReport:
    """What an import read, added, found already present and refused (with line numbers)."""

    bank: str
    filename: str
    sha256: str
    rows_read: int = 0
    rows_added: int = 0
    rows_present: int = 0
    rows_withdrawn: int = 0
    errors: list[RowError] = field(default_factory=list)
    """The first bad rows (up to a thousand), in line order."""
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)
    import_id: str | None = None

    @property
    def rows_bad(self) -> int:
        return self.error_count


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _error_summary(report: ImportReport) -> str:
    shown = "; ".join(str(e) for e in report.errors[:MAX_ERRORS_SHOWN])
    hidden = report.error_count - min(len(report.errors), MAX_ERRORS_SHOWN)
    more = f" (and {hidden} more)" if hidden else ""
    return (
        f"{report.error_count} bad row(s), nothing imported: {shown}{more} "
        "(use --skip-bad to import the rest)"
    )


def _batches(rows: Iterable[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    batch: list[ImportRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(
    session: Session,
    clock: Clock,
    actor: Actor,
    bank: Bank,
    path: Path,
    *,
    fmt: ImportFormat | None = None,
    default_type: HashType = HashType.PDQ,
    skip_bad: bool = False,
    source: str | None = None,
    source_date: str | None = None,
    contributor: str | None = None,
    on_check: Callable[[int], None] | None = None,
    on_store: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a hash list into ``bank``, streaming, idempotently, all or nothing unless ``skip_bad``.

    Pass one reads the whole file for errors (a file with any bad row imports nothing unless
    ``skip_bad``); pass two stores the good rows in batches, skipping what the bank holds already, so
    importing the same file twice adds nothing the second time. Withdrawn entries are not brought back
    by a re-import (``rows_withdrawn``). ``on_check`` and ``on_store`` are told the bytes read so far
    by each pass.
    """
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    if source_date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", source_date):
        raise InvalidInput("the list's date is YYYY-MM-DD", field="source_date")
    check = scan_file(path, fmt, default_type=default_type, on_progress=on_check)
    report = ImportReport(
        bank=bank.name, filename=path.name, sha256=_file_sha256(path), errors=list(check.errors),
        error_count=check.error_count, warnings=list(check.warnings),
    )  # fmt: skip
    if not check.ok and not skip_bad:
        raise InvalidInput(_error_summary(report), field="file")
    used_format = check.format.value
    record = BankImport(
        bank_id=bank.id,
        filename=path.name[:300],
        sha256=report.sha256,
        format=used_format,
        source=(source or path.name)[:200],
        contributor=contributor,
        rows_read=0,
        rows_added=0,
        rows_present=0,
        rows_bad=report.rows_bad,
        imported_at=clock(),
    )
    session.add(record)
    session.flush()
    report.import_id = record.id
    rows = read_rows(path, check.format, default_type=default_type, on_progress=on_store)
    good = (item for item in rows if isinstance(item, ImportRow))
    for batch in _batches(good, BATCH):
        report.rows_read += len(batch)
        _store_batch(session, clock, bank, batch, record, source_date, report)
    record.rows_read, record.rows_added, record.rows_present = (
        report.rows_read,
        report.rows_added,
        report.rows_present + report.rows_withdrawn,
    )
    audit.record(
        session,
        clock,
        actor,
        AuditAction.BANK_IMPORT,
        subject_type="bank",
        subject_id=str(bank.id),
        data={
            "import_id": record.id,
            "file": path.name,
            "sha256": report.sha256,
            "format": used_format,
            "source": record.source,
            "rows_read": report.rows_read,
            "rows_added": report.rows_added,
            "rows_present": report.rows_present,
            "rows_withdrawn": report.rows_withdrawn,
            "rows_bad": report.rows_bad,
        },
    )
    return report


def _store_batch(
    session: Session,
    clock: Clock,
    bank: Bank,
    batch: list[ImportRow],
    record: BankImport,
    source_date: str | None,
    report: ImportReport,
) -> None:
    unique: dict[tuple[HashType, str], ImportRow] = {}
    for row in batch:
        if (row.hash_type, row.value) in unique:
            report.rows_present += 1
        else:
            unique[(row.hash_type, row.value)] = row
    existing: dict[tuple[HashType, str], bool] = {}
    for hash_type in {key[0] for key in unique}:
        values = [value for kind, value in unique if kind is hash_type]
        for value, removed_at in session.execute(
            select(BankEntry.value, BankEntry.removed_at).where(
                BankEntry.bank_id == bank.id, BankEntry.hash_type == hash_type, BankEntry.value.in_(values)
            )
        ):
            existing[(hash_type, value)] = removed_at is not None
    fresh = [row for key, row in unique.items() if key not in existing]
    report.rows_present += sum(1 for removed in existing.values() if not removed)
    report.rows_withdrawn += sum(1 for removed in existing.values() if removed)
    if not fresh:
        return
    first = next_seqs(session, len(fresh))
    now = clock()
    session.execute(
        insert(BankEntry),
        [
            {
                "bank_id": bank.id,
                "hash_type": row.hash_type,
                "value": row.value,
                "quality": row.quality,
                "note": row.note,
                "source": record.source,
                "source_date": source_date,
                "contributor": record.contributor,
                "import_id": record.id,
                "added_at": now,
                "seq": first + offset,
            }
            for offset, row in enumerate(fresh)
        ],
    )
    report.rows_added += len(fresh)


def _normalised_hash(value: str) -> str:
    value = value.strip().lower()
    if len(value) not in (32, 64) or not _HEX.fullmatch(value):
        raise InvalidInput(f"{value!r} is not a hash: 32 (MD5) or 64 (PDQ, SHA-256) hex digits", field="hash")
    return value


def remove_entry(
    session: Session,
    clock: Clock,
    actor: Actor,
    bank: Bank,
    value: str,
    *,
    hash_type: HashType | None = None,
    reason: str | None = None,
) -> BankEntry:
    """Withdraw one hash from ``bank`` (it stops matching at once); the entry stays, marked removed."""
    value = _normalised_hash(value)
    query = select(BankEntry).where(
        BankEntry.bank_id == bank.id, BankEntry.value == value, BankEntry.removed_at.is_(None)
    )
    if hash_type is not None:
        query = query.where(BankEntry.hash_type == hash_type)
    entries = list(session.scalars(query))
    if not entries:
        raise NotFound(f"bank {bank.name!r} holds no active hash {value}", field="hash")
    if len(entries) > 1:
        raise InvalidInput(
            f"{value} is in bank {bank.name!r} as {', '.join(sorted(e.hash_type.value for e in entries))}: "
            "say which with --type",
            field="type",
        )
    entry = entries[0]
    entry.removed_at = clock()
    entry.removal_reason = reason
    entry.seq = next_seqs(session, 1)
    audit.record(
        session,
        clock,
        actor,
        AuditAction.BANK_ENTRY_REMOVE,
        subject_type="bank",
        subject_id=str(bank.id),
        data={"hash_type": entry.hash_type.value, "hash": value, "reason": reason, "entry_id": entry.id},
    )
    return entry
