"""Pass 1 of an import: ``scan_file`` reads every row and sums it up in an ``ImportCheck``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from trustdesk.safety.importers.formats import ImportFormat
from trustdesk.safety.importers.reader import RowReader
from trustdesk.safety.importers.rows import RowError
from trustdesk.safety.vocabulary import HashType

KEPT_ERRORS: Final = 1000  # errors an ImportCheck keeps (it counts them all)
DUPLICATE_WINDOW: Final = 1_000_000  # distinct rows scan_file remembers to count duplicates


@dataclass(frozen=True)
class ImportCheck:
    """What pass 1 found: enough to refuse, or to import the good rows and report the bad ones."""

    path: Path
    format: ImportFormat
    lines: int  # physical lines, blanks and comments included
    bytes: int
    rows: int  # good rows, duplicates included
    by_type: Mapping[HashType, int]
    errors: tuple[RowError, ...]  # the first KEPT_ERRORS, in line order
    error_count: int
    duplicates: int  # good rows that repeat an earlier good row of the file
    duplicates_complete: bool  # False when the file had more distinct rows than DUPLICATE_WINDOW
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def errors_truncated(self) -> bool:
        return self.error_count > len(self.errors)


def scan_file(
    path: Path,
    fmt: ImportFormat | None = None,
    *,
    default_type: HashType = HashType.PDQ,
    on_progress: Callable[[int], None] | None = None,
    kept_errors: int = KEPT_ERRORS,
    duplicate_window: int = DUPLICATE_WINDOW,
) -> ImportCheck:
    """Pass 1 of an import: read every row, count good rows per type, errors and duplicates.

    Memory is bounded: ``kept_errors`` errors are kept (all are counted), and duplicates are counted
    among the first ``duplicate_window`` distinct rows (about 60 bytes each); past it the count is a
    lower bound and ``duplicates_complete`` is False.
    """
    reader = RowReader(path, fmt, default_type=default_type, on_progress=on_progress)
    by_type: Counter[HashType] = Counter()
    errors: list[RowError] = []
    error_count = duplicates = 0
    seen: set[int] = set()
    complete = True
    for item in reader:
        if isinstance(item, RowError):
            error_count += 1
            if len(errors) < kept_errors:
                errors.append(item)
            continue
        by_type[item.hash_type] += 1
        key = hash((item.hash_type, item.value))
        if key in seen:
            duplicates += 1
        elif len(seen) < duplicate_window:
            seen.add(key)
        else:
            complete = False
    return ImportCheck(
        path=reader.path,
        format=reader.format,
        lines=reader.lines,
        bytes=reader.bytes_read,
        rows=sum(by_type.values()),
        by_type=dict(by_type),
        errors=tuple(errors),
        error_count=error_count,
        duplicates=duplicates,
        duplicates_complete=complete,
        warnings=tuple(reader.warnings),
    )
