"""``RowReader``: one file's rows and row errors, streamed line by line, in CSV, TSV or pytx form.

The file is read in binary, one physical line at a time (decoded on its own, at most ``MAX_LINE_BYTES``),
with progress callbacks every ``PROGRESS_STEP`` bytes; ``read_rows`` is the plain entry point.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from trustdesk.safety.importers.formats import (
    _CSV_SCHEMA,
    _PYTX_CSV_SCHEMA,
    _SNIFF_BYTES,
    ImportFormat,
    _category,
    _columns,
    _encoding_message,
    _is_content,
    _is_match_output,
    _is_pytx_csv_header,
    _looks_like_value,
    _Schema,
    _sniff,
    detect_format,
)
from trustdesk.safety.importers.rows import ImportFileError, ImportRow, RowError
from trustdesk.safety.importers.values import (
    _HEX,
    _INDEXED,
    _NOT_INDEXED,
    _REFUSED_CATEGORIES,
    _ROTATIONS,
    _TYPE_NAMES,
    MAX_LINE_BYTES,
    _not_indexed,
    _row,
    _show,
)
from trustdesk.safety.vocabulary import HashType

PROGRESS_STEP: Final = 64 * 1024  # bytes between two progress callbacks


class RowReader:
    """An iterable of the rows and row errors of one file, in line order, with progress.

    ``bytes_read`` grows as lines are consumed (the file is never read ahead by more than a line), and
    ``on_progress(bytes_read)`` is called every ``PROGRESS_STEP`` bytes and at the end. ``warnings``
    collects file-level remarks (unknown columns) once each. Iterating again reads the file again.
    """

    def __init__(
        self,
        path: Path,
        fmt: ImportFormat | None = None,
        *,
        default_type: HashType = HashType.PDQ,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        if default_type is HashType.MD5:
            raise ValueError("default_type is for 64-hex values: pdq or sha256 (32 hex is always md5)")
        self.path = Path(path)
        if not self.path.is_file():
            raise ImportFileError(None, f"no such file: {self.path}")
        self.format = detect_format(self.path) if fmt is None else ImportFormat(fmt)
        self.default_type = default_type
        self.total_bytes = self.path.stat().st_size
        self.bytes_read = 0
        self.lines = 0
        self.warnings: list[str] = []
        self._on_progress = on_progress
        self._pending: list[RowError] = []
        self._record_start: int | None = None
        self._record_end = 0

    def __iter__(self) -> Iterator[ImportRow | RowError]:
        return self._rows()

    def _rows(self) -> Iterator[ImportRow | RowError]:
        self.bytes_read = self.lines = 0
        self.warnings = []
        self._pending = []
        produced = False
        with self.path.open("rb") as f:
            _sniff(f.read(_SNIFF_BYTES), self.path)
            f.seek(0)
            lines = self._lines(f)
            if self.format is ImportFormat.PYTX:
                rows = self._pytx(lines)
            else:
                rows = self._tabular(lines, "," if self.format is ImportFormat.CSV else "\t", _CSV_SCHEMA)
            for row in rows:
                produced = True
                yield row
            if self._pending:
                produced = True
                yield from self._flush()
        if self._on_progress is not None:
            self._on_progress(self.bytes_read)
        if not produced:
            raise ImportFileError(
                None, f"{self.path.name} has no hashes ({self.lines} lines of headers, blanks and comments)"
            )

    def _flush(self) -> Iterator[RowError]:
        pending, self._pending = self._pending, []
        yield from pending

    def _lines(self, f: BinaryIO) -> Iterator[tuple[int, str]]:
        """Physical lines, decoded, with their numbers; a bad line becomes a pending RowError."""
        reported = 0
        number = 0
        while raw := f.readline(MAX_LINE_BYTES):
            number += 1
            self.lines = number
            self.bytes_read += len(raw)
            if self._on_progress is not None and self.bytes_read - reported >= PROGRESS_STEP:
                reported = self.bytes_read
                self._on_progress(self.bytes_read)
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (more := f.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                    self.bytes_read += len(more)
                self.bytes_read += len(more)
                self._pending.append(RowError(number, f"the line is longer than {MAX_LINE_BYTES} bytes"))
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._pending.append(RowError(number, _encoding_message(raw, exc)))
                continue
            yield number, text

    # --- csv and tsv (and pytx's dataset --csv) -----------------------------------------------------

    def _feed(self, lines: Iterator[tuple[int, str]]) -> Iterator[str]:
        """What the csv module reads: content lines only, noting where each record starts and ends."""
        for number, text in lines:
            if not _is_content(text):
                continue
            if self._record_start is None:
                self._record_start = number
            self._record_end = number
            yield text

    def _next_record(self, reader: Iterator[list[str]]) -> tuple[int, list[str] | RowError] | None:
        self._record_start = None
        try:
            record = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            line = self._record_start or self._record_end
            return line, RowError(line, f"not valid CSV: {exc}")
        line = self._record_start or self._record_end
        if self._record_end != line:
            return line, RowError(
                line,
                f"the record runs on to line {self._record_end}: a quoted field spans lines "
                "(an unbalanced '\"'?)",
            )
        return line, record

    def _tabular(
        self, lines: Iterator[tuple[int, str]], delimiter: str, schema: _Schema
    ) -> Iterator[ImportRow | RowError]:
        reader = csv.reader(self._feed(lines), delimiter=delimiter, skipinitialspace=True)
        first = self._next_record(reader)
        if self._pending:
            raise ImportFileError(self._pending[0].line, self._pending[0].message)
        if first is None:
            raise ImportFileError(None, f"{self.path.name} has no header row (only blank lines and comments)")
        header_line, header = first
        if isinstance(header, RowError):
            raise ImportFileError(header_line, header.message)
        columns = [cell.strip().lower() for cell in header]
        if schema is _CSV_SCHEMA and _is_pytx_csv_header(columns):
            if self.format is ImportFormat.PYTX:
                schema = _PYTX_CSV_SCHEMA
            else:
                raise ImportFileError(
                    header_line,
                    "this is `threatexchange dataset --csv` output, with no 'hash' column: "
                    "import it with --format pytx (or without --format)",
                )
        index = self._header_index(header_line, header, columns, schema)
        width = len(columns)
        value_at = index[schema.value]
        type_at = index.get(schema.type) if schema.type else None
        quality_at = index.get(schema.quality) if schema.quality else None
        note_at = index.get(schema.note) if schema.note else None
        while (item := self._next_record(reader)) is not None:
            yield from self._flush()
            line, record = item
            if isinstance(record, RowError):
                yield record
                continue
            if len(record) > width:
                yield RowError(
                    line,
                    f"{len(record)} fields but the header has {width} columns "
                    "(quote a note that contains the delimiter)",
                )
                continue
            record.extend([""] * (width - len(record)))
            value = record[value_at]
            if not value.strip():
                yield RowError(line, f"no hash in the {schema.value!r} column")
                continue
            if schema.pytx:
                yield self._pytx_csv_row(line, record, index)
                continue
            yield _row(
                line,
                value,
                record[type_at] if type_at is not None else None,
                record[quality_at] if quality_at is not None else None,
                record[note_at] if note_at is not None else None,
                self.default_type,
            )

    def _header_index(
        self, line: int, header: list[str], columns: list[str], schema: _Schema
    ) -> dict[str, int]:
        index: dict[str, int] = {}
        unknown: list[str] = []
        for position, name in enumerate(columns):
            if name in schema.known:
                if name in index:
                    raise ImportFileError(line, f"the column {name!r} appears twice")
                index[name] = position
            else:
                unknown.append(repr(header[position].strip()) if name else f"(unnamed column {position + 1})")
        if schema.value not in index:
            listed = ", ".join(repr(cell.strip()) for cell in header)
            hint = ""
            if any(_looks_like_value(cell.strip()) for cell in header):
                hint = (
                    f"; line {line} is a hash, not a header: a CSV or TSV file starts with a header row "
                    "(hash, and optionally type, quality, note); for one hash a line use --format pytx"
                )
            raise ImportFileError(line, f"no {schema.value!r} column; columns are: {listed}{hint}")
        if unknown:
            self.warnings.append(
                f"line {line}: ignoring unknown columns {', '.join(unknown)} "
                f"(known: {', '.join(schema.known)})"
            )
        return index

    def _pytx_csv_row(self, line: int, record: list[str], index: dict[str, int]) -> ImportRow | RowError:
        def cell(name: str) -> str:
            at = index.get(name)
            return record[at].strip() if at is not None else ""

        category = cell("category")
        if category in _REFUSED_CATEGORIES:
            return RowError(line, f"category {category}: {_REFUSED_CATEGORIES[category]}; not imported")
        collab = cell("collab")
        tags = ",".join(cell("tags").split())
        note = " ".join(part for part in (repr(collab) if collab else "", category, tags) if part)
        return _row(
            line,
            cell("signal_str"),
            cell("signal_type") or None,
            None,
            note,
            self.default_type,
            derived_note=True,
        )

    # --- pytx text --------------------------------------------------------------------------------

    def _pytx(self, lines: Iterator[tuple[int, str]]) -> Iterator[ImportRow | RowError]:
        first = True
        for number, text in lines:
            yield from self._flush()
            if not _is_content(text):
                continue
            if first and _is_pytx_csv_header(_columns(text.strip(), ",")):
                yield from self._tabular(_chain(number, text, lines), ",", _CSV_SCHEMA)
                return
            first = False
            yield self._pytx_line(number, text.strip())

    def _pytx_line(self, line: int, text: str) -> ImportRow | RowError:
        parts = text.split(None, 1)
        rotation = None
        if parts[0] in _ROTATIONS and len(parts) > 1:
            rotation = parts[0]
            parts = parts[1].split(None, 1)
        first = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
        key = first.lower()
        if key in _TYPE_NAMES or key in _NOT_INDEXED:
            if key in _NOT_INDEXED:
                return RowError(line, _not_indexed(key))
            if not rest:
                return RowError(line, f"signal type {key!r} but no value after it")
            type_name: str | None = first
            value, *more = rest.split(None, 1)
            rest = more[0] if more else ""
        else:
            second = rest.split(None, 1)[0] if rest else ""
            if second and _HEX.fullmatch(second) and len(second) >= 16:
                return RowError(line, f"unknown signal type {_show(first)}; Trustdesk indexes {_INDEXED}")
            type_name, value = None, first
        if _is_match_output(value, rest):
            return RowError(
                line,
                "this is `threatexchange match` output (signal type, distance, collaboration, opinion): "
                "it names no hash; export the hashes with `threatexchange dataset -P -S`",
            )
        category = _category(rest)
        if category in _REFUSED_CATEGORIES:
            return RowError(line, f"category {category}: {_REFUSED_CATEGORIES[category]}; not imported")
        note = f"rotation {rotation} {rest}" if rotation else rest
        return _row(line, value, type_name, None, note, self.default_type, derived_note=True)


def _chain(number: int, text: str, rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield number, text
    yield from rest


def read_rows(
    path: Path,
    fmt: ImportFormat | None = None,
    *,
    default_type: HashType = HashType.PDQ,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[ImportRow | RowError]:
    """Every row and row error of ``path`` in line order, lazily (see the module's docstring).

    Raises ImportFileError (at once for an unknown format, on the first ``next`` for a bad header or a
    binary file, at the end for a file with no hashes at all).
    """
    return iter(RowReader(path, fmt, default_type=default_type, on_progress=on_progress))
